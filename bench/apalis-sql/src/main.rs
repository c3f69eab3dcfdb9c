//! apalis-sql-bench: the W1–W3/W5 workloads of `shared/bench/WORKLOADS.md` against apalis 1.0.0
//! with its SQL storages, apalis-postgres 1.0.0 and apalis-sqlite 1.0.0.
//!
//! It mirrors the Redis harness (`shared/bench/apalis`): same subcommands, flags, workload and
//! variant names and JSON-lines fields where they apply. `--url postgres://…` or
//! `--url sqlite:PATH` selects the storage.
//!
//! * `worker`   – one apalis worker process; stops gracefully on SIGINT.
//! * `enqueue`  – W1: N single `push` calls, one awaited call at a time.
//! * `bulk`     – W1b: `push_bulk` of N tasks (one call, or `--chunk` tasks per call).
//! * `drain`    – W2/W4/W5: pre-fill N tasks (untimed), spawn worker process(es), poll the jobs
//!   table every 5 ms until N rows are `Done`; VmHWM/PSS of the worker(s) at done.
//! * `latency`  – W3: sequential push → completed round trips against an idle worker.
//! * `prefill`  – fresh state + pre-fill only.
//! * `sleepcal` – how long `tokio::time::sleep(ms)` really takes here.
//! * `report`   – aggregate a results file into median [min–max] tables.
//!
//! Every measuring subcommand appends one JSON line to `--out` (default
//! `results/results.jsonl`) and prints it.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use apalis::prelude::*;
use apalis_postgres::PostgresStorage;
use apalis_sqlite::SqliteStorage;
use futures::StreamExt;
use serde_json::{json, Value};
use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::PgPool;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/apalis_bench";
const IMPL_PG: &str = "apalis-1.0.0/apalis-postgres-1.0.0";
const IMPL_SQLITE: &str = "apalis-1.0.0/apalis-sqlite-1.0.0";

// ---------------------------------------------------------------------------------------------
// `--key value` options (same syntax as the Redis harness).

struct Opts {
    kv: HashMap<String, String>,
}

impl Opts {
    fn parse(args: &[String]) -> Self {
        let mut kv = HashMap::new();
        let mut i = 0;
        while i < args.len() {
            let a = &args[i];
            let Some(key) = a.strip_prefix("--") else {
                panic!("unexpected argument {a:?} (options are --key value)");
            };
            if let Some((k, v)) = key.split_once('=') {
                kv.insert(k.to_string(), v.to_string());
                i += 1;
            } else if i + 1 < args.len() && !args[i + 1].starts_with("--") {
                kv.insert(key.to_string(), args[i + 1].clone());
                i += 2;
            } else {
                kv.insert(key.to_string(), "1".to_string());
                i += 1;
            }
        }
        Opts { kv }
    }
    fn str(&self, k: &str, default: &str) -> String {
        self.kv
            .get(k)
            .cloned()
            .unwrap_or_else(|| default.to_string())
    }
    fn num<T: FromStr>(&self, k: &str, default: T) -> T
    where
        T::Err: std::fmt::Debug,
    {
        match self.kv.get(k) {
            Some(v) => v.parse().unwrap_or_else(|e| panic!("--{k} {v}: {e:?}")),
            None => default,
        }
    }
    fn flag(&self, k: &str, default: bool) -> bool {
        match self.kv.get(k).map(String::as_str) {
            Some("1" | "true" | "yes") => true,
            Some("0" | "false" | "no") => false,
            Some(v) => panic!("--{k} {v}: expected 0/1"),
            None => default,
        }
    }
    fn out(&self) -> String {
        self.str("out", "results/results.jsonl")
    }
    fn rep(&self) -> u32 {
        self.num("rep", 1)
    }
}

// ---------------------------------------------------------------------------------------------
// Which storage a URL names.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Postgres,
    Sqlite,
}

impl Kind {
    fn of(url: &str) -> Kind {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Kind::Postgres
        } else if url.starts_with("sqlite:") {
            Kind::Sqlite
        } else {
            panic!("--url {url}: expected postgres://… or sqlite:PATH")
        }
    }
    fn impl_name(self) -> &'static str {
        match self {
            Kind::Postgres => IMPL_PG,
            Kind::Sqlite => IMPL_SQLITE,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Kind::Postgres => "postgres",
            Kind::Sqlite => "sqlite",
        }
    }
}

/// The file behind `sqlite:PATH` / `sqlite://PATH` (query string dropped).
fn sqlite_path(url: &str) -> PathBuf {
    let rest = url.strip_prefix("sqlite:").expect("sqlite url");
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let rest = rest.split('?').next().unwrap_or(rest);
    assert!(
        !rest.is_empty() && rest != ":memory:",
        "--url {url}: the worker is another process, so SQLite needs a file"
    );
    PathBuf::from(rest)
}

/// The harness' own connection: observation queries, fresh state, producer pool.
#[derive(Clone)]
enum Db {
    Pg(PgPool),
    Lite(SqlitePool),
}

impl Db {
    /// Connect the way apalis' READMEs do (`PgPool::connect` / `SqlitePool::connect`, default
    /// pool options). For SQLite the file must exist: `fresh` creates it.
    async fn connect(url: &str) -> Db {
        match Kind::of(url) {
            Kind::Postgres => Db::Pg(PgPool::connect(url).await.expect("connect to postgres")),
            Kind::Sqlite => Db::Lite(SqlitePool::connect(url).await.expect("open sqlite")),
        }
    }

