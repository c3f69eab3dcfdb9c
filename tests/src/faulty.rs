//! A storage that dies on cue: wraps any backend and panics at a chosen step, before or
//! after the step reaches the storage, as a consumer killed at that moment would. Tests use it
//! to stop an attempt at each step between its body's end and its settlement. It can also
//! fail every revocation read, with an error that may pass or one that cannot, and it records
//! what it hands out and how claims are settled.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use huey_core::StorageError;
use huey_core::async_trait;
use huey_core::storage::prelude::*;
use huey_core::storage::{
    DeadLetter, DeadLetterSelection, Delivery, Dequeue, Disposition, MinuteStats, RevocationTarget,
    Settled, Settlement, StorageResult, Upkeep,
};

/// A storage call at which [`Faulty`] can die.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Recording a chord member's outcome.
    ChordRecord,
    /// Settling a claim.
    Settle,
}

/// When, around the step, the consumer dies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Before the call reaches the storage.
    Before,
    /// After the storage applied it, before the caller hears back.
    After,
}

/// How [`Faulty::fail_revocation_reads`] fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// As an unreachable server would ([`StorageError::Backend`]).
    Transient,
    /// As data that does not decode would ([`StorageError::Invalid`]).
    Permanent,
}

/// Wraps a storage; [`die_at`](Self::die_at) arms one fault.
#[derive(Debug)]
pub struct Faulty {
    inner: Arc<dyn Storage>,
    fault: Mutex<Option<(Step, When)>>,
    claims: Mutex<Vec<Delivery>>,
    revocation_failure: Mutex<Option<Failure>>,
    settle_failures: Mutex<usize>,
    deliveries: Mutex<Vec<u32>>,
    dead_lettered: tokio::sync::watch::Sender<usize>,
}

impl Faulty {
    /// `inner`, with no fault armed.
    pub fn new(inner: impl Storage) -> Faulty {
        Faulty::wrap(Arc::new(inner))
    }

    /// A shared `inner`, with no fault armed.
    pub fn wrap(inner: Arc<dyn Storage>) -> Faulty {
        Faulty {
            inner,
            fault: Mutex::new(None),
            claims: Mutex::new(Vec::new()),
            revocation_failure: Mutex::new(None),
            settle_failures: Mutex::new(0),
            deliveries: Mutex::new(Vec::new()),
            dead_lettered: tokio::sync::watch::Sender::new(0),
        }
    }

    /// From now on every revocation read fails this way (`None`: no longer).
    pub fn fail_revocation_reads(&self, failure: Option<Failure>) {
        *self.revocation_failure.lock().unwrap() = failure;
    }

    /// The next `count` settles fail as an unreachable server would, before reaching the
    /// storage.
    pub fn fail_settles(&self, count: usize) {
        *self.settle_failures.lock().unwrap() = count;
    }

    /// The [`Delivery::deliveries`] of every claim handed out so far, in order.
    pub fn deliveries(&self) -> Vec<u32> {
        self.deliveries.lock().unwrap().clone()
    }

    /// Waits until `count` claims have been dead-lettered through this storage.
    pub async fn dead_lettered(&self, count: usize) {
        let mut seen = self.dead_lettered.subscribe();
        seen.wait_for(|n| *n >= count).await.expect("sender lives");
    }

    fn revocation_read(&self) -> StorageResult<()> {
        match *self.revocation_failure.lock().unwrap() {
            None => Ok(()),
            Some(Failure::Transient) => Err(StorageError::Backend(
                "connection reset (fault injection)".into(),
            )),
            Some(Failure::Permanent) => Err(StorageError::Invalid(
                "flag does not decode (fault injection)".into(),
            )),
        }
    }

    /// The next call of `step` panics, `when` says whether before or after it ran.
    pub fn die_at(&self, step: Step, when: When) {
        *self.fault.lock().unwrap() = Some((step, when));
    }

    /// What a live consumer does for a dead one: puts every claim handed out and not settled
    /// back on the queue. Returns how many went back.
    pub async fn reap(&self) -> usize {
        let claims = std::mem::take(&mut *self.claims.lock().unwrap());
        let mut returned = 0;
        for claim in claims {
            if self
                .inner
                .settle(Some(&claim), &Settlement::requeue())
                .await
                .unwrap()
                == Settled::Applied
            {
                returned += 1;
            }
        }
        returned
    }

    fn armed(&self, step: Step, when: When) -> bool {
        let mut fault = self.fault.lock().unwrap();
        if *fault == Some((step, when)) {
            *fault = None;
            return true;
        }
        false
    }

    fn die_if_armed(&self, step: Step, when: When) {
        if self.armed(step, when) {
            panic!("consumer killed {when:?} {step:?} (fault injection)");
        }
    }
}

#[async_trait]
impl QueueStorage for Faulty {
    fn supports_priority(&self) -> bool {
        self.inner.supports_priority()
    }

