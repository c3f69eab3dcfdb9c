//! The admin command (subcommands of the consumer binary) against a live consumer process, on
//! a private Redis and on a SQLite file: `status` lists the consumer and its in-flight task,
//! `pause` stops claims within a second and `resume` restarts them (the pause outliving a
//! consumer restart), a dead letter requeued from the command runs, and `dashboard` serves
//! the web dashboard.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use huey_core::{ConsumerInfo, Huey};
use huey_redis::RedisStorage;
use huey_sqlite::SqliteStorage;
use huey_tests::consumer_process::ConsumerProcess;
use huey_tests::redis_server::RedisServer;
use huey_tests::tasks::{add, byte_len, gated};
use huey_tests::temp::TempDir;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);
const EXE: &str = env!("CARGO_BIN_EXE_test_consumer");

/// Where a test's queue lives: a private Redis, or a SQLite file in a temporary folder.
enum Place {
    Redis(RedisServer),
    Sqlite { dir: TempDir, file: PathBuf },
}

impl Place {
    fn redis() -> Place {
        Place::Redis(RedisServer::start())
    }

    fn sqlite() -> Place {
        let dir = TempDir::new("admin");
        let file = dir.path().join("queue.db");
        Place::Sqlite { dir, file }
    }

    /// A producer's handle on queue `name`.
    async fn huey(&self, name: &str) -> Huey {
        match self {
            Place::Redis(server) => Huey::new(
                name,
                RedisStorage::connect(name, &server.url()).await.unwrap(),
            ),
            Place::Sqlite { file, .. } => {
                Huey::new(name, SqliteStorage::open(name, file).await.unwrap())
            }
        }
    }

    /// A consumer process on queue `name` with consumer flags `args` and environment `env`.
    fn consumer(&self, name: &str, args: &[&str], env: &[(&str, &str)]) -> ConsumerProcess {
        match self {
            Place::Redis(server) => ConsumerProcess::spawn_with(EXE, server, name, args, env),
            Place::Sqlite { dir, file } => {
                let log = dir.path().join(format!("consumer-{}.log", uuid_like()));
                ConsumerProcess::spawn_on_sqlite(
                    EXE,
                    file,
                    name,
                    args,
                    env,
                    File::create(log).unwrap(),
                )
            }
        }
    }

    /// Runs the admin command `args` on queue `name`, as an operator would.
    fn admin(&self, name: &str, args: &[&str]) -> Output {
        let mut command = Command::new(EXE);
        command.args(args).env("HUEY_TEST_NAME", name);
        match self {
            Place::Redis(server) => command
                .env("HUEY_REDIS_URL", server.url())
                .env_remove("HUEY_TEST_SQLITE"),
            Place::Sqlite { file, .. } => command.env("HUEY_TEST_SQLITE", file),
        };
        command.output().expect("run the admin command")
    }