    /// Start from nothing: PostgreSQL — create the database if it is missing, `DROP SCHEMA apalis
    /// CASCADE` (apalis 1.0 keeps its tables, functions and migration history there), then
    /// apalis' own `PostgresStorage::setup`. SQLite — delete the file (and its -wal/-shm), create
    /// it, then `SqliteStorage::setup` (which also sets WAL mode etc.).
    async fn fresh(url: &str) -> Db {
        match Kind::of(url) {
            Kind::Postgres => {
                if !sqlx::Postgres::database_exists(url)
                    .await
                    .expect("database_exists")
                {
                    sqlx::Postgres::create_database(url)
                        .await
                        .expect("create database");
                }
                let pool = PgPool::connect(url).await.expect("connect to postgres");
                sqlx::query("DROP SCHEMA IF EXISTS apalis CASCADE")
                    .execute(&pool)
                    .await
                    .expect("drop schema apalis");
                PostgresStorage::setup(&pool)
                    .await
                    .expect("apalis-postgres setup");
                Db::Pg(pool)
            }
            Kind::Sqlite => {
                remove_sqlite_files(url);
                let opts = SqliteConnectOptions::from_str(url)
                    .expect("sqlite url")
                    .create_if_missing(true);
                let pool = SqlitePool::connect_with(opts)
                    .await
                    .expect("create sqlite file");
                SqliteStorage::setup(&pool)
                    .await
                    .expect("apalis-sqlite setup");
                Db::Lite(pool)
            }
        }
    }

    /// Remove what the run left behind (unless `--keep 1`).
    async fn cleanup(self, url: &str, o: &Opts) {
        if o.flag("keep", false) {
            return;
        }
        match self {
            Db::Pg(pool) => {
                sqlx::query("DROP SCHEMA IF EXISTS apalis CASCADE")
                    .execute(&pool)
                    .await
                    .expect("drop schema apalis");
                pool.close().await;
            }
            Db::Lite(pool) => {
                pool.close().await;
                remove_sqlite_files(url);
            }
        }
    }

    /// One query over the queue's rows: pending (not yet claimed: `Pending`, or `Failed` with
    /// attempts left — what apalis' fetch picks up), done, dead, total.
    async fn counts(&self, q: &str) -> Counts {
        let row: (i64, i64, i64, i64) = match self {
            Db::Pg(p) => sqlx::query_as(
                "SELECT \
                   count(*) FILTER (WHERE status = 'Pending' OR (status = 'Failed' AND attempts < max_attempts)), \
                   count(*) FILTER (WHERE status = 'Done'), \
                   count(*) FILTER (WHERE status = 'Killed' OR (status = 'Failed' AND attempts >= max_attempts)), \
                   count(*) \
                 FROM apalis.jobs WHERE job_type = $1",
            )
            .bind(q)
            .fetch_one(p)
            .await
            .expect("counts"),
            Db::Lite(p) => sqlx::query_as(
                "SELECT \
                   COALESCE(SUM(status = 'Pending' OR (status = 'Failed' AND attempts < max_attempts)), 0), \
                   COALESCE(SUM(status = 'Done'), 0), \
                   COALESCE(SUM(status = 'Killed' OR (status = 'Failed' AND attempts >= max_attempts)), 0), \
                   COUNT(*) \
                 FROM Jobs WHERE job_type = ?1",
            )
            .bind(q)
            .fetch_one(p)
            .await
            .expect("counts"),
        };
        Counts {
            pending: row.0 as u64,
            done: row.1 as u64,
            dead: row.2 as u64,
            total: row.3 as u64,
        }
    }

    /// Has apalis registered this worker (a row in its workers table)?
    async fn worker_registered(&self, name: &str) -> bool {
        let n: i64 = match self {
            Db::Pg(p) => sqlx::query_scalar("SELECT count(*) FROM apalis.workers WHERE id = $1")
                .bind(name)
                .fetch_one(p)
                .await
                .unwrap_or(0),
            Db::Lite(p) => sqlx::query_scalar("SELECT COUNT(*) FROM Workers WHERE id = ?1")
                .bind(name)
                .fetch_one(p)
                .await
                .unwrap_or(0),
        };
        n > 0
    }

    /// Validity: one random finished task must carry its own argument as stored result
    /// (apalis stores `{"Ok": <value>}` in `last_result`).
    async fn check_sample_result(&self, q: &str) -> bool {
        let row: Option<(Vec<u8>, String)> = match self {
            Db::Pg(p) => sqlx::query_as(
                "SELECT job, last_result::text FROM apalis.jobs \
                 WHERE job_type = $1 AND status = 'Done' ORDER BY random() LIMIT 1",
            )
            .bind(q)
            .fetch_optional(p)
            .await
            .unwrap_or(None),
            Db::Lite(p) => sqlx::query_as(
                "SELECT CAST(job AS BLOB), CAST(last_result AS TEXT) FROM Jobs \
                 WHERE job_type = ?1 AND status = 'Done' ORDER BY random() LIMIT 1",
            )
            .bind(q)
            .fetch_optional(p)
            .await
            .unwrap_or(None),
        };
        let Some((job, result)) = row else {
            return false;
        };
        let arg: Value = serde_json::from_slice(&job).unwrap_or(Value::Null);
        let res: Value = serde_json::from_str(&result).unwrap_or(Value::Null);
        arg != Value::Null && res.get("Ok") == Some(&arg)
    }

    /// PIDs of the PostgreSQL server processes serving this database (the backends of every
    /// connection to it: workers, producer, harness). Empty for SQLite, which runs in-process.
    async fn backend_pids(&self) -> Vec<String> {
        match self {
            Db::Pg(p) => sqlx::query_scalar::<_, i32>(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()",
            )
            .fetch_all(p)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|p| p.to_string())
            .collect(),
            Db::Lite(_) => Vec::new(),
        }
    }

    /// CPU seconds of this database's server backends, per PID.
    async fn db_cpu(&self) -> HashMap<String, f64> {
        self.backend_pids()
            .await
            .into_iter()
            .map(|p| {
                let c = proc_cpu_s(&p);
                (p, c)
            })
            .collect()
    }
}