    fn shared_between_processes(&self) -> bool {
        self.inner.shared_between_processes()
    }

    async fn enqueue(&self, data: Vec<u8>, priority: i32) -> StorageResult<()> {
        self.inner.enqueue(data, priority).await
    }

    async fn enqueue_many(&self, items: Vec<(Vec<u8>, i32)>) -> StorageResult<()> {
        self.inner.enqueue_many(items).await
    }

    async fn queue_size(&self) -> StorageResult<usize> {
        self.inner.queue_size().await
    }

    async fn enqueued_items(&self, limit: Option<usize>) -> StorageResult<Vec<Vec<u8>>> {
        self.inner.enqueued_items(limit).await
    }

    async fn flush_queue(&self) -> StorageResult<()> {
        self.inner.flush_queue().await
    }

    fn maintenance_interval(&self) -> Option<Duration> {
        self.inner.maintenance_interval()
    }

    fn claim_lease(&self) -> Option<Duration> {
        self.inner.claim_lease()
    }

    async fn maintain(&self) -> StorageResult<Upkeep> {
        self.inner.maintain().await
    }

    async fn retire(&self) -> StorageResult<()> {
        self.inner.retire().await
    }

    async fn dequeue(&self, request: Dequeue) -> StorageResult<Vec<Delivery>> {
        let claimed = self.inner.dequeue(request).await?;
        self.claims.lock().unwrap().extend(claimed.iter().cloned());
        let counts = claimed.iter().map(|d| d.deliveries);
        self.deliveries.lock().unwrap().extend(counts);
        Ok(claimed)
    }

    async fn settle(
        &self,
        claim: Option<&Delivery>,
        settlement: &Settlement,
    ) -> StorageResult<Settled> {
        self.die_if_armed(Step::Settle, When::Before);
        {
            let mut failures = self.settle_failures.lock().unwrap();
            if *failures > 0 {
                *failures -= 1;
                return Err(StorageError::Backend(
                    "connection reset while settling (fault injection)".into(),
                ));
            }
        }
        let settled = self.inner.settle(claim, settlement).await?;
        if let Some(claim) = claim {
            self.claims.lock().unwrap().retain(|c| c != claim);
        }
        let dead = matches!(settlement.disposition, Disposition::DeadLetter { .. });
        if dead && claim.is_some() && settled == Settled::Applied {
            self.dead_lettered.send_modify(|n| *n += 1);
        }
        self.die_if_armed(Step::Settle, When::After);
        Ok(settled)
    }
}

#[async_trait]
impl ScheduleStorage for Faulty {
    async fn add_to_schedule(
        &self,
        data: Vec<u8>,
        at: DateTime<Utc>,
        priority: i32,
    ) -> StorageResult<()> {
        self.inner.add_to_schedule(data, at, priority).await
    }

    async fn read_schedule(&self, now: DateTime<Utc>) -> StorageResult<Vec<Vec<u8>>> {
        self.inner.read_schedule(now).await
    }

    async fn promote_due(&self, now: DateTime<Utc>) -> StorageResult<Vec<Vec<u8>>> {
        self.inner.promote_due(now).await
    }

    async fn schedule_size(&self) -> StorageResult<usize> {
        self.inner.schedule_size().await
    }

    async fn scheduled_items(&self, limit: Option<usize>) -> StorageResult<Vec<Vec<u8>>> {
        self.inner.scheduled_items(limit).await
    }

    async fn flush_schedule(&self) -> StorageResult<()> {
        self.inner.flush_schedule().await
    }
}

#[async_trait]
impl ResultStorage for Faulty {
    async fn put_data(&self, key: &str, value: Vec<u8>) -> StorageResult<()> {
        self.inner.put_data(key, value).await
    }

    async fn put_result(&self, key: &str, value: Vec<u8>) -> StorageResult<()> {
        self.inner.put_result(key, value).await
    }

    async fn peek_data(&self, key: &str) -> StorageResult<Option<Vec<u8>>> {
        self.inner.peek_data(key).await
    }

    async fn pop_data(&self, key: &str) -> StorageResult<Option<Vec<u8>>> {
        self.inner.pop_data(key).await
    }

    async fn peek_many(&self, keys: &[&str]) -> StorageResult<Vec<Option<Vec<u8>>>> {
        self.inner.peek_many(keys).await
    }

    async fn delete_data(&self, key: &str) -> StorageResult<bool> {
        self.inner.delete_data(key).await
    }

    async fn has_data_for_key(&self, key: &str) -> StorageResult<bool> {
        self.inner.has_data_for_key(key).await
    }

    async fn wait_result(&self, key: &str, timeout: Duration) -> StorageResult<bool> {
        self.inner.wait_result(key, timeout).await
    }

    async fn result_store_size(&self) -> StorageResult<usize> {
        self.inner.result_store_size().await
    }