    /// Runs `args` and returns what it printed, failing the test if it failed.
    fn admin_ok(&self, name: &str, args: &[&str]) -> String {
        let output = self.admin(name, args);
        assert!(
            output.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("text output")
    }

    /// `status --json`, parsed.
    fn status(&self, name: &str) -> Value {
        serde_json::from_str(&self.admin_ok(name, &["status", "--json"])).expect("status JSON")
    }
}

fn uuid_like() -> String {
    format!("{:?}", Instant::now()).replace(['.', ' '], "")
}

/// The consumers `status --json` lists, as the library reads them.
fn consumers(status: &Value) -> Vec<ConsumerInfo> {
    serde_json::from_value(status["consumers"].clone()).expect("consumer records")
}

/// Polls `status --json` until `ready` holds of it (a consumer publishes its record on
/// events of its own, which a test cannot await from outside the process).
fn status_until(place: &Place, name: &str, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
    status_within(place, name, what, WAIT, ready)
}

fn status_within(
    place: &Place,
    name: &str,
    what: &str,
    limit: Duration,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let status = place.status(name);
        if ready(&status) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "{what} within {limit:?}; last status: {status:#}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The one consumer of process `pid` in `status`, if it is listed.
fn consumer_of(status: &Value, pid: u32) -> Option<ConsumerInfo> {
    consumers(status).into_iter().find(|c| c.pid == pid)
}

async fn status_lists_the_consumer_and_its_in_flight_task(place: Place) {
    let name = "status";
    let huey = place.huey(name).await;
    // No periodic tasks: a tick at a minute's turn would be another in-flight task.
    let consumer = place.consumer(name, &["-w", "2", "-n"], &[]);
    let gate = "gate-status";
    let mut running = gated::enqueue(&huey, gate.into()).await.unwrap();
    let id = running.id().to_owned();

    let status = status_until(&place, name, "the task shows as in flight", |s| {
        consumer_of(s, consumer.pid()).is_some_and(|c| c.in_flight.iter().any(|t| t.id == id))
    });
    let info = consumer_of(&status, consumer.pid()).unwrap();
    assert_eq!((info.queue.as_str(), info.workers), (name, 2));
    assert_eq!(info.worker_kind, "async");
    assert!(!info.paused);
    assert!(info.heartbeat >= info.started_at);
    let task = info.in_flight.iter().find(|t| t.id == id).unwrap();
    assert_eq!(task.name, gated::NAME);
    assert_eq!(status["paused"], false);
    assert_eq!(
        status["pending"], 0,
        "the running task is claimed, not pending"
    );

    // The same in words.
    let text = place.admin_ok(name, &["status"]);
    assert!(text.contains(&info.id), "{text}");
    assert!(text.contains(&id) && text.contains(gated::NAME), "{text}");
    assert!(
        text.contains("2 async") && text.contains("claiming"),
        "{text}"
    );

    huey.put(gate, &true).await.unwrap();
    running.wait(WAIT).await.unwrap();
    status_until(&place, name, "the finished task leaves the record", |s| {
        consumer_of(s, consumer.pid()).is_some_and(|c| c.in_flight.is_empty())
    });

    // A clean stop removes the record at once, without waiting for it to go stale.
    consumer.signal("INT");
    assert!(consumer.wait().success());
    assert!(consumers(&place.status(name)).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn test_status_lists_the_consumer_and_its_in_flight_task_on_redis() {
    status_lists_the_consumer_and_its_in_flight_task(Place::redis()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn test_status_lists_the_consumer_and_its_in_flight_task_on_sqlite() {
    status_lists_the_consumer_and_its_in_flight_task(Place::sqlite()).await;
}

/// Waits until `pid`'s record has been published twice more (by its heartbeat) after now:
/// long enough for a consumer that would claim a waiting task to have claimed it several
/// times over.
fn two_heartbeats(place: &Place, name: &str, pid: u32) {
    let seen = |s: &Value| consumer_of(s, pid).map(|c| c.heartbeat);
    let first = seen(&place.status(name)).expect("the consumer is listed");
    let second = status_until(place, name, "a heartbeat", |s| {
        seen(s).is_some_and(|beat| beat > first)
    });
    let second = seen(&second).unwrap();
    status_until(place, name, "another heartbeat", |s| {
        seen(s).is_some_and(|beat| beat > second)
    });
}

async fn pause_stops_claims_and_resume_restarts_them(place: Place) {
    let name = "pausing";
    let huey = place.huey(name).await;
    // No periodic tasks: a tick at a minute's turn would add to the pending count.
    let consumer = place.consumer(name, &["-w", "2", "-n"], &[]);
    // The consumer is working before the pause.
    add::enqueue(&huey, 1, 1)
        .await
        .unwrap()
        .wait(WAIT)
        .await
        .unwrap();

    assert_eq!(place.admin_ok(name, &["pause"]), format!("paused {name}\n"));
    let paused_at = Instant::now();
    // The must-show: within a second the consumer has stopped claiming (it republishes its
    // record as soon as it sees the flag, which it reads every 200 ms).
    status_within(
        &place,
        name,
        "the consumer stops claiming",
        Duration::from_secs(1),
        |s| consumer_of(s, consumer.pid()).is_some_and(|c| c.paused),
    );
    let noticed = paused_at.elapsed();
    assert!(noticed <= Duration::from_secs(1), "{noticed:?}");
    assert_eq!(place.status(name)["paused"], true);

    let mut held = add::enqueue(&huey, 2, 3).await.unwrap();
    two_heartbeats(&place, name, consumer.pid());
    assert_eq!(
        huey.pending_count().await.unwrap(),
        1,
        "not claimed while paused"
    );
    assert_eq!(held.get().await.unwrap(), None);
    let pending = place.admin_ok(name, &["pending", "--json"]);
    let pending: Value = serde_json::from_str(&pending).unwrap();
    assert_eq!(pending[0]["id"], held.id());

    // The pause is kept in the storage: a consumer started now claims nothing either.
    consumer.signal("INT");
    assert!(consumer.wait().success());
    let consumer = place.consumer(name, &["-w", "2", "-n"], &[]);
    status_until(&place, name, "the new consumer reports the pause", |s| {
        consumer_of(s, consumer.pid()).is_some_and(|c| c.paused)
    });
    two_heartbeats(&place, name, consumer.pid());
    assert_eq!(
        huey.pending_count().await.unwrap(),
        1,
        "still paused after a restart"
    );

    assert_eq!(
        place.admin_ok(name, &["resume"]),
        format!("resumed {name}\n")
    );
    assert_eq!(held.wait(WAIT).await.unwrap(), 5, "runs once resumed");
    assert_eq!(place.status(name)["paused"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn test_pause_stops_claims_and_resume_restarts_them_on_redis() {
    pause_stops_claims_and_resume_restarts_them(Place::redis()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn test_pause_stops_claims_and_resume_restarts_them_on_sqlite() {
    pause_stops_claims_and_resume_restarts_them(Place::sqlite()).await;
}

async fn dead_letter_requeued_from_the_cli_runs(place: Place) {
    let name = "dead";
    let huey = place.huey(name).await;
    // A consumer that refuses messages over 64 bytes sets this one aside: it cannot run there.
    let strict = place.consumer(name, &[], &[("HUEY_TEST_MAX_MESSAGE_SIZE", "64")]);
    let mut long = byte_len::enqueue(&huey, "x".repeat(200)).await.unwrap();
    let task_id = long.id().to_owned();
    let deadline = Instant::now() + WAIT;
    while huey.dead_letter_count().await.unwrap() == 0 {
        assert!(Instant::now() < deadline, "the message is dead-lettered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    strict.signal("INT");
    assert!(strict.wait().success());

    let listed: Value =
        serde_json::from_str(&place.admin_ok(name, &["dead", "--json", "--task", byte_len::NAME]))
            .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed:#}");
    assert_eq!(listed[0]["task_id"], task_id.as_str());
    assert!(
        listed[0]["reason"]
            .as_str()
            .unwrap()
            .contains("over the limit"),
        "{listed:#}"
    );
    let dead_id = listed[0]["id"].as_str().unwrap().to_owned();

    // An unknown id is an error that changes nothing.
    let unknown = place.admin(name, &["dead", "requeue", "no-such-id", &dead_id]);
    assert!(!unknown.status.success());
    let message = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        message.contains("no dead letter has id \"no-such-id\""),
        "{message}"
    );
    assert_eq!(huey.dead_letter_count().await.unwrap(), 1);

    // Once a consumer that can run it is there, requeueing it (by its task's id) runs it.
    let _consumer = place.consumer(name, &[], &[]);
    let requeued = place.admin_ok(name, &["dead", "requeue", &task_id]);
    assert!(
        requeued.starts_with("requeued 1 dead letter(s)"),
        "{requeued}"
    );
    assert!(requeued.contains(&dead_id), "{requeued}");
    assert_eq!(long.wait(WAIT).await.unwrap(), 200);
    assert_eq!(huey.dead_letter_count().await.unwrap(), 0);
    assert_eq!(place.admin_ok(name, &["dead"]), "no dead letters\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn test_dead_letter_requeued_from_the_cli_runs_on_redis() {
    dead_letter_requeued_from_the_cli_runs(Place::redis()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn test_dead_letter_requeued_from_the_cli_runs_on_sqlite() {
    dead_letter_requeued_from_the_cli_runs(Place::sqlite()).await;
}

/// The listings' filters and the other commands, on a queue no consumer runs.
#[tokio::test(flavor = "multi_thread")]
async fn test_listings_filter_and_commands_act_on_redis() {
    let place = Place::redis();
    let name = "listing";
    let huey = place.huey(name).await;
    let first = add::enqueue(&huey, 40, 2).await.unwrap();
    let _second = byte_len::enqueue(&huey, "needle in a haystack".into())
        .await
        .unwrap();
    // Straight to the schedule, as a consumer puts a delayed task there.
    let later = add::call(1, 2)
        .delay(Duration::from_secs(3600))
        .into_message()
        .unwrap();
    let eta = later.eta.unwrap();
    huey.storage()
        .add_to_schedule(huey.encode_message(&later), eta, 0)
        .await
        .unwrap();

    let ids = |args: &[&str]| -> Vec<String> {
        let json: Value = serde_json::from_str(&place.admin_ok(name, args)).unwrap();
        json.as_array()
            .unwrap()
            .iter()
            .map(|row| row["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&["pending", "--json"]).len(), 2);
    assert_eq!(
        ids(&["pending", "--json", "--task", add::NAME]),
        [first.id()]
    );
    assert_eq!(
        ids(&["pending", "--json", "--id", first.id()]),
        [first.id()]
    );
    assert_eq!(ids(&["pending", "--json", "--search", "NEEDLE"]).len(), 1);
    assert!(ids(&["pending", "--json", "--search", "absent"]).is_empty());
    assert_eq!(ids(&["scheduled", "--json"]).len(), 1);
    let text = place.admin_ok(name, &["pending", "--task", add::NAME]);
    assert!(text.starts_with("ID ") && text.contains("[40,2]"), "{text}");

    place.admin_ok(name, &["revoke", "--id", first.id()]);
    assert!(huey.is_revoked_by_id(first.id()).await.unwrap());
    place.admin_ok(name, &["restore", "--id", first.id()]);
    assert!(!huey.is_revoked_by_id(first.id()).await.unwrap());
    place.admin_ok(name, &["revoke", "--task", add::NAME]);
    assert!(huey.is_revoked_all(add::NAME).await.unwrap());
    place.admin_ok(name, &["restore", "--task", add::NAME]);
    let refused = place.admin(name, &["revoke", "--task", "nobody::registered"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no task is registered"));

    let unconfirmed = place.admin(name, &["flush"]);
    assert!(!unconfirmed.status.success(), "a flush needs --yes");
    assert_eq!(huey.pending_count().await.unwrap(), 2);
    place.admin_ok(name, &["flush", "--yes"]);
    assert_eq!(huey.pending_count().await.unwrap(), 0);
    assert_eq!(huey.scheduled_count().await.unwrap(), 0);
}

/// `top` redraws the status until Ctrl-C (SIGINT), then exits 0.
#[tokio::test(flavor = "multi_thread")]
async fn test_top_refreshes_until_interrupted_on_redis() {
    use std::io::{BufRead, BufReader};
    let place = Place::redis();
    let Place::Redis(server) = &place else {
        unreachable!("a Redis place")
    };
    let name = "top";
    add::enqueue(&place.huey(name).await, 1, 2).await.unwrap();
    let mut top = Command::new(EXE)
        .args(["top", "--interval", "0.1"])
        .env("HUEY_TEST_NAME", name)
        .env("HUEY_REDIS_URL", server.url())
        .env_remove("HUEY_TEST_SQLITE")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(top.stdout.take().unwrap()).lines();
    let mut screens = 0;
    while screens < 3 {
        let line = lines.next().expect("top keeps printing").unwrap();
        if line.contains("\u{1b}[2J") {
            assert!(line.ends_with(&format!("queue         {name}")), "{line:?}");
            screens += 1;
        }
        if line.starts_with("pending") {
            assert_eq!(line, "pending       1");
        }
    }
    let interrupted = Command::new("kill")
        .args(["-INT", &top.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    assert!(top.wait().unwrap().success(), "Ctrl-C ends top cleanly");
}

/// `stats` reads what a consumer process counted: the executions by task, after it stops.
#[tokio::test(flavor = "multi_thread")]
async fn test_stats_shows_what_a_consumer_ran_on_sqlite() {
    let place = Place::sqlite();
    let name = "stats";
    let huey = place.huey(name).await;
    let consumer = place.consumer(name, &["-n"], &[]);
    for n in 0..4 {
        assert_eq!(
            add::enqueue(&huey, n, 1)
                .await
                .unwrap()
                .wait(WAIT)
                .await
                .unwrap(),
            n + 1
        );
    }
    consumer.signal("INT");
    assert!(consumer.wait().success());

    let rows: Value = serde_json::from_str(&place.admin_ok(name, &["stats", "--json"])).unwrap();
    let completed: u64 = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["task"] == add::NAME && row["outcome"] == "complete")
        .map(|row| row["count"].as_u64().unwrap())
        .sum();
    assert_eq!(completed, 4, "{rows:#}");
    let text = place.admin_ok(name, &["stats", "--task", add::NAME]);
    let line = text
        .lines()
        .find(|line| line.starts_with(add::NAME))
        .unwrap_or_else(|| panic!("no line for the task: {text}"));
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(cells[1..4], ["4", "4", "0"], "{text}");
}

/// One HTTP/1.1 request to `address`; the response's status line and body.
fn http(address: &str, request: &str) -> (String, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.lines().next().unwrap_or_default().to_owned();
    (status, body.to_owned())
}

/// `dashboard --read-only` serves the web dashboard of the binary's queue, refuses actions,
/// and stops cleanly on Ctrl-C (SIGINT).
#[tokio::test(flavor = "multi_thread")]
async fn test_dashboard_serves_the_queue_read_only_until_interrupted_on_sqlite() {
    use std::io::{BufRead, BufReader};
    let place = Place::sqlite();
    let Place::Sqlite { file, .. } = &place else {
        unreachable!("a SQLite place")
    };
    let name = "dashboard";
    let queued = add::enqueue(&place.huey(name).await, 40, 2).await.unwrap();
    let mut dashboard = Command::new(EXE)
        .args(["dashboard", "--listen", "127.0.0.1:0", "--read-only"])
        .env("HUEY_TEST_NAME", name)
        .env("HUEY_TEST_SQLITE", file)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(dashboard.stdout.take().unwrap()).lines();
    let banner = lines.next().expect("the address is printed").unwrap();
    let address = banner
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("an address in {banner:?}"))
        .to_owned();
    assert!(banner.contains("(read-only)"), "{banner}");

    let get = |path: &str| {
        http(
            &address,
            &format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"),
        )
    };
    let (status, page) = get("/queues/pending");
    assert!(status.contains("200"), "{status}");
    assert!(
        page.contains(queued.id()),
        "the queued task is listed: {page}"
    );
    assert!(page.contains("read-only"), "{page}");
    let (status, _) = http(
        &address,
        &format!(
            "POST /actions/pause HTTP/1.1\r\nHost: {address}\r\nX-Huey-Dashboard: 1\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n"
        ),
    );
    assert!(status.contains("403"), "{status}");
    assert!(!place.huey(name).await.is_paused().await.unwrap());

    let interrupted = Command::new("kill")
        .args(["-INT", &dashboard.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    assert!(
        dashboard.wait().unwrap().success(),
        "Ctrl-C stops it cleanly"
    );
}