fn remove_sqlite_files(url: &str) {
    let p = sqlite_path(url);
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut f = p.clone().into_os_string();
        f.push(suffix);
        let _ = std::fs::remove_file(f);
    }
}

/// Backend CPU spent between two `db_cpu` snapshots (a backend that appeared in between counts
/// from 0; one that went away in between is lost — the pools keep their connections, so in
/// practice the set does not change during a run).
fn db_cpu_delta(a: &HashMap<String, f64>, b: &HashMap<String, f64>) -> f64 {
    b.iter()
        .map(|(pid, c1)| c1 - a.get(pid).copied().unwrap_or(0.0))
        .sum()
}

struct Counts {
    pending: u64,
    done: u64,
    dead: u64,
    total: u64,
}

// ---------------------------------------------------------------------------------------------
// Worker configuration (the `worker` subcommand and the harness that spawns it).

#[derive(Clone, Debug)]
struct WorkerOpts {
    url: String,
    queue: String,
    /// "noop" (`noop(i) -> i`) or "sleep" (`sleep_ms(ms) -> ms`)
    task: String,
    /// `.concurrency(n)`: max in-flight task futures of one apalis worker
    concurrency: usize,
    /// "interval" = `poll_with_interval(poll_ms)`; "pubsub" = PostgreSQL LISTEN/NOTIFY
    /// (`PostgresStorage::with_pubsub`, Postgres only); "none" = the storage as `new` returns it
    wake: String,
    poll_ms: u64,
    /// `Config::batch_size` (default 10)
    batch: usize,
    /// `Config::lock_tasks` (default true)
    lock_tasks: bool,
    /// `.parallelize(tokio::spawn)`
    parallelize: bool,
    name: String,
}

impl WorkerOpts {
    fn from(o: &Opts, default_task: &str, default_conc: usize) -> Self {
        WorkerOpts {
            url: o.str("url", DEFAULT_URL),
            queue: o.str("queue", "bench"),
            task: o.str("task", default_task),
            concurrency: o.num("concurrency", default_conc),
            wake: o.str("wake", "interval"),
            poll_ms: o.num("poll-ms", 100),
            batch: o.num("batch", 10),
            lock_tasks: o.flag("lock-tasks", true),
            parallelize: o.flag("parallelize", false),
            name: o.str("name", "bench-worker"),
        }
    }
    fn kind(&self) -> Kind {
        Kind::of(&self.url)
    }
    fn to_args(&self, name: &str) -> Vec<String> {
        let mut v: Vec<String> = vec!["worker".into()];
        for (k, val) in [
            ("--url", self.url.clone()),
            ("--queue", self.queue.clone()),
            ("--task", self.task.clone()),
            ("--concurrency", self.concurrency.to_string()),
            ("--wake", self.wake.clone()),
            ("--poll-ms", self.poll_ms.to_string()),
            ("--batch", self.batch.to_string()),
            ("--lock-tasks", (self.lock_tasks as u8).to_string()),
            ("--parallelize", (self.parallelize as u8).to_string()),
            ("--name", name.to_string()),
        ] {
            v.push(k.into());
            v.push(val);
        }
        v
    }
    /// Result label, the same scheme as the Redis harness: `c8-int100`, `c4-pubsub-b100-nolock`.
    fn label(&self) -> String {
        let wake = match self.wake.as_str() {
            "interval" => format!("int{}", self.poll_ms),
            other => other.to_string(),
        };
        let mut s = format!("c{}-{}", self.concurrency, wake);
        if self.batch != 10 {
            s += &format!("-b{}", self.batch);
        }
        if !self.lock_tasks {
            s += "-nolock";
        }
        if self.parallelize {
            s += "-par";
        }
        s
    }
    /// apalis' default `Config`, with the queue name and the two knobs the flags expose.
    fn pg_config(&self) -> apalis_postgres::Config {
        apalis_postgres::Config::default()
            .queue(&self.queue)
            .batch_size(self.batch)
            .lock_tasks(self.lock_tasks)
    }
    fn sqlite_config(&self) -> apalis_sqlite::Config {
        apalis_sqlite::Config::default()
            .queue(&self.queue)
            .batch_size(self.batch)
            .lock_tasks(self.lock_tasks)
    }
}

// The two task functions of WORKLOADS.md. Results are persisted by the storage
// (`persist_results` defaults to true): the ack writes `{"Ok": i}` to `last_result` and sets
// the row's status to `Done`.
async fn noop(i: u64) -> Result<u64, BoxDynError> {
    Ok(i)
}

async fn sleep_ms(ms: u64) -> Result<u64, BoxDynError> {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(ms)
}

macro_rules! run_backend {
    ($backend:expr, $w:expr) => {{
        let w: &WorkerOpts = $w;
        let shutdown = async { tokio::signal::ctrl_c().await };
        match (w.task.as_str(), w.parallelize) {
            ("noop", false) => {
                WorkerBuilder::new(w.name.as_str())
                    .backend($backend)
                    .concurrency(w.concurrency)
                    .build(noop)
                    .run_until(shutdown)
                    .await
            }
            ("noop", true) => {
                WorkerBuilder::new(w.name.as_str())
                    .backend($backend)
                    .concurrency(w.concurrency)
                    .parallelize(tokio::spawn)
                    .build(noop)
                    .run_until(shutdown)
                    .await
            }
            ("sleep", false) => {
                WorkerBuilder::new(w.name.as_str())
                    .backend($backend)
                    .concurrency(w.concurrency)
                    .build(sleep_ms)
                    .run_until(shutdown)
                    .await
            }
            ("sleep", true) => {
                WorkerBuilder::new(w.name.as_str())
                    .backend($backend)
                    .concurrency(w.concurrency)
                    .parallelize(tokio::spawn)
                    .build(sleep_ms)
                    .run_until(shutdown)
                    .await
            }
            (t, _) => panic!("unknown --task {t}"),
        }
    }};
}

