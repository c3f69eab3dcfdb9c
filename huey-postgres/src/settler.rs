//! Group commit for finished tasks: workers hand their settlements to one background task,
//! which applies everything that queued up meanwhile in a single SQL statement (its own
//! transaction). Under load one round trip settles many tasks; an idle queue pays no extra
//! wait, since a lone settlement is written at once.
//!
//! Each settlement in a batch applies only while its claim is still held (the row's claim
//! token and owner match): a settlement whose claim is gone writes nothing and answers
//! "not held", whatever the others in its batch do. If a batch fails, its settlements are
//! tried one by one, so one settlement that cannot be written does not fail the others.

use huey_core::storage::{Disposition, Settlement};
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use crate::errors::Shared;
use crate::schema::{Tables, outcome_commit};

/// Settlements applied per statement at most.
const MAX_BATCH: usize = 512;

/// What the settle statement needs besides the settlements.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub namespace: String,
    /// Expiry of task results, in ms (0: none).
    pub result_ttl_ms: i64,
    /// How long a `()` result someone waited for is kept, in ms.
    pub awaited_ttl_ms: i64,
    /// Whether settlements wait for their commit's flush.
    pub synchronous: bool,
}

/// One settlement and where to send whether it applied.
pub(crate) struct Job {
    /// The claim token (the delivery's receipt), 0 for a settlement without a claim.
    pub claim: i64,
    pub owner: String,
    pub settlement: Settlement,
    pub done: oneshot::Sender<Result<Outcome, Shared>>,
}

/// What a settlement did.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outcome {
    /// Whether it applied (its claim was still held).
    pub applied: bool,
    /// Whether its batch added dead letters (the caller trims the list).
    pub dead: bool,
}

/// Starts the settle task on the current runtime; it ends when every sender is dropped.
pub(crate) fn spawn(pool: PgPool, tables: &Tables, config: Config) -> mpsc::UnboundedSender<Job> {
    let sql = Statements {
        full: statement(tables, config.synchronous),
        plain: plain_statement(tables, config.synchronous),
    };
    let offers_sql = offers_statement(tables);
    let (sender, mut jobs) = mpsc::unbounded_channel::<Job>();
    tokio::spawn(async move {
        let mut batch = Vec::new();
        while let Some(job) = jobs.recv().await {
            batch.push(job);
            while batch.len() < MAX_BATCH {
                match jobs.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            let jobs_now = std::mem::take(&mut batch);
            match run(&pool, &sql, &config, &jobs_now).await {
                Ok((outcomes, stored)) => {
                    offer_again(&pool, &offers_sql, &config, &jobs_now, &outcomes, &stored).await;
                    reply(jobs_now, outcomes);
                }
                Err(error) if jobs_now.len() == 1 => {
                    for job in jobs_now {
                        let _ = job.done.send(Err(error.clone()));
                    }
                }
                Err(_) => {
                    // One bad settlement must not fail its batch-mates: one by one.
                    for job in jobs_now {
                        let one = std::slice::from_ref(&job);
                        let outcome = run(&pool, &sql, &config, one).await;
                        if let Ok((outcome, stored)) = &outcome {
                            offer_again(&pool, &offers_sql, &config, one, outcome, stored).await;
                        }
                        let _ = job.done.send(outcome.map(|(o, _)| o[0]));
                    }
                }
            }
        }
    });
    sender
}

/// Stores again, for waits registered meanwhile, the `()` results offered by the applied
/// settlements. The settle statement sees the registrations committed before it started; a
/// wait registered while it ran, whose own look came before the settle committed, would
/// otherwise miss its value. This statement starts after the commit, so it sees every such
/// registration.
async fn offer_again(
    pool: &PgPool,
    sql: &str,
    config: &Config,
    jobs: &[Job],
    outcomes: &[Outcome],
    stored: &[String],
) {
    // Only offers the settle statement did not store: one it stored may have been read and
    // removed by its waiter already, and must not come back.
    let (keys, values): (Vec<&str>, Vec<&[u8]>) = jobs
        .iter()
        .zip(outcomes)
        .filter(|(_, outcome)| outcome.applied)
        .flat_map(|(job, _)| job.settlement.if_awaited.iter())
        .filter(|(key, _)| !stored.contains(key))
        .map(|(key, value)| (key.as_str(), value.as_slice()))
        .unzip();
    if keys.is_empty() {
        return;
    }
    let stored = sqlx::query(sql)
        .bind(&config.namespace)
        .bind(&keys)
        .bind(&values)
        .bind(config.awaited_ttl_ms)
        .execute(pool)
        .await;
    if let Err(error) = stored {
        tracing::warn!(%error, "could not offer awaited results again; a wait registered during their settlement may time out");
    }
}

/// The statement of [`offer_again`].
fn offers_statement(t: &Tables) -> String {
    let Tables {
        kv,
        waiting,
        channel,
        ..
    } = t;
    format!(
        "WITH stored AS (
            INSERT INTO {kv} (namespace, key, value, expires_at)
            SELECT DISTINCT ON (r.key) $1, r.key, r.value, now() + $4 * interval '1 millisecond'
            FROM unnest($2::text[], $3::bytea[]) WITH ORDINALITY AS r(key, value, n)
            JOIN {waiting} w ON w.namespace = $1 AND w.key = r.key AND w.until > now()
            ORDER BY r.key, r.n DESC
            ON CONFLICT (namespace, key) DO UPDATE
                SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
            RETURNING 1
        )
        SELECT pg_notify('{channel}', 'r:' || $1) WHERE EXISTS (SELECT 1 FROM stored)"
    )
}

