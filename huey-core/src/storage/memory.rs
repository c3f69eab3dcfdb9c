//! `MemoryStorage`: the embedded default. Thread-safe, in-process, no server.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use super::{
    ControlStorage, CoordinationStorage, DEFAULT_DEAD_LETTER_LIMIT, DeadLetter,
    DeadLetterSelection, DeadLetterStorage, Delivery, Dequeue, Disposition, MinuteStats,
    QueueStorage, ResultStorage, RevocationStorage, RevocationTarget, ScheduleStorage, Settled,
    Settlement, StorageResult, minute_of, over_limit_reason, retention_horizon,
};

/// Storage that lives in the process: a priority queue, a schedule, a key-value store and
/// counters behind one mutex. Waiting (for a message or a result) is event-driven, never a
/// polling loop.
///
/// It is what `Huey::memory` and immediate mode use, and what lets the quickstart run with no
/// server. It is not shared between processes.
///
/// ```
/// use huey_core::storage::prelude::*;
/// use huey_core::storage::{Dequeue, MemoryStorage, Settlement};
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), huey_core::StorageError> {
/// let storage = MemoryStorage::new();
/// storage.enqueue(b"low".to_vec(), 0).await?;
/// storage.enqueue(b"high".to_vec(), 9).await?;
/// let claimed = storage.dequeue(Dequeue::new(1, Duration::ZERO)).await?;
/// assert_eq!(claimed[0].data, b"high");
/// storage.settle(Some(&claimed[0]), &Settlement::ack()).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct MemoryStorage {
    inner: Mutex<Inner>,
    queue_changed: Notify,
    data_changed: Notify,
    dead_letter_limit: Option<usize>,
}