async fn worker_main(w: WorkerOpts) -> Result<(), BoxDynError> {
    let interval = Duration::from_millis(w.poll_ms);
    let res = match (w.kind(), w.wake.as_str()) {
        (Kind::Postgres, wake) => {
            let pool = PgPool::connect(&w.url).await?;
            let storage = PostgresStorage::<u64>::new(&pool).with_config(w.pg_config());
            match wake {
                "none" => run_backend!(storage, &w),
                "interval" => run_backend!(storage.poll_with_interval(interval), &w),
                "pubsub" => run_backend!(storage.with_pubsub(), &w),
                other => panic!("unknown --wake {other} for postgres"),
            }
        }
        (Kind::Sqlite, wake) => {
            let pool = SqlitePool::connect(&w.url).await?;
            let storage = SqliteStorage::<u64>::new(&pool).with_config(w.sqlite_config());
            match wake {
                "none" => run_backend!(storage, &w),
                "interval" => run_backend!(storage.poll_with_interval(interval), &w),
                other => panic!("unknown --wake {other} for sqlite (interval|none)"),
            }
        }
    };
    // Report our own peak RSS on stdout (the harness also reads /proc/<pid>/status at "done").
    let hwm = proc_status_mib("self", "VmHWM:");
    println!(
        "{}",
        json!({"vmhwm_mib": hwm, "result": format!("{res:?}")})
    );
    std::io::stdout().flush().ok();
    res.map_err(Into::into)
}

// ---------------------------------------------------------------------------------------------
// Producer side: apalis' own storages, at their defaults apart from the queue name.

enum Producer {
    Pg(PostgresStorage<u64>),
    Lite(SqliteStorage<u64>),
}

impl Producer {
    async fn new(url: &str, q: &str) -> Producer {
        match Kind::of(url) {
            Kind::Postgres => {
                let pool = PgPool::connect(url).await.expect("connect");
                let cfg = apalis_postgres::Config::default().queue(q);
                Producer::Pg(PostgresStorage::new(&pool).with_config(cfg))
            }
            Kind::Sqlite => {
                let pool = SqlitePool::connect(url).await.expect("open");
                let cfg = apalis_sqlite::Config::default().queue(q);
                Producer::Lite(SqliteStorage::new(&pool).with_config(cfg))
            }
        }
    }
    /// Open one pool connection before timing (the Redis harness PINGs for the same reason).
    async fn warm(&self) {
        match self {
            Producer::Pg(s) => {
                sqlx::query("SELECT 1")
                    .execute(s.pool())
                    .await
                    .expect("SELECT 1");
            }
            Producer::Lite(s) => {
                sqlx::query("SELECT 1")
                    .execute(s.pool())
                    .await
                    .expect("SELECT 1");
            }
        }
    }
    async fn push(&mut self, i: u64) -> Result<(), String> {
        match self {
            Producer::Pg(s) => s.push(i).await.map_err(|e| format!("{e:?}")),
            Producer::Lite(s) => s.push(i).await.map_err(|e| format!("{e:?}")),
        }
    }
    async fn push_bulk(&mut self, v: Vec<u64>) -> Result<(), String> {
        match self {
            Producer::Pg(s) => s.push_bulk(v).await.map_err(|e| format!("{e:?}")),
            Producer::Lite(s) => s.push_bulk(v).await.map_err(|e| format!("{e:?}")),
        }
    }
    async fn push_task(&mut self, t: Task<u64>) {
        match self {
            Producer::Pg(s) => s.push_task(t).await.expect("push_task"),
            Producer::Lite(s) => s.push_task(t).await.expect("push_task"),
        }
    }
    /// apalis' own blocking wait (`WaitForCompletion::wait_for`).
    async fn wait_for(&mut self, id: TaskId) -> TaskResult<u64> {
        match self {
            Producer::Pg(s) => {
                let mut st = WaitForCompletion::<u64>::wait_for(s, [id]);
                st.next().await.expect("stream ended").expect("wait_for")
            }
            Producer::Lite(s) => {
                let mut st = WaitForCompletion::<u64>::wait_for(s, [id]);
                st.next().await.expect("stream ended").expect("wait_for")
            }
        }
    }
    /// One `WaitForCompletion::check_status` call.
    async fn check_status(&mut self, id: TaskId) -> Option<TaskResult<u64>> {
        let mut v = match self {
            Producer::Pg(s) => WaitForCompletion::<u64>::check_status(s, [id])
                .await
                .expect("check_status"),
            Producer::Lite(s) => WaitForCompletion::<u64>::check_status(s, [id])
                .await
                .expect("check_status"),
        };
        v.pop()
    }
}

/// Untimed pre-fill through apalis' own `push_bulk`, 10 000 tasks per call.
async fn prefill(url: &str, q: &str, n: u64, arg: impl Fn(u64) -> u64) {
    let mut s = Producer::new(url, q).await;
    let mut i = 0;
    while i < n {
        let end = (i + 10_000).min(n);
        s.push_bulk((i..end).map(&arg).collect())
            .await
            .expect("push_bulk");
        i = end;
    }
}

// ---------------------------------------------------------------------------------------------
// /proc helpers.

fn clk_tck() -> f64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) as f64 }
}

/// utime+stime of a process in seconds (`pid` may be "self").
fn proc_cpu_s(pid: &str) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some(rest) = s.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After ")": f[0] is field 3 (state), so utime (14) and stime (15) are f[11], f[12].
    let ut: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    let st: f64 = f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    (ut + st) / clk_tck()
}

fn proc_status_mib(pid: &str, key: &str) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    kb_line(&s, key) / 1024.0
}

fn pss_mib(pid: &str) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    kb_line(&s, "Pss:") / 1024.0
}