fn reply(jobs: Vec<Job>, outcomes: Vec<Outcome>) {
    for (job, outcome) in jobs.into_iter().zip(outcomes) {
        let _ = job.done.send(Ok(outcome));
    }
}

/// The batch, as parallel arrays (one per column) for `unnest`.
#[derive(Default)]
struct Arrays {
    job: Vec<i32>,
    claim: Vec<i64>,
    owner: Vec<String>,
    disposition: Vec<String>,
    reason: Vec<String>,
    result_job: Vec<i32>,
    result_key: Vec<String>,
    result_value: Vec<Vec<u8>>,
    awaited_job: Vec<i32>,
    awaited_key: Vec<String>,
    awaited_value: Vec<Vec<u8>>,
    revoke_job: Vec<i32>,
    revoke_target: Vec<String>,
    queue_job: Vec<i32>,
    queue_data: Vec<Vec<u8>>,
    queue_priority: Vec<i32>,
    schedule_job: Vec<i32>,
    schedule_data: Vec<Vec<u8>>,
    schedule_priority: Vec<i32>,
    schedule_at: Vec<chrono::DateTime<chrono::Utc>>,
    chord_job: Vec<i32>,
    chord_name: Vec<String>,
}

impl Arrays {
    fn of(jobs: &[Job]) -> Arrays {
        let mut a = Arrays::default();
        for (n, job) in jobs.iter().enumerate() {
            let n = i32::try_from(n).unwrap_or(i32::MAX);
            let s = &job.settlement;
            a.job.push(n);
            a.claim.push(job.claim);
            a.owner.push(job.owner.clone());
            let (code, reason) = match &s.disposition {
                Disposition::Requeue => ("r", ""),
                Disposition::Release => ("u", ""),
                Disposition::DeadLetter { reason } => ("d", reason.as_str()),
                // Ack, and whatever a later version adds: the claim is done.
                _ => ("a", ""),
            };
            a.disposition.push(code.to_owned());
            a.reason.push(reason.to_owned());
            for (key, value) in &s.results {
                a.result_job.push(n);
                a.result_key.push(key.clone());
                a.result_value.push(value.clone());
            }
            for (key, value) in &s.if_awaited {
                a.awaited_job.push(n);
                a.awaited_key.push(key.clone());
                a.awaited_value.push(value.clone());
            }
            if let Some(id) = &s.clear_revocation {
                a.revoke_job.push(n);
                a.revoke_target.push(format!("i:{id}"));
            }
            for message in &s.messages {
                match message.eta {
                    None => {
                        a.queue_job.push(n);
                        a.queue_data.push(message.data.clone());
                        a.queue_priority.push(message.priority);
                    }
                    Some(at) => {
                        a.schedule_job.push(n);
                        a.schedule_data.push(message.data.clone());
                        a.schedule_priority.push(message.priority);
                        a.schedule_at.push(at);
                    }
                }
            }
            for chord in &s.chords_fired {
                a.chord_job.push(n);
                a.chord_name.push(chord.clone());
            }
        }
        a
    }
}