impl Default for MemoryStorage {
    fn default() -> Self {
        MemoryStorage {
            inner: Mutex::default(),
            queue_changed: Notify::new(),
            data_changed: Notify::new(),
            dead_letter_limit: Some(DEFAULT_DEAD_LETTER_LIMIT),
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    seq: u64,
    queue: BinaryHeap<Queued>,
    /// The priority and earlier returns of each claim, by receipt. Not the message: the
    /// claim's [`Delivery`] has it, and a second copy of every message in flight would double
    /// what a big one costs.
    in_flight: HashMap<u64, (i32, u32)>,
    schedule: BTreeMap<(DateTime<Utc>, u64), (Vec<u8>, i32)>,
    data: HashMap<String, Stored>,
    counters: HashMap<String, i64>,
    dead: VecDeque<DeadLetter>,
    chords: HashMap<String, Chord>,
    /// Revocation flags by Huey's key (`r:<id>`, `rt:<name>`), apart from stored values so a
    /// `put` cannot forge one.
    revocations: HashMap<String, Vec<u8>>,
    /// Chords whose callback was enqueued, so a late re-run of a member cannot start them anew.
    fired: Fired,
    /// Semaphore slots: semaphore key -> holder -> when the slot expires.
    semaphores: HashMap<String, HashMap<String, Instant>>,
    /// Registered result waits: key -> when the interest lapses. A settlement stores its
    /// `if_awaited` results only for these keys.
    waiters: HashMap<String, Instant>,
    /// Presence records by consumer id, each with its heartbeat.
    presence: BTreeMap<String, (Vec<u8>, DateTime<Utc>)>,
    paused: bool,
    stats: BTreeMap<(DateTime<Utc>, String, String), MinuteStats>,
}

/// How long an `if_awaited` result stays once a waiter made it stored (Redis keeps its
/// wake-up token as long).
const AWAITED_TTL: Duration = Duration::from_secs(60);
/// How much longer than its wait a registered interest lasts, so a waiter that looks again
/// right after its wait ended still finds the result.
const INTEREST_GRACE: Duration = Duration::from_secs(1);

/// The most recently fired chords, oldest forgotten first: a re-run of a member comes soon
/// after its chord fired (a crash, a requeue), and an unbounded set would grow for as long as
/// the process runs.
#[derive(Debug, Default)]
struct Fired {
    ids: std::collections::HashSet<String>,
    order: std::collections::VecDeque<String>,
}

impl Fired {
    const REMEMBERED: usize = 100_000;

    fn insert(&mut self, chord: String) {
        if self.ids.insert(chord.clone()) {
            self.order.push_back(chord);
        }
        while self.order.len() > Self::REMEMBERED {
            if let Some(old) = self.order.pop_front() {
                self.ids.remove(&old);
            }
        }
    }

    fn contains(&self, chord: &str) -> bool {
        self.ids.contains(chord)
    }

    fn clear(&mut self) {
        self.ids.clear();
        self.order.clear();
    }
}

/// A chord's member outcomes so far, and which member completed it.
#[derive(Debug, Default)]
struct Chord {
    outcomes: BTreeMap<usize, Vec<u8>>,
    completed_by: Option<usize>,
}

#[derive(Debug)]
struct Stored {
    value: Vec<u8>,
    expires: Option<Instant>,
}

impl Stored {
    fn live(&self) -> bool {
        self.expires.is_none_or(|e| Instant::now() < e)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Queued {
    priority: i32,
    seq: u64,
    data: Vec<u8>,
    /// Times it was claimed and given back unsettled.
    returns: u32,
}

impl Ord for Queued {
    // Max-heap: higher priority first, then lower sequence (older) first.
    fn cmp(&self, other: &Self) -> Ordering {
        self.priority
            .cmp(&other.priority)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Inner {
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn push(&mut self, data: Vec<u8>, priority: i32) {
        let seq = self.next_seq();
        self.queue.push(Queued {
            priority,
            seq,
            data,
            returns: 0,
        });
    }

    /// The live slots of semaphore `key`, expired ones dropped first (and the semaphore with
    /// them once empty, so an abandoned name leaves nothing behind).
    fn live_slots(&mut self, key: &str) -> Option<&mut HashMap<String, Instant>> {
        let now = Instant::now();
        let slots = self.semaphores.get_mut(key)?;
        slots.retain(|_, expires| *expires > now);
        if slots.is_empty() {
            self.semaphores.remove(key);
            return None;
        }
        self.semaphores.get_mut(key)
    }

    /// Adds a dead letter, dropping the oldest beyond `limit`.
    fn add_dead(&mut self, data: Vec<u8>, priority: i32, reason: String, limit: Option<usize>) {
        self.dead.push_back(DeadLetter {
            id: uuid::Uuid::new_v4().to_string(),
            data,
            priority,
            reason,
            at: Utc::now(),
        });
        if let Some(limit) = limit {
            let excess = self.dead.len().saturating_sub(limit);
            self.dead.drain(..excess);
        }
    }

    /// Registers a wait for `key` until `until` (keeping a later registration).
    fn register_wait(&mut self, key: &str, until: Instant) {
        if self.waiters.len() >= 1024 {
            // Interests of waits that gave up, dropped now and then so the map stays small.
            let now = Instant::now();
            self.waiters.retain(|_, lapses| *lapses > now);
        }
        let lapses = self.waiters.entry(key.to_owned()).or_insert(until);
        *lapses = (*lapses).max(until);
    }

    fn live_data(&mut self, key: &str) -> Option<&Stored> {
        if self.data.get(key).is_some_and(|s| !s.live()) {
            self.data.remove(key);
        }
        self.data.get(key)
    }
}

impl MemoryStorage {
    /// An empty storage, keeping at most [`DEFAULT_DEAD_LETTER_LIMIT`] dead letters.
    pub fn new() -> Self {
        MemoryStorage::default()
    }

    /// Keeps at most `limit` dead letters (default [`DEFAULT_DEAD_LETTER_LIMIT`]): adding one
    /// beyond it drops the oldest. `None` keeps them all.
    ///
    /// ```
    /// use huey_core::storage::prelude::*;
    /// use huey_core::storage::{Dequeue, MemoryStorage};
    /// use std::time::Duration;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), huey_core::StorageError> {
    /// let storage = MemoryStorage::new().with_dead_letter_limit(Some(2));
    /// for junk in ["a", "b", "c"] {
    ///     storage.enqueue(junk.into(), 0).await?;
    ///     let claimed = storage.dequeue(Dequeue::new(1, Duration::ZERO)).await?;
    ///     storage.dead_letter(&claimed[0], "malformed").await?;
    /// }
    /// let kept: Vec<_> = storage.dead_letters(None).await?.into_iter().map(|d| d.data).collect();
    /// assert_eq!(kept, [b"b", b"c"]);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn with_dead_letter_limit(mut self, limit: Option<usize>) -> Self {
        self.dead_letter_limit = limit;
        self
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that matters
        // more than losing the whole queue would, so recover the guard.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Number of messages claimed and not yet acknowledged.
    pub fn in_flight_count(&self) -> usize {
        self.lock().in_flight.len()
    }
}

#[async_trait]
impl QueueStorage for MemoryStorage {
    fn shared_between_processes(&self) -> bool {
        false
    }

    async fn enqueue(&self, data: Vec<u8>, priority: i32) -> StorageResult<()> {
        self.lock().push(data, priority);
        self.queue_changed.notify_waiters();
        Ok(())
    }

    async fn enqueue_many(&self, items: Vec<(Vec<u8>, i32)>) -> StorageResult<()> {
        {
            let mut inner = self.lock();
            for (data, priority) in items {
                inner.push(data, priority);
            }
        }
        self.queue_changed.notify_waiters();
        Ok(())
    }

    async fn dequeue(&self, request: Dequeue) -> StorageResult<Vec<Delivery>> {
        let deadline = tokio::time::Instant::now() + request.wait;
        loop {
            // Register interest before looking, so an enqueue between the look and the wait
            // still wakes us.
            let notified = self.queue_changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut inner = self.lock();
                let mut out = Vec::new();
                while out.len() < request.max.max(1) {
                    let Some(item) = inner.queue.pop() else { break };
                    if let Some(limit) = request.max_message_size.filter(|l| item.data.len() > *l) {
                        let reason = over_limit_reason(item.data.len(), limit);
                        inner.add_dead(item.data, item.priority, reason, self.dead_letter_limit);
                        continue;
                    }
                    inner
                        .in_flight
                        .insert(item.seq, (item.priority, item.returns));
                    out.push(Delivery {
                        data: item.data,
                        priority: item.priority,
                        receipt: item.seq,
                        revocations: true,
                        deliveries: item.returns + 1,
                    });
                }
                if !out.is_empty() {
                    return Ok(out);
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Ok(Vec::new());
            }
        }
    }

    async fn settle(
        &self,
        claim: Option<&Delivery>,
        settlement: &Settlement,
    ) -> StorageResult<Settled> {
        let Settlement {
            results,
            if_awaited,
            clear_revocation,
            messages,
            chords_fired,
            disposition,
        } = settlement;
        let (queued, stored) = {
            // One critical section: the claim and its whole outcome change together.
            let mut inner = self.lock();
            let claimed = match claim {
                Some(delivery) => match inner.in_flight.remove(&delivery.receipt) {
                    Some((priority, returns)) => Some((delivery, priority, returns)),
                    None => return Ok(Settled::NotHeld),
                },
                None => None,
            };
            let mut stored = !results.is_empty();
            for (key, value) in results {
                inner.data.insert(
                    key.clone(),
                    Stored {
                        value: value.clone(),
                        expires: None,
                    },
                );
            }
            if !inner.waiters.is_empty() {
                let now = Instant::now();
                for (key, value) in if_awaited {
                    if inner.waiters.remove(key).is_some_and(|lapses| lapses > now) {
                        let expires = Some(now + AWAITED_TTL);
                        let value = value.clone();
                        inner.data.insert(key.clone(), Stored { value, expires });
                        stored = true;
                    }
                }
            }
            if let Some(id) = clear_revocation {
                inner
                    .revocations
                    .remove(&flag_key(RevocationTarget::Instance(id)));
            }
            let mut queued = false;
            for message in messages {
                match message.eta {
                    None => {
                        inner.push(message.data.clone(), message.priority);
                        queued = true;
                    }
                    Some(at) => {
                        let seq = inner.next_seq();
                        let entry = (message.data.clone(), message.priority);
                        inner.schedule.insert((at, seq), entry);
                    }
                }
            }
            for chord in chords_fired {
                inner.chords.remove(chord);
                inner.fired.insert(chord.clone());
            }
            if let Some((delivery, priority, returns)) = claimed {
                match disposition {
                    Disposition::Ack => {}
                    Disposition::Requeue | Disposition::Release => {
                        // A requeue counts as a delivery; a release (unstarted) does not.
                        let counted = u32::from(*disposition == Disposition::Requeue);
                        // Under its first sequence number: it keeps its place in the queue.
                        inner.queue.push(Queued {
                            priority,
                            seq: delivery.receipt,
                            data: delivery.data.clone(),
                            returns: returns + counted,
                        });
                        queued = true;
                    }
                    Disposition::DeadLetter { reason } => {
                        let (data, reason) = (delivery.data.clone(), reason.clone());
                        inner.add_dead(data, priority, reason, self.dead_letter_limit);
                    }
                }
            }
            (queued, stored)
        };
        if queued {
            self.queue_changed.notify_waiters();
        }
        if stored {
            self.data_changed.notify_waiters();
        }
        Ok(Settled::Applied)
    }

    async fn queue_size(&self) -> StorageResult<usize> {
        Ok(self.lock().queue.len())
    }

    async fn enqueued_items(&self, limit: Option<usize>) -> StorageResult<Vec<Vec<u8>>> {
        let inner = self.lock();
        let mut items: Vec<&Queued> = inner.queue.iter().collect();
        items.sort_by(|a, b| b.cmp(a));
        let n = limit.unwrap_or(usize::MAX);
        Ok(items.into_iter().take(n).map(|q| q.data.clone()).collect())
    }

    async fn flush_queue(&self) -> StorageResult<()> {
        self.lock().queue.clear();
        Ok(())
    }
}

#[async_trait]
impl ScheduleStorage for MemoryStorage {
    async fn add_to_schedule(
        &self,
        data: Vec<u8>,
        at: DateTime<Utc>,
        priority: i32,
    ) -> StorageResult<()> {
        let mut inner = self.lock();
        let seq = inner.next_seq();
        inner.schedule.insert((at, seq), (data, priority));
        Ok(())
    }

    async fn read_schedule(&self, now: DateTime<Utc>) -> StorageResult<Vec<Vec<u8>>> {
        let mut inner = self.lock();
        Ok(take_due(&mut inner, now)
            .into_iter()
            .map(|(d, _)| d)
            .collect())
    }

    async fn promote_due(&self, now: DateTime<Utc>) -> StorageResult<Vec<Vec<u8>>> {
        let moved: Vec<Vec<u8>> = {
            let mut inner = self.lock();
            let due = take_due(&mut inner, now);
            due.into_iter()
                .map(|(data, priority)| {
                    inner.push(data.clone(), priority);
                    data
                })
                .collect()
        };
        if !moved.is_empty() {
            self.queue_changed.notify_waiters();
        }
        Ok(moved)
    }

    async fn schedule_size(&self) -> StorageResult<usize> {
        Ok(self.lock().schedule.len())
    }

    async fn scheduled_items(&self, limit: Option<usize>) -> StorageResult<Vec<Vec<u8>>> {
        let inner = self.lock();
        let n = limit.unwrap_or(usize::MAX);
        Ok(inner
            .schedule
            .values()
            .take(n)
            .map(|(d, _)| d.clone())
            .collect())
    }

    async fn flush_schedule(&self) -> StorageResult<()> {
        self.lock().schedule.clear();
        Ok(())
    }
}

#[async_trait]
impl ResultStorage for MemoryStorage {
    async fn put_data(&self, key: &str, value: Vec<u8>) -> StorageResult<()> {
        self.lock().data.insert(
            key.to_owned(),
            Stored {
                value,
                expires: None,
            },
        );
        self.data_changed.notify_waiters();
        Ok(())
    }

    async fn peek_data(&self, key: &str) -> StorageResult<Option<Vec<u8>>> {
        Ok(self.lock().live_data(key).map(|s| s.value.clone()))
    }

    async fn pop_data(&self, key: &str) -> StorageResult<Option<Vec<u8>>> {
        let mut inner = self.lock();
        Ok(inner.data.remove(key).filter(Stored::live).map(|s| s.value))
    }

    async fn peek_many(&self, keys: &[&str]) -> StorageResult<Vec<Option<Vec<u8>>>> {
        let mut inner = self.lock();
        Ok(keys
            .iter()
            .map(|k| inner.live_data(k).map(|s| s.value.clone()))
            .collect())
    }

    async fn delete_data(&self, key: &str) -> StorageResult<bool> {
        Ok(self.lock().data.remove(key).is_some_and(|s| s.live()))
    }

    async fn has_data_for_key(&self, key: &str) -> StorageResult<bool> {
        Ok(self.lock().live_data(key).is_some())
    }

    async fn wait_result(&self, key: &str, timeout: Duration) -> StorageResult<bool> {
        let deadline = tokio::time::Instant::now() + timeout;
        self.lock()
            .register_wait(key, Instant::now() + timeout + INTEREST_GRACE);
        loop {
            let notified = self.data_changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.lock().live_data(key).is_some() {
                return Ok(true);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Ok(self.lock().live_data(key).is_some());
            }
        }
    }

    async fn watch_results(&self, keys: &[&str], ttl: Duration) -> StorageResult<()> {
        let until = Instant::now() + ttl + INTEREST_GRACE;
        let mut inner = self.lock();
        for key in keys {
            inner.register_wait(key, until);
        }
        Ok(())
    }

    async fn result_store_size(&self) -> StorageResult<usize> {
        let inner = self.lock();
        // Revocation flags count as stored values, as in Huey's result store.
        Ok(inner.data.values().filter(|s| s.live()).count() + inner.revocations.len())
    }

    async fn result_items(&self) -> StorageResult<HashMap<String, Vec<u8>>> {
        let inner = self.lock();
        let values = inner.data.iter().filter(|(_, s)| s.live());
        Ok(values
            .map(|(k, s)| (k.clone(), s.value.clone()))
            .chain(
                inner
                    .revocations
                    .iter()
                    .map(|(k, f)| (k.clone(), f.clone())),
            )
            .collect())
    }

    async fn flush_results(&self) -> StorageResult<()> {
        let mut inner = self.lock();
        inner.data.clear();
        inner.revocations.clear();
        inner.semaphores.clear();
        Ok(())
    }
}

#[async_trait]
impl CoordinationStorage for MemoryStorage {
    async fn incr(&self, key: &str, amount: i64) -> StorageResult<i64> {
        let mut inner = self.lock();
        let counter = inner.counters.entry(key.to_owned()).or_insert(0);
        *counter += amount;
        Ok(*counter)
    }

    async fn delete_counter(&self, key: &str) -> StorageResult<bool> {
        Ok(self.lock().counters.remove(key).is_some())
    }

    async fn flush_counters(&self) -> StorageResult<()> {
        let mut inner = self.lock();
        inner.counters.clear();
        inner.chords.clear();
        inner.fired.clear();
        Ok(())
    }

    async fn put_if_empty(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> StorageResult<bool> {
        let stored = {
            let mut inner = self.lock();
            if inner.live_data(key).is_some() {
                false
            } else {
                let expires = ttl.map(|t| Instant::now() + t);
                inner.data.insert(key.to_owned(), Stored { value, expires });
                true
            }
        };
        if stored {
            self.data_changed.notify_waiters();
        }
        Ok(stored)
    }

    async fn delete_data_if(&self, key: &str, value: &[u8]) -> StorageResult<bool> {
        let mut inner = self.lock();
        if inner.live_data(key).is_none_or(|s| s.value != value) {
            return Ok(false);
        }
        Ok(inner.data.remove(key).is_some())
    }

    async fn semaphore_acquire(
        &self,
        key: &str,
        holder: &str,
        value: u32,
        ttl: Duration,
    ) -> StorageResult<bool> {
        let limit = usize::try_from(value).unwrap_or(usize::MAX);
        let mut inner = self.lock();
        let admitted = match inner.live_slots(key) {
            Some(slots) => slots.contains_key(holder) || slots.len() < limit,
            None => limit > 0,
        };
        if admitted {
            inner
                .semaphores
                .entry(key.to_owned())
                .or_default()
                .insert(holder.to_owned(), Instant::now() + ttl);
            return Ok(true);
        }
        Ok(false)
    }

    async fn semaphore_renew(&self, key: &str, holder: &str, ttl: Duration) -> StorageResult<bool> {
        let mut inner = self.lock();
        match inner
            .live_slots(key)
            .and_then(|slots| slots.get_mut(holder))
        {
            Some(expires) => {
                *expires = Instant::now() + ttl;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn semaphore_release(&self, key: &str, holder: &str) -> StorageResult<bool> {
        let mut inner = self.lock();
        let released = inner
            .live_slots(key)
            .is_some_and(|slots| slots.remove(holder).is_some());
        // Drops the semaphore if that was its last slot.
        inner.live_slots(key);
        Ok(released)
    }

    async fn semaphore_holders(&self, key: &str) -> StorageResult<Vec<String>> {
        let mut inner = self.lock();
        let mut slots: Vec<(Instant, String)> = inner
            .live_slots(key)
            .map(|slots| slots.iter().map(|(h, e)| (*e, h.clone())).collect())
            .unwrap_or_default();
        slots.sort();
        Ok(slots.into_iter().map(|(_, holder)| holder).collect())
    }

    async fn chord_record(
        &self,
        chord: &str,
        index: usize,
        size: usize,
        outcome: Vec<u8>,
    ) -> StorageResult<Option<Vec<Vec<u8>>>> {
        let mut inner = self.lock();
        if inner.fired.contains(chord) {
            return Ok(None);
        }
        let state = inner.chords.entry(chord.to_owned()).or_default();
        if state.completed_by.is_some_and(|by| by != index) {
            return Ok(None);
        }
        state.outcomes.insert(index, outcome);
        if state.outcomes.len() < size {
            return Ok(None);
        }
        state.completed_by = Some(index);
        Ok(Some(state.outcomes.values().cloned().collect()))
    }
}

#[async_trait]
impl DeadLetterStorage for MemoryStorage {
    fn dead_letter_limit(&self) -> Option<usize> {
        self.dead_letter_limit
    }

    async fn dead_letters(&self, limit: Option<usize>) -> StorageResult<Vec<DeadLetter>> {
        let inner = self.lock();
        let n = limit.unwrap_or(usize::MAX);
        Ok(inner.dead.iter().take(n).cloned().collect())
    }

    async fn dead_letter_count(&self) -> StorageResult<usize> {
        Ok(self.lock().dead.len())
    }

    async fn requeue_dead_letters(
        &self,
        which: DeadLetterSelection<'_>,
    ) -> StorageResult<Vec<DeadLetter>> {
        let moved = {
            // One lock: every selected entry leaves the list and joins the queue together.
            let mut inner = self.lock();
            let (moved, kept) = std::mem::take(&mut inner.dead)
                .into_iter()
                .partition::<VecDeque<_>, _>(|d| which.includes(&d.id));
            inner.dead = kept;
            for letter in &moved {
                inner.push(letter.data.clone(), letter.priority);
            }
            moved
        };
        if !moved.is_empty() {
            self.queue_changed.notify_waiters();
        }
        Ok(moved.into())
    }

    async fn delete_dead_letters(&self, which: DeadLetterSelection<'_>) -> StorageResult<usize> {
        let mut inner = self.lock();
        let before = inner.dead.len();
        inner.dead.retain(|d| !which.includes(&d.id));
        Ok(before - inner.dead.len())
    }
}

#[async_trait]
impl RevocationStorage for MemoryStorage {
    async fn put_revocation(
        &self,
        target: RevocationTarget<'_>,
        flag: Vec<u8>,
    ) -> StorageResult<()> {
        self.lock().revocations.insert(flag_key(target), flag);
        Ok(())
    }

    async fn revocation(&self, target: RevocationTarget<'_>) -> StorageResult<Option<Vec<u8>>> {
        Ok(self.lock().revocations.get(&flag_key(target)).cloned())
    }

    async fn revocations(&self, id: &str, name: &str) -> StorageResult<[Option<Vec<u8>>; 2]> {
        let inner = self.lock();
        let flag = |target| inner.revocations.get(&flag_key(target)).cloned();
        Ok([
            flag(RevocationTarget::Instance(id)),
            flag(RevocationTarget::Type(name)),
        ])
    }

    async fn delete_revocation(&self, target: RevocationTarget<'_>) -> StorageResult<bool> {
        Ok(self.lock().revocations.remove(&flag_key(target)).is_some())
    }
}

#[async_trait]
impl ControlStorage for MemoryStorage {
    async fn put_presence(
        &self,
        id: &str,
        record: Vec<u8>,
        heartbeat: DateTime<Utc>,
    ) -> StorageResult<()> {
        self.lock()
            .presence
            .insert(id.to_owned(), (record, heartbeat));
        Ok(())
    }

    async fn delete_presence(&self, id: &str) -> StorageResult<bool> {
        Ok(self.lock().presence.remove(id).is_some())
    }

    async fn presence(&self, since: DateTime<Utc>) -> StorageResult<Vec<Vec<u8>>> {
        let mut inner = self.lock();
        inner.presence.retain(|_, (_, beat)| *beat >= since);
        Ok(inner.presence.values().map(|(r, _)| r.clone()).collect())
    }

    async fn set_paused(&self, paused: bool) -> StorageResult<()> {
        self.lock().paused = paused;
        Ok(())
    }

    async fn paused(&self) -> StorageResult<bool> {
        Ok(self.lock().paused)
    }

    async fn record_stats(&self, rows: &[MinuteStats], keep: Duration) -> StorageResult<()> {
        let mut inner = self.lock();
        for row in rows {
            let key = (row.minute, row.task.clone(), row.outcome.clone());
            match inner.stats.get_mut(&key) {
                Some(stored) => stored.add(row),
                None => {
                    inner.stats.insert(key, row.clone());
                }
            }
        }
        let horizon = retention_horizon(Utc::now(), keep);
        inner.stats.retain(|(minute, ..), _| *minute >= horizon);
        Ok(())
    }

    async fn stats(&self, since: DateTime<Utc>) -> StorageResult<Vec<MinuteStats>> {
        let since = (minute_of(since), String::new(), String::new());
        Ok(self
            .lock()
            .stats
            .range(since..)
            .map(|(_, row)| row.clone())
            .collect())
    }
}

/// Huey's keys for revocation flags: `r:<id>` and `rt:<name>`.
fn flag_key(target: RevocationTarget<'_>) -> String {
    match target {
        RevocationTarget::Instance(id) => format!("r:{id}"),
        RevocationTarget::Type(name) => format!("rt:{name}"),
        // A target this build does not know applies to nothing it stores.
        #[allow(unreachable_patterns)]
        _ => String::new(),
    }
}

fn take_due(inner: &mut Inner, now: DateTime<Utc>) -> Vec<(Vec<u8>, i32)> {
    let later = inner.schedule.split_off(&(now, u64::MAX));
    let due = std::mem::replace(&mut inner.schedule, later);
    due.into_values().collect()
}