fn kb_line(s: &str, key: &str) -> f64 {
    s.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
}

fn spawn_worker(w: &WorkerOpts, name: &str) -> Child {
    let exe = std::env::current_exe().expect("current_exe");
    Command::new(exe)
        .args(w.to_args(name))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn worker")
}

fn sigint(child: &Child) {
    // SAFETY: kill(2) on a child we spawned and have not reaped yet.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
}

/// SIGINT every child, wait (≤ 30 s, then SIGKILL). Returns (stop seconds, exit codes, stdout).
fn stop_children(children: &mut [Child]) -> (f64, Vec<Value>, Vec<String>) {
    let t0 = Instant::now();
    for c in children.iter() {
        sigint(c);
    }
    let mut codes = vec![Value::Null; children.len()];
    let mut pending = children.len();
    while pending > 0 {
        for (i, c) in children.iter_mut().enumerate() {
            if codes[i].is_null() {
                if let Ok(Some(st)) = c.try_wait() {
                    codes[i] = match st.code() {
                        Some(code) => json!(code),
                        None => json!(format!("{st}")),
                    };
                    pending -= 1;
                }
            }
        }
        if t0.elapsed() > Duration::from_secs(30) {
            for (i, c) in children.iter_mut().enumerate() {
                if codes[i].is_null() {
                    let _ = c.kill();
                    let _ = c.wait();
                    codes[i] = json!("SIGKILL after 30 s");
                }
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let stop_s = t0.elapsed().as_secs_f64();
    let outs = children
        .iter_mut()
        .map(|c| {
            let mut s = String::new();
            if let Some(mut o) = c.stdout.take() {
                let _ = o.read_to_string(&mut s);
            }
            s.trim().to_string()
        })
        .collect();
    (stop_s, codes, outs)
}

fn record(out: &str, v: &Value) {
    if let Some(dir) = std::path::Path::new(out).parent() {
        std::fs::create_dir_all(dir).ok();
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out)
        .expect("open results file");
    writeln!(f, "{v}").expect("write result");
    println!("{v}");
}

fn round(x: f64, d: i32) -> f64 {
    let m = 10f64.powi(d);
    (x * m).round() / m
}

/// `db_cpu_pct`: PostgreSQL backends of this database, % of one core; null for SQLite.
fn db_cpu_pct(kind: Kind, a: &HashMap<String, f64>, b: &HashMap<String, f64>, el: f64) -> Value {
    match kind {
        Kind::Postgres => json!(round(db_cpu_delta(a, b) / el * 100.0, 1)),
        Kind::Sqlite => Value::Null,
    }
}

// ---------------------------------------------------------------------------------------------
// W1 / W1b

async fn enqueue(o: &Opts) {
    let url = o.str("url", DEFAULT_URL);
    let kind = Kind::of(&url);
    let q = o.str("queue", "bench");
    let n: u64 = o.num("n", 20_000);
    let db = Db::fresh(&url).await;
    let mut storage = Producer::new(&url, &q).await;
    storage.warm().await;
    let d0 = db.db_cpu().await;
    let p0 = proc_cpu_s("self");
    let t0 = Instant::now();
    for i in 0..n {
        storage.push(i).await.expect("push");
    }
    let el = t0.elapsed().as_secs_f64();
    let p1 = proc_cpu_s("self");
    let d1 = db.db_cpu().await;
    let k = db.counts(&q).await;
    assert_eq!(k.pending, n, "queued count after W1");
    record(
        &o.out(),
        &json!({
            "impl": kind.impl_name(), "storage": kind.name(), "workload": "W1", "variant": "push",
            "rep": o.rep(), "n": n,
            "elapsed_s": round(el, 4),
            "tasks_per_s": round(n as f64 / el, 0),
            "us_per_task": round(el * 1e6 / n as f64, 1),
            "producer_cpu_pct": round((p1 - p0) / el * 100.0, 1),
            "db_cpu_pct": db_cpu_pct(kind, &d0, &d1, el),
            "queued_after": k.pending,
        }),
    );
    db.cleanup(&url, o).await;
}

async fn bulk(o: &Opts) {
    let url = o.str("url", DEFAULT_URL);
    let kind = Kind::of(&url);
    let q = o.str("queue", "bench");
    let n: u64 = o.num("n", 200_000);
    let chunk: usize = o.num("chunk", 0);
    let db = Db::fresh(&url).await;
    let mut storage = Producer::new(&url, &q).await;
    storage.warm().await;
    let items: Vec<u64> = (0..n).collect();
    let d0 = db.db_cpu().await;
    let p0 = proc_cpu_s("self");
    let t0 = Instant::now();
    let res = if chunk == 0 {
        storage.push_bulk(items).await
    } else {
        let mut r = Ok(());
        for ch in items.chunks(chunk) {
            r = storage.push_bulk(ch.to_vec()).await;
            if r.is_err() {
                break;
            }
        }
        r
    };
    let el = t0.elapsed().as_secs_f64();
    let variant = if chunk == 0 {
        "push_bulk-all".to_string()
    } else {
        format!("push_bulk-chunk{chunk}")
    };
    if let Err(e) = res {
        let k = db.counts(&q).await;
        record(
            &o.out(),
            &json!({
                "impl": kind.impl_name(), "storage": kind.name(), "workload": "W1b-error",
                "variant": variant, "rep": o.rep(), "n": n, "error": e,
                "failed_after_s": round(el, 3), "queued_after": k.total,
            }),
        );
        db.cleanup(&url, o).await;
        return;
    }
    let p1 = proc_cpu_s("self");
    let d1 = db.db_cpu().await;
    let k = db.counts(&q).await;
    assert_eq!(k.pending, n, "queued count after W1b");
    record(
        &o.out(),
        &json!({
            "impl": kind.impl_name(), "storage": kind.name(), "workload": "W1b", "variant": variant,
            "rep": o.rep(), "n": n, "chunk": chunk,
            "elapsed_s": round(el, 4),
            "tasks_per_s": round(n as f64 / el, 0),
            "us_per_task": round(el * 1e6 / n as f64, 2),
            "producer_cpu_pct": round((p1 - p0) / el * 100.0, 1),
            "db_cpu_pct": db_cpu_pct(kind, &d0, &d1, el),
            "queued_after": k.pending,
        }),
    );
    db.cleanup(&url, o).await;
}

// ---------------------------------------------------------------------------------------------
// W2 / W4 / W5

async fn drain(o: &Opts) {
    let workload = o.str("workload", "W2");
    let default_task = if workload == "W4" { "sleep" } else { "noop" };
    let w = WorkerOpts::from(o, default_task, 1);
    let kind = w.kind();
    let n: u64 = o.num("n", 20_000);
    let ms: u64 = o.num("ms", 10);
    let procs: usize = o.num("procs", 1);
    let timeout_s: f64 = o.num("timeout", 1800.0);
    let q = w.queue.clone();
    let db = Db::fresh(&w.url).await;
    if w.task == "sleep" {
        prefill(&w.url, &q, n, |_| ms).await;
    } else {
        prefill(&w.url, &q, n, |i| i).await;
    }
    let k0 = db.counts(&q).await;
    assert_eq!((k0.pending, k0.done), (n, 0), "pre-fill");

    let t_spawn = Instant::now();
    let mut children: Vec<Child> = (0..procs)
        .map(|k| spawn_worker(&w, &format!("{}-{k}", w.name)))
        .collect();
    let pids: Vec<String> = children.iter().map(|c| c.id().to_string()).collect();
    let wcpu = |pids: &[String]| pids.iter().map(|p| proc_cpu_s(p)).sum::<f64>();

    // (t, worker cpu, db backends' cpu, own cpu)
    let mut first: Option<(Instant, f64, HashMap<String, f64>, f64)> = None;
    let mut empty: Option<Instant> = None;
    let mut max_rss_sampled = 0.0f64;
    let mut last_rss_sample = Instant::now() - Duration::from_secs(1);
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (t_done, k_done, cpu_done) = loop {
        tick.tick().await;
        let k = db.counts(&q).await;
        let now = Instant::now();
        if first.is_none() && (k.pending < n || k.done > 0) {
            let dc = db.db_cpu().await;
            first = Some((now, wcpu(&pids), dc, proc_cpu_s("self")));
        }
        if empty.is_none() && k.pending == 0 {
            empty = Some(now);
        }
        if now.duration_since(last_rss_sample) >= Duration::from_millis(100) {
            last_rss_sample = now;
            let rss: f64 = pids.iter().map(|p| proc_status_mib(p, "VmRSS:")).sum();
            max_rss_sampled = max_rss_sampled.max(rss);
        }
        if k.done >= n {
            let dc = db.db_cpu().await;
            break (now, k, (wcpu(&pids), dc, proc_cpu_s("self")));
        }
        for ch in children.iter_mut() {
            if let Ok(Some(st)) = ch.try_wait() {
                panic!(
                    "worker {} exited early with {st}; done={} pending={}",
                    ch.id(),
                    k.done,
                    k.pending
                );
            }
        }
        if t_spawn.elapsed().as_secs_f64() > timeout_s {
            let _ = stop_children(&mut children);
            panic!(
                "timeout after {timeout_s} s: done={} pending={} dead={}",
                k.done, k.pending, k.dead
            );
        }
    };
    // W5: memory at "done", before stopping.
    let hwm: Vec<f64> = pids.iter().map(|p| proc_status_mib(p, "VmHWM:")).collect();
    let pss: f64 = pids.iter().map(|p| pss_mib(p)).sum();
    let rss_now: f64 = pids.iter().map(|p| proc_status_mib(p, "VmRSS:")).sum();
    max_rss_sampled = max_rss_sampled.max(rss_now);
    let (stop_s, exit_codes, outs) = stop_children(&mut children);

    let (t_first, wc0, dc0, sc0) = first.expect("first observation");
    let (wc1, dc1, sc1) = cpu_done;
    let window = t_done.duration_since(t_first).as_secs_f64();
    let since_spawn = t_done.duration_since(t_spawn).as_secs_f64();
    let k_end = db.counts(&q).await;
    let sample_ok = db.check_sample_result(&q).await;
    let ideal = if w.task == "sleep" {
        Some(w.concurrency as f64 * procs as f64 * 1000.0 / ms as f64)
    } else {
        None
    };
    let tps = n as f64 / window;
    let variant = if procs > 1 {
        format!("p{procs}x{}", w.label())
    } else {
        w.label()
    };
    let mut rec = json!({
        "impl": kind.impl_name(), "storage": kind.name(), "workload": workload,
        "variant": o.str("label-prefix", "") + &variant,
        "rep": o.rep(), "n": n, "procs": procs,
        "concurrency": w.concurrency, "wake": w.wake, "poll_ms": w.poll_ms, "batch": w.batch,
        "lock_tasks": w.lock_tasks, "parallelize": w.parallelize, "task": w.task,
        "drain_s": round(window, 4),
        "tasks_per_s": round(tps, 0),
        "tasks_per_s_incl_startup": round(n as f64 / since_spawn, 0),
        "startup_s": round(t_first.duration_since(t_spawn).as_secs_f64(), 3),
        "queue_empty_s": empty.map(|e| round(e.saturating_duration_since(t_first).as_secs_f64(), 3)),
        "consumer_cpu_pct": round((wc1 - wc0) / window * 100.0, 1),
        "db_cpu_pct": db_cpu_pct(kind, &dc0, &dc1, window),
        "harness_cpu_pct": round((sc1 - sc0) / window * 100.0, 1),
        "peak_rss_mib_sum_vmhwm": round(hwm.iter().sum::<f64>(), 2),
        "peak_rss_mib_main_vmhwm": round(hwm.first().copied().unwrap_or(0.0), 2),
        "peak_rss_mib_sampled": round(max_rss_sampled, 2),
        "pss_mib_at_done": round(pss, 2),
        "stop_s": round(stop_s, 3),
        "exit_codes": exit_codes,
        "worker_stdout": outs,
        "done_at_end": k_end.done, "dead_at_end": k_end.dead, "pending_at_end": k_end.pending,
        "done_observed": k_done.done,
        "sample_result_ok": sample_ok,
    });
    if let Some(ideal) = ideal {
        rec["ideal_tasks_per_s"] = json!(ideal);
        rec["efficiency_pct"] = json!(round(tps / ideal * 100.0, 1));
    }
    record(&o.out(), &rec);
    db.cleanup(&w.url, o).await;
}

// ---------------------------------------------------------------------------------------------
// W3

async fn latency(o: &Opts) {
    let w = WorkerOpts::from(o, "noop", 4);
    let kind = w.kind();
    let n: usize = o.num("n", 500);
    let warmup: usize = o.num("warmup", 20);
    // "wait_for": apalis' WaitForCompletion::wait_for (re-checks every 500 ms while the task is
    // not done). "check_status": WaitForCompletion::check_status every --client-poll-ms (1).
    let client = o.str("client", "wait_for");
    let client_poll = Duration::from_millis(o.num("client-poll-ms", 1));
    let deadline_s: f64 = o.num("deadline-s", 0.0);
    let q = w.queue.clone();
    let db = Db::fresh(&w.url).await;
    let name = format!("{}-0", w.name);
    let mut children = vec![spawn_worker(&w, &name)];
    let t0 = Instant::now();
    while !db.worker_registered(&name).await {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "worker did not register"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut storage = Producer::new(&w.url, &q).await;
    storage.warm().await;
    let mut samples = Vec::with_capacity(n);
    let d0 = db.db_cpu().await;
    let tw = Instant::now();
    let mut stopped_early = false;
    for k in 0..(warmup + n) {
        if deadline_s > 0.0 && tw.elapsed().as_secs_f64() > deadline_s {
            stopped_early = true;
            break;
        }
        let id = TaskId::from_ulid(ulid::Ulid::generate());
        let t = Instant::now();
        storage
            .push_task(TaskBuilder::new(k as u64).task_id(id.clone()).build())
            .await;
        let res: TaskResult<u64> = match client.as_str() {
            "wait_for" => storage.wait_for(id.clone()).await,
            "check_status" => loop {
                if let Some(r) = storage.check_status(id.clone()).await {
                    break r;
                }
                tokio::time::sleep(client_poll).await;
            },
            other => panic!("unknown --client {other} (wait_for|check_status)"),
        };
        let dt = t.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(res.result, Ok(k as u64), "result value");
        if k >= warmup {
            samples.push(dt);
        }
    }
    let el = tw.elapsed().as_secs_f64();
    let d1 = db.db_cpu().await;
    let (stop_s, codes, outs) = stop_children(&mut children);
    let completed = samples.len();
    let stalls = samples.iter().filter(|x| **x > 1000.0).count();
    let stall_ms: f64 = samples.iter().filter(|x| **x > 1000.0).sum();
    if samples.is_empty() {
        samples.push(f64::NAN);
    }
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| {
        let idx = ((p / 100.0) * samples.len() as f64).ceil() as usize;
        samples[idx.saturating_sub(1).min(samples.len() - 1)]
    };
    let mean = samples.iter().sum::<f64>() / samples.len() as f64;
    record(
        &o.out(),
        &json!({
            "impl": kind.impl_name(), "storage": kind.name(), "workload": "W3",
            "variant": format!("{}-{}", w.label(), client),
            "rep": o.rep(), "n": n, "client": client,
            "concurrency": w.concurrency, "wake": w.wake, "poll_ms": w.poll_ms,
            "p50_ms": round(pct(50.0), 3), "p90_ms": round(pct(90.0), 3),
            "p99_ms": round(pct(99.0), 3), "max_ms": round(samples[samples.len() - 1], 3),
            "min_ms": round(samples[0], 3), "mean_ms": round(mean, 3),
            "db_cpu_pct": db_cpu_pct(kind, &d0, &d1, el),
            "completed": completed, "stopped_early": stopped_early, "elapsed_s": round(el, 2),
            "stalls_over_1s": stalls, "stall_total_s": round(stall_ms / 1000.0, 1) + 0.0,
            "stop_s": round(stop_s, 3), "exit_codes": codes, "worker_stdout": outs,
        }),
    );
    db.cleanup(&w.url, o).await;
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// Fresh state, then pre-fill N noop tasks exactly as `drain` does (untimed), and exit. Keeps
/// the state (no cleanup).
async fn prefill_cmd(o: &Opts) {
    let url = o.str("url", DEFAULT_URL);
    let q = o.str("queue", "bench");
    let n: u64 = o.num("n", 20_000);
    let db = Db::fresh(&url).await;
    prefill(&url, &q, n, |i| i).await;
    let k = db.counts(&q).await;
    println!("{}", json!({"pending": k.pending, "done": k.done}));
}

/// Drop apalis' schema (Postgres) or delete the file (SQLite).
async fn clean_cmd(o: &Opts) {
    let url = o.str("url", DEFAULT_URL);
    match Kind::of(&url) {
        Kind::Postgres => {
            let db = Db::connect(&url).await;
            db.cleanup(&url, o).await;
        }
        Kind::Sqlite => remove_sqlite_files(&url),
    }
}

/// How long `tokio::time::sleep(ms)` really takes on this box: C concurrent loops of K sleeps.
async fn sleepcal(o: &Opts) {
    let ms: u64 = o.num("ms", 10);
    let conc: usize = o.num("concurrency", 64);
    let k: usize = o.num("k", 50);
    let t0 = Instant::now();
    let handles: Vec<_> = (0..conc)
        .map(|_| {
            tokio::spawn(async move {
                let mut v = Vec::with_capacity(k);
                for _ in 0..k {
                    let t = Instant::now();
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    v.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                v
            })
        })
        .collect();
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    let el = t0.elapsed().as_secs_f64();
    all.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let mean = all.iter().sum::<f64>() / all.len() as f64;
    record(
        &o.out(),
        &json!({
            "impl": "tokio", "workload": "SLEEP", "variant": format!("tokio-sleep{ms}ms-c{conc}"),
            "rep": o.rep(), "n": all.len(),
            "mean_ms": round(mean, 3), "p50_ms": round(all[all.len() / 2], 3),
            "max_ms": round(all[all.len() - 1], 3),
            "sleeps_per_s": round(all.len() as f64 / el, 0),
            "efficiency_pct": round(ms as f64 / mean * 100.0, 1),
        }),
    );
}

// ---------------------------------------------------------------------------------------------
// Report: median [min–max] per (impl, workload, variant, n).

fn fmt_num(x: f64) -> String {
    let a = x.abs();
    if a >= 1000.0 {
        format!("{x:.0}")
    } else if a >= 100.0 {
        format!("{x:.1}")
    } else if a >= 10.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

fn report(o: &Opts) {
    let text = std::fs::read_to_string(o.out()).expect("read results");
    type Key = (String, String, String, u64);
    let mut groups: BTreeMap<Key, Vec<Value>> = BTreeMap::new();
    for l in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(l).expect("json line");
        let key = (
            v["workload"].as_str().unwrap_or("").to_string(),
            v["impl"].as_str().unwrap_or("").to_string(),
            v["variant"].as_str().unwrap_or("").to_string(),
            v["n"].as_u64().unwrap_or(0),
        );
        groups.entry(key).or_default().push(v);
    }
    let cols: &[(&str, &[&str])] = &[
        (
            "W1",
            &[
                "tasks_per_s",
                "us_per_task",
                "producer_cpu_pct",
                "db_cpu_pct",
            ],
        ),
        (
            "W1b",
            &["tasks_per_s", "elapsed_s", "producer_cpu_pct", "db_cpu_pct"],
        ),
        (
            "W2",
            &[
                "tasks_per_s",
                "tasks_per_s_incl_startup",
                "startup_s",
                "consumer_cpu_pct",
                "db_cpu_pct",
                "harness_cpu_pct",
                "peak_rss_mib_sum_vmhwm",
                "pss_mib_at_done",
                "stop_s",
            ],
        ),
        (
            "W3",
            &[
                "p50_ms",
                "p90_ms",
                "p99_ms",
                "max_ms",
                "mean_ms",
                "completed",
                "stalls_over_1s",
                "db_cpu_pct",
            ],
        ),
        (
            "W4",
            &[
                "drain_s",
                "tasks_per_s",
                "ideal_tasks_per_s",
                "efficiency_pct",
                "consumer_cpu_pct",
                "db_cpu_pct",
                "peak_rss_mib_sum_vmhwm",
            ],
        ),
        ("SLEEP", &["mean_ms", "p50_ms", "max_ms", "efficiency_pct"]),
    ];
    for (wl, metrics) in cols {
        let rows: Vec<_> = groups.iter().filter(|((w, _, _, _), _)| w == wl).collect();
        if rows.is_empty() {
            continue;
        }
        println!("\n### {wl}\n");
        println!("| impl | variant | reps | N | {} |", metrics.join(" | "));
        println!("|---|---|---|---|{}", "---|".repeat(metrics.len()));
        for ((_, imp, variant, n), recs) in rows {
            let mut cells = Vec::new();
            for m in metrics.iter() {
                let mut xs: Vec<f64> = recs.iter().filter_map(|r| r[*m].as_f64()).collect();
                if xs.is_empty() {
                    cells.push("—".to_string());
                    continue;
                }
                xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
                let med = if xs.len() % 2 == 1 {
                    xs[xs.len() / 2]
                } else {
                    (xs[xs.len() / 2 - 1] + xs[xs.len() / 2]) / 2.0
                };
                if xs.len() == 1 {
                    cells.push(fmt_num(med));
                } else {
                    cells.push(format!(
                        "{} [{}–{}]",
                        fmt_num(med),
                        fmt_num(xs[0]),
                        fmt_num(xs[xs.len() - 1])
                    ));
                }
            }
            println!(
                "| {imp} | {variant} | {} | {n} | {} |",
                recs.len(),
                cells.join(" | ")
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first().cloned() else {
        eprintln!(
            "usage: apalis-sql-bench <worker|enqueue|bulk|drain|latency|prefill|clean|sleepcal|report> \
             [--url postgres://…|sqlite:PATH] [--key value ...]"
        );
        std::process::exit(2);
    };
    let o = Opts::parse(&args[1..]);
    match cmd.as_str() {
        "worker" => {
            let w = WorkerOpts::from(&o, "noop", 1);
            if let Err(e) = worker_main(w).await {
                eprintln!("worker error: {e}");
                std::process::exit(1);
            }
        }
        "enqueue" => enqueue(&o).await,
        "bulk" => bulk(&o).await,
        "drain" => drain(&o).await,
        "latency" => latency(&o).await,
        "prefill" => prefill_cmd(&o).await,
        "clean" => clean_cmd(&o).await,
        "sleepcal" => sleepcal(&o).await,
        "report" => report(&o),
        other => {
            eprintln!("unknown subcommand {other}");
            std::process::exit(2);
        }
    }
}