/// The settle statements: one for any batch, and a lean one for the common batch.
struct Statements {
    full: String,
    plain: String,
}

/// Whether a settlement is plain: it acknowledges its claim, stores results and clears a
/// revocation of its task (as every settlement of a task that ran does), and nothing else. A batch of plain settlements runs [`plain_statement`], which sets up two tables
/// instead of ten: the full statement's setup was a tenth of the server's time per task.
fn is_plain(job: &Job) -> bool {
    let s = &job.settlement;
    job.claim != 0
        && matches!(s.disposition, Disposition::Ack)
        && s.if_awaited.is_empty()
        && s.messages.is_empty()
        && s.chords_fired.is_empty()
}

/// Applies `jobs` in one statement; returns each one's outcome, in order, and the keys of the
/// awaited results it stored.
async fn run(
    pool: &PgPool,
    sql: &Statements,
    config: &Config,
    jobs: &[Job],
) -> Result<(Vec<Outcome>, Vec<String>), Shared> {
    let a = Arrays::of(jobs);
    let rows: Vec<(i32, i64, Option<Vec<String>>)> = if jobs.iter().all(is_plain) {
        sqlx::query_as(&sql.plain)
            .bind(&config.namespace)
            .bind(&a.job)
            .bind(&a.claim)
            .bind(&a.owner)
            .bind(&a.result_job)
            .bind(&a.result_key)
            .bind(&a.result_value)
            .bind(config.result_ttl_ms)
            .bind(&a.revoke_job)
            .bind(&a.revoke_target)
            .fetch_all(pool)
            .await
    } else {
        sqlx::query_as(&sql.full)
            .bind(&config.namespace)
            .bind(&a.job)
            .bind(&a.claim)
            .bind(&a.owner)
            .bind(&a.disposition)
            .bind(&a.reason)
            .bind(&a.result_job)
            .bind(&a.result_key)
            .bind(&a.result_value)
            .bind(&a.awaited_job)
            .bind(&a.awaited_key)
            .bind(&a.awaited_value)
            .bind(&a.revoke_job)
            .bind(&a.revoke_target)
            .bind(&a.queue_job)
            .bind(&a.queue_data)
            .bind(&a.queue_priority)
            .bind(&a.schedule_job)
            .bind(&a.schedule_data)
            .bind(&a.schedule_priority)
            .bind(&a.schedule_at)
            .bind(&a.chord_job)
            .bind(&a.chord_name)
            .bind(config.result_ttl_ms)
            .bind(config.awaited_ttl_ms)
            .fetch_all(pool)
            .await
    }
    .map_err(|e| Shared::of(&e))?;
    let mut outcomes = vec![
        Outcome {
            applied: false,
            dead: false,
        };
        jobs.len()
    ];
    let mut stored = Vec::new();
    for (job, dead, awaited) in rows {
        if let Some(outcome) = usize::try_from(job).ok().and_then(|j| outcomes.get_mut(j)) {
            outcome.applied = true;
            outcome.dead = dead > 0;
        }
        // The same on every row (computed once).
        stored = awaited.unwrap_or_default();
    }
    Ok((outcomes, stored))
}