    async fn result_items(&self) -> StorageResult<HashMap<String, Vec<u8>>> {
        self.inner.result_items().await
    }

    async fn flush_results(&self) -> StorageResult<()> {
        self.inner.flush_results().await
    }
}

#[async_trait]
impl CoordinationStorage for Faulty {
    async fn incr(&self, key: &str, amount: i64) -> StorageResult<i64> {
        self.inner.incr(key, amount).await
    }

    async fn delete_counter(&self, key: &str) -> StorageResult<bool> {
        self.inner.delete_counter(key).await
    }

    async fn flush_counters(&self) -> StorageResult<()> {
        self.inner.flush_counters().await
    }

    async fn put_if_empty(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> StorageResult<bool> {
        self.inner.put_if_empty(key, value, ttl).await
    }

    async fn delete_data_if(&self, key: &str, value: &[u8]) -> StorageResult<bool> {
        self.inner.delete_data_if(key, value).await
    }

    async fn semaphore_acquire(
        &self,
        key: &str,
        holder: &str,
        value: u32,
        ttl: Duration,
    ) -> StorageResult<bool> {
        self.inner.semaphore_acquire(key, holder, value, ttl).await
    }

    async fn semaphore_renew(&self, key: &str, holder: &str, ttl: Duration) -> StorageResult<bool> {
        self.inner.semaphore_renew(key, holder, ttl).await
    }

    async fn semaphore_release(&self, key: &str, holder: &str) -> StorageResult<bool> {
        self.inner.semaphore_release(key, holder).await
    }

    async fn semaphore_holders(&self, key: &str) -> StorageResult<Vec<String>> {
        self.inner.semaphore_holders(key).await
    }

    async fn chord_record(
        &self,
        chord: &str,
        index: usize,
        size: usize,
        outcome: Vec<u8>,
    ) -> StorageResult<Option<Vec<Vec<u8>>>> {
        self.die_if_armed(Step::ChordRecord, When::Before);
        let recorded = self.inner.chord_record(chord, index, size, outcome).await?;
        self.die_if_armed(Step::ChordRecord, When::After);
        Ok(recorded)
    }
}

#[async_trait]
impl DeadLetterStorage for Faulty {
    fn dead_letter_limit(&self) -> Option<usize> {
        self.inner.dead_letter_limit()
    }

    async fn dead_letters(&self, limit: Option<usize>) -> StorageResult<Vec<DeadLetter>> {
        self.inner.dead_letters(limit).await
    }

    async fn dead_letter_count(&self) -> StorageResult<usize> {
        self.inner.dead_letter_count().await
    }

    async fn requeue_dead_letters(
        &self,
        which: DeadLetterSelection<'_>,
    ) -> StorageResult<Vec<DeadLetter>> {
        self.inner.requeue_dead_letters(which).await
    }

    async fn delete_dead_letters(&self, which: DeadLetterSelection<'_>) -> StorageResult<usize> {
        self.inner.delete_dead_letters(which).await
    }
}

#[async_trait]
impl RevocationStorage for Faulty {
    async fn put_revocation(
        &self,
        target: RevocationTarget<'_>,
        flag: Vec<u8>,
    ) -> StorageResult<()> {
        self.inner.put_revocation(target, flag).await
    }

    async fn revocation(&self, target: RevocationTarget<'_>) -> StorageResult<Option<Vec<u8>>> {
        self.revocation_read()?;
        self.inner.revocation(target).await
    }

    async fn revocations(&self, id: &str, name: &str) -> StorageResult<[Option<Vec<u8>>; 2]> {
        self.revocation_read()?;
        self.inner.revocations(id, name).await
    }

    async fn delete_revocation(&self, target: RevocationTarget<'_>) -> StorageResult<bool> {
        self.inner.delete_revocation(target).await
    }
}

#[async_trait]
impl ControlStorage for Faulty {
    async fn put_presence(
        &self,
        id: &str,
        record: Vec<u8>,
        heartbeat: DateTime<Utc>,
    ) -> StorageResult<()> {
        self.inner.put_presence(id, record, heartbeat).await
    }

    async fn delete_presence(&self, id: &str) -> StorageResult<bool> {
        self.inner.delete_presence(id).await
    }

    async fn presence(&self, since: DateTime<Utc>) -> StorageResult<Vec<Vec<u8>>> {
        self.inner.presence(since).await
    }

    async fn set_paused(&self, paused: bool) -> StorageResult<()> {
        self.inner.set_paused(paused).await
    }

    async fn paused(&self) -> StorageResult<bool> {
        self.inner.paused().await
    }

    async fn record_stats(&self, rows: &[MinuteStats], keep: Duration) -> StorageResult<()> {
        self.inner.record_stats(rows, keep).await
    }

    async fn stats(&self, since: DateTime<Utc>) -> StorageResult<Vec<MinuteStats>> {
        self.inner.stats(since).await
    }
}