/// The settle statement for a batch of [plain](is_plain) settlements: the claims are deleted,
/// and for those still held the results are stored and revocations cleared.
fn plain_statement(t: &Tables, synchronous: bool) -> String {
    let commit = outcome_commit(synchronous);
    let Tables {
        claims,
        kv,
        revocations,
        channel,
        ..
    } = t;
    format!(
        "WITH jobs AS (
            SELECT * FROM unnest($2::int[], $3::bigint[], $4::text[]) AS j(job, claim, owner)
        ), held AS MATERIALIZED (
            DELETE FROM {claims} c USING jobs j
            WHERE c.claim = ANY ($3::bigint[]) AND c.claim = j.claim AND c.owner = j.owner
            RETURNING j.job
        ), results AS (
            INSERT INTO {kv} (namespace, key, value, expires_at)
            SELECT DISTINCT ON (r.key) $1, r.key, r.value,
                CASE WHEN $8 > 0 THEN now() + $8 * interval '1 millisecond' END
            FROM unnest($5::int[], $6::text[], $7::bytea[]) WITH ORDINALITY AS r(job, key, value, n)
            JOIN held USING (job)
            ORDER BY r.key, r.n DESC
            ON CONFLICT (namespace, key) DO UPDATE
                SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
            RETURNING 1
        ), unrevoked AS (
            DELETE FROM {revocations}
            WHERE EXISTS (SELECT 1 FROM {revocations} WHERE namespace = $1)
                AND namespace = $1 AND target IN (
                SELECT r.target FROM unnest($9::int[], $10::text[]) AS r(job, target)
                JOIN held USING (job))
        ), woken AS (
            SELECT pg_notify('{channel}', 'r:' || $1) WHERE EXISTS (SELECT 1 FROM results)
        ), commit_mode AS (
            SELECT set_config('synchronous_commit', {commit}, true)
        )
        SELECT job, 0::bigint AS dead, NULL::text[] AS awaited
        FROM held
        WHERE (SELECT count(*) FROM woken) >= 0 AND (SELECT count(*) FROM commit_mode) > 0"
    )
}

/// The settle statement. One statement is one transaction, so a batch is applied whole or
/// not at all; within it, only the settlements whose claim is held (`applied`) write.
fn statement(t: &Tables, synchronous: bool) -> String {
    let commit = outcome_commit(synchronous);
    let Tables {
        queue,
        claims,
        schedule,
        kv,
        waiting,
        chords,
        chord_members,
        revocations,
        dead,
        channel,
        ..
    } = t;
    format!(
        "WITH jobs AS (
            SELECT * FROM unnest($2::int[], $3::bigint[], $4::text[], $5::text[], $6::text[])
                AS j(job, claim, owner, disp, reason)
        ), held AS MATERIALIZED (
            DELETE FROM {claims} c USING jobs j
            WHERE c.claim = ANY ($3::bigint[]) AND c.claim = j.claim AND c.owner = j.owner
                AND j.claim <> 0
            RETURNING c.id, c.priority, c.data, c.deliveries, c.enqueued_at, j.job, j.disp,
                j.reason
        ), applied AS MATERIALIZED (
            SELECT job FROM held UNION ALL SELECT job FROM jobs WHERE claim = 0
        ), given_back AS (
            INSERT INTO {queue} (id, namespace, priority, data, deliveries, enqueued_at)
            SELECT h.id, $1, h.priority, h.data,
                h.deliveries + CASE WHEN h.disp = 'r' THEN 1 ELSE 0 END, h.enqueued_at
            FROM held h WHERE h.disp IN ('r', 'u')
            RETURNING 1
        ), dead AS (
            INSERT INTO {dead} (namespace, id, priority, reason, data)
            SELECT $1, gen_random_uuid()::text, h.priority, h.reason, h.data
            FROM held h WHERE h.disp = 'd' ORDER BY h.job RETURNING 1
        ), results AS (
            INSERT INTO {kv} (namespace, key, value, expires_at)
            SELECT DISTINCT ON (r.key) $1, r.key, r.value,
                CASE WHEN $24 > 0 THEN now() + $24 * interval '1 millisecond' END
            FROM unnest($7::int[], $8::text[], $9::bytea[]) WITH ORDINALITY AS r(job, key, value, n)
            JOIN applied USING (job)
            ORDER BY r.key, r.n DESC
            ON CONFLICT (namespace, key) DO UPDATE
                SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
            RETURNING key
        ), awaited AS (
            INSERT INTO {kv} (namespace, key, value, expires_at)
            SELECT DISTINCT ON (r.key) $1, r.key, r.value, now() + $25 * interval '1 millisecond'
            FROM unnest($10::int[], $11::text[], $12::bytea[]) WITH ORDINALITY AS r(job, key, value, n)
            JOIN applied USING (job)
            JOIN {waiting} w ON w.namespace = $1 AND w.key = r.key AND w.until > now()
            WHERE r.key <> ALL ($8::text[])
            ORDER BY r.key, r.n DESC
            ON CONFLICT (namespace, key) DO UPDATE
                SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
            RETURNING key
        ), unrevoked AS (
            DELETE FROM {revocations}
            -- Checked once, so that a queue without revocations probes no key per task.
            WHERE EXISTS (SELECT 1 FROM {revocations} WHERE namespace = $1)
                AND namespace = $1 AND target IN (
                SELECT r.target FROM unnest($13::int[], $14::text[]) AS r(job, target)
                JOIN applied USING (job))
            RETURNING 1
        ), queued AS (
            INSERT INTO {queue} (namespace, priority, data)
            SELECT $1, m.priority, m.data
            FROM unnest($15::int[], $16::bytea[], $17::int[]) WITH ORDINALITY AS m(job, data, priority, n)
            JOIN applied USING (job)
            ORDER BY m.n
            RETURNING 1
        ), scheduled AS (
            INSERT INTO {schedule} (namespace, at, priority, data)
            SELECT $1, m.at, m.priority, m.data
            FROM unnest($18::int[], $19::bytea[], $20::int[], $21::timestamptz[])
                WITH ORDINALITY AS m(job, data, priority, at, n)
            JOIN applied USING (job)
            ORDER BY m.n
            RETURNING 1
        ), fired_chords AS (
            SELECT DISTINCT c.name FROM unnest($22::int[], $23::text[]) AS c(job, name)
            JOIN applied USING (job)
        ), fired AS (
            INSERT INTO {chords} (namespace, chord, fired)
            SELECT $1, name, true FROM fired_chords
            ON CONFLICT (namespace, chord) DO UPDATE SET fired = true
            RETURNING 1
        ), fired_members AS (
            DELETE FROM {chord_members}
            WHERE namespace = $1 AND chord IN (SELECT name FROM fired_chords)
            RETURNING 1
        ), woken AS (
            SELECT pg_notify('{channel}', 'q:' || $1)
            WHERE EXISTS (SELECT 1 FROM queued) OR EXISTS (SELECT 1 FROM given_back)
            UNION ALL
            SELECT pg_notify('{channel}', 'r:' || $1)
            WHERE EXISTS (SELECT 1 FROM results) OR EXISTS (SELECT 1 FROM awaited)
        ), commit_mode AS (
            SELECT set_config('synchronous_commit', {commit}, true)
        )
        SELECT job, (SELECT count(*) FROM dead) AS dead,
            (SELECT array_agg(key) FROM awaited) AS awaited
        FROM applied
        WHERE (SELECT count(*) FROM woken) >= 0 AND (SELECT count(*) FROM commit_mode) > 0"
    )
}
