//! The dashboard in a real headless Chromium, driven over WebDriver (chromedriver, started on
//! a free port for each test and stopped after it): the overview updates while tasks run, a
//! dead letter requeued from its page runs, pause and resume work from the page, the search
//! finds a pending task by id and by argument text, and a read-only dashboard shows no action.
//!
//! Each test serves the dashboard nested under `/admin`, as an application mounts it, over an
//! in-memory queue with a consumer of its own. With `HUEY_SCREENSHOTS=1` the tests write
//! screenshots of the main pages to `huey-dashboard/screenshots/` (the README shows them).
//!
//! They need Debian's `chromium` and `chromium-driver` (`.ci/run` installs them).

use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use huey_core::prelude::*;
use huey_dashboard::Dashboard;
use serde_json::json;
use tokio::process::{Child, Command};

const WAIT: Duration = Duration::from_secs(20);

/// Runs until the test stores a value under `gate`, reporting its progress.
#[task(context)]
async fn import(task: &Task, queue: State<Huey>, gate: String, batch: u32) -> anyhow::Result<u32> {
    task.report_progress(0.4, format!("batch {batch}: page 2 of 5"));
    while queue.peek::<bool>(&gate).await?.is_none() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(batch)
}

/// A task whose arguments the search looks into.
#[task]
fn send_mail(to: String, subject: String) -> usize {
    to.len() + subject.len()
}

/// A periodic task, for the periodic page (consumers here run without periodic tasks).
#[periodic_task(crontab(minute = "30", hour = "3"))]
fn nightly_cleanup() {}

/// Serialises the tests: each drives a browser, and the machine is small.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A chromedriver and a headless Chromium session on it.
struct Browser {
    client: Client,
    driver: Child,
}

impl Browser {
    async fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = match Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
        {
            Ok(child) => child,
            Err(error) => panic!(
                "cannot start chromedriver ({error}): the browser tests need Chromium and its \
                 driver; install them with `apt-get install -y chromium chromium-driver` (.ci/run does)"
            ),
        };
        let deadline = Instant::now() + WAIT;
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "chromedriver listens on port {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let capabilities = json!({
            "goog:chromeOptions": {
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,860"]
            }
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("an object literal")
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session (is the `chromium` package installed?)");
        Browser { client, driver }
    }

    async fn stop(mut self) {
        self.client.close().await.expect("the session closes");
        self.driver.kill().await.expect("chromedriver stops");
    }

    async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} is on the page: {e}"))
            .text()
            .await
            .unwrap()
    }

    /// Waits until the element `css` reads `want`.
    async fn wait_text(&self, css: &str, want: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let seen = match self.client.find(Locator::Css(css)).await {
                Ok(element) => element.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if seen == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{css} reads {want:?}; it reads {seen:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} is on the page: {e}"))
            .click()
            .await
            .unwrap();
    }

    async fn count(&self, css: &str) -> usize {
        self.client.find_all(Locator::Css(css)).await.unwrap().len()
    }

    async fn body(&self) -> String {
        self.text("body").await
    }

    /// Writes a screenshot of the page to `screenshots/{name}.png` when HUEY_SCREENSHOTS=1.
    async fn screenshot(&self, name: &str) {
        if std::env::var_os("HUEY_SCREENSHOTS").is_none_or(|v| v != "1") {
            return;
        }
        let png = self.client.screenshot().await.unwrap();
        let path = format!("{}/screenshots/{name}.png", env!("CARGO_MANIFEST_DIR"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
    }
}

/// Serves `dashboard` nested under `/admin` on a free port; returns its address.
async fn serve(dashboard: Dashboard) -> String {
    let app: axum::Router = axum::Router::new().nest("/admin", dashboard.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}/admin")
}

fn consumer(huey: &Huey, workers: usize) -> Consumer {
    Consumer::builder(huey)
        .workers(workers)
        .periodic(false)
        .start()
        .unwrap()
}

async fn until<F: AsyncFnMut() -> bool>(what: &str, mut condition: F) {
    let deadline = Instant::now() + WAIT;
    while !condition().await {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_the_overview_updates_while_tasks_run_without_a_reload() {
    let _one = ONE_AT_A_TIME.lock().await;
    let huey = Huey::memory("live");
    let mut handles = Vec::new();
    for batch in 1..=3 {
        handles.push(import::enqueue(&huey, "gate".into(), batch).await.unwrap());
    }
    send_mail::enqueue(&huey, "ops@example.com".into(), "weekly report".into())
        .await
        .unwrap();
    let url = serve(Dashboard::new(huey.clone()).refresh(Duration::from_millis(200))).await;
    let browser = Browser::start().await;
    browser.client.goto(&url).await.unwrap();
    browser.wait_text("[data-field=pending]", "4").await;
    browser.wait_text("[data-field=running]", "0").await;
    // A reload would lose this.
    browser
        .client
        .execute("window.stillThisPage = true;", vec![])
        .await
        .unwrap();

    let consumer = consumer(&huey, 2);
    browser.wait_text("[data-field=running]", "2").await;
    browser.wait_text("[data-field=consumers]", "1").await;
    let same = browser
        .client
        .execute("return window.stillThisPage === true;", vec![])
        .await
        .unwrap();
    assert_eq!(same, json!(true), "the numbers changed without a reload");
    // The chart has drawn the samples so far.
    assert!(browser.count("#chart-depth polyline").await >= 4);

    browser
        .client
        .goto(&format!("{url}/consumers"))
        .await
        .unwrap();
    let page = browser.body().await;
    assert!(
        page.contains("batch 1: page 2 of 5") || page.contains("batch 2: page 2 of 5"),
        "{page}"
    );
    assert!(page.contains("40%"), "{page}");
    assert_eq!(browser.count("table tbody tr").await, 2, "two workers busy");
    browser.screenshot("consumers").await;

    huey.put("gate", &true).await.unwrap();
    for handle in &mut handles {
        handle.wait(WAIT).await.unwrap();
    }
    // The stats history the consumer keeps (it adds to it every 2 s) reaches the charts.
    browser.client.goto(&url).await.unwrap();
    browser.wait_text("[data-field=executions]", "4").await;
    let legend = browser.text("[data-legend=chart-throughput]").await;
    assert_eq!(legend, "complete", "four executions, all complete");
    assert!(
        browser
            .count("#chart-throughput polyline, #chart-throughput circle")
            .await
            >= 1
    );
    assert!(
        browser
            .count("#chart-latency polyline, #chart-latency circle")
            .await
            >= 2
    );
    browser.screenshot("overview").await;
    consumer.shutdown().await.unwrap();
    browser.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_a_dead_letter_requeued_from_its_page_runs() {
    let _one = ONE_AT_A_TIME.lock().await;
    let storage: Arc<dyn huey_core::Storage> = Arc::new(huey_core::MemoryStorage::new());
    let huey = Huey::builder("dead").build_shared(storage.clone());
    // A consumer configured with a small message limit sets the long message aside.
    let strict = Huey::builder("dead")
        .max_message_size(Some(64))
        .build_shared(storage.clone());
    let mut long = send_mail::enqueue(&huey, "<script>alert(1)</script>".into(), "x".repeat(40))
        .await
        .unwrap();
    storage
        .enqueue(b"{not a message".to_vec(), 0)
        .await
        .unwrap();
    for _ in 0..2 {
        strict.run_next(&WorkerState::default()).await.unwrap();
    }
    assert_eq!(huey.dead_letter_count().await.unwrap(), 2);

    let url = serve(Dashboard::new(huey.clone())).await;
    let browser = Browser::start().await;
    browser.client.goto(&format!("{url}/dead")).await.unwrap();
    assert_eq!(browser.count("tbody tr").await, 2);
    let page = browser.body().await;
    assert!(page.contains("over the limit"), "{page}");
    assert!(page.contains("malformed message"), "{page}");
    assert!(
        page.contains("<script>alert(1)</script>"),
        "arguments show as text: {page}"
    );
    browser.screenshot("dead-letters").await;

    // The long message's page, from its row.
    browser
        .click(&format!("a[href='/admin/tasks/{}']", long.id()))
        .await;
    browser.wait_text("[data-field=state]", "DEAD LETTER").await;
    browser.screenshot("task").await;
    let _consumer = consumer(&huey, 1);
    browser
        .click("form[action='/admin/actions/dead'] button")
        .await;
    browser
        .wait_text(".notice", "Requeued 1 dead letter(s).")
        .await;
    assert_eq!(long.wait(WAIT).await.unwrap(), 25 + 40, "it ran");

    // The other one, selected on the list and deleted (after the confirmation).
    browser.client.goto(&format!("{url}/dead")).await.unwrap();
    assert_eq!(browser.count("tbody tr").await, 1);
    browser.click("tbody input[type=checkbox]").await;
    browser.click("button[value=delete-selected]").await;
    browser.client.accept_alert().await.unwrap();
    browser
        .wait_text(".notice", "Deleted 1 dead letter(s).")
        .await;
    assert_eq!(huey.dead_letter_count().await.unwrap(), 0);
    browser.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_pause_and_resume_work_from_the_page() {
    let _one = ONE_AT_A_TIME.lock().await;
    let huey = Huey::memory("pause");
    let consumer = consumer(&huey, 1);
    let url = serve(Dashboard::new(huey.clone()).refresh(Duration::from_millis(200))).await;
    let browser = Browser::start().await;
    browser.client.goto(&url).await.unwrap();
    browser.wait_text("[data-field=consumers]", "1").await;

    browser
        .click("form[action='/admin/actions/pause'] button")
        .await;
    browser
        .wait_text("[data-field=paused-badge]", "PAUSED")
        .await;
    assert!(
        browser
            .text(".notice")
            .await
            .starts_with("Paused the queue")
    );
    assert!(huey.is_paused().await.unwrap());
    until("the consumer reports the pause", async || {
        huey.consumers().await.unwrap().iter().all(|c| c.paused)
    })
    .await;
    let mut mail = send_mail::enqueue(&huey, "a@example.com".into(), "hi".into())
        .await
        .unwrap();
    browser.wait_text("[data-field=pending]", "1").await;
    assert_eq!(
        mail.get().await.unwrap(),
        None,
        "a paused queue runs nothing"
    );

    browser
        .click("form[action='/admin/actions/resume'] button")
        .await;
    browser
        .wait_text("[data-field=paused-badge]", "RUNNING")
        .await;
    assert!(!huey.is_paused().await.unwrap());
    assert_eq!(mail.wait(WAIT).await.unwrap(), 15, "resumed, it runs");
    browser.wait_text("[data-field=pending]", "0").await;
    consumer.shutdown().await.unwrap();
    browser.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_searching_finds_a_pending_task_by_id_and_by_argument_text() {
    let _one = ONE_AT_A_TIME.lock().await;
    let huey = Huey::memory("search");
    let bob = send_mail::enqueue(&huey, "bob@example.com".into(), "invoice 7".into())
        .await
        .unwrap();
    for i in 0..60 {
        send_mail::enqueue(&huey, format!("user{i}@example.org"), "newsletter".into())
            .await
            .unwrap();
    }
    let alice = send_mail::enqueue(&huey, "alice@example.com".into(), "welcome".into())
        .await
        .unwrap();
    let url = serve(Dashboard::new(huey.clone())).await;
    let browser = Browser::start().await;
    browser
        .client
        .goto(&format!("{url}/queues/pending"))
        .await
        .unwrap();
    assert_eq!(browser.count("tbody tr").await, 50, "a page at a time");
    assert!(browser.text(".pager").await.contains("page 1 of 2"));
    browser.screenshot("queue").await;
    browser.click(".pager a[rel=next]").await;
    browser
        .wait_text(".pager span", "51–62 of 62 · page 2 of 2")
        .await;

    // By argument text, ignoring case.
    browser
        .client
        .goto(&format!("{url}/queues/pending"))
        .await
        .unwrap();
    let search = browser
        .client
        .find(Locator::Css("input[name=q]"))
        .await
        .unwrap();
    search.send_keys("BOB@EXAMPLE").await.unwrap();
    browser.click("form.search button[type=submit]").await;
    browser
        .wait_text(".pager span", "1–1 of 1 · page 1 of 1")
        .await;
    assert!(browser.text("tbody").await.contains("bob@example.com"));
    assert_eq!(
        browser
            .count(&format!("tbody a[href='/admin/tasks/{}']", bob.id()))
            .await,
        1
    );

    // By id.
    browser.click("a.button.secondary").await; // Clear
    let id = browser
        .client
        .find(Locator::Css("input[name=id]"))
        .await
        .unwrap();
    id.send_keys(alice.id()).await.unwrap();
    browser.click("form.search button[type=submit]").await;
    browser
        .wait_text(".pager span", "1–1 of 1 · page 1 of 1")
        .await;
    assert!(browser.text("tbody").await.contains("alice@example.com"));
    browser
        .click(&format!("tbody a[href='/admin/tasks/{}']", alice.id()))
        .await;
    browser.wait_text("[data-field=state]", "PENDING").await;
    assert!(
        browser
            .text("pre.json")
            .await
            .contains("\"alice@example.com\"")
    );

    browser
        .client
        .goto(&format!("{url}/periodic"))
        .await
        .unwrap();
    let page = browser.body().await;
    assert!(page.contains("nightly_cleanup"), "{page}");
    assert!(
        page.contains("03:30:00"),
        "the next run, at 03:30 UTC: {page}"
    );
    browser.screenshot("periodic").await;
    browser.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_a_read_only_dashboard_shows_no_action_and_refuses_them() {
    let _one = ONE_AT_A_TIME.lock().await;
    let huey = Huey::memory("read-only");
    huey.storage().enqueue(b"junk".to_vec(), 0).await.unwrap();
    huey.run_next(&WorkerState::default()).await.unwrap(); // the junk: a dead letter
    let mail = send_mail::enqueue(&huey, "a@example.com".into(), "hi".into())
        .await
        .unwrap();
    let url = serve(Dashboard::new(huey.clone()).read_only(true)).await;
    let browser = Browser::start().await;
    for page in [
        String::new(), // the overview
        "/consumers".into(),
        "/queues/pending".into(),
        format!("/tasks/{}", mail.id()),
        "/dead".into(),
        "/periodic".into(),
    ] {
        browser.client.goto(&format!("{url}{page}")).await.unwrap();
        assert!(
            browser
                .text(".topbar")
                .await
                .to_lowercase()
                .contains("read-only"),
            "{page} says so"
        );
        assert_eq!(
            browser.count("form[method=post]").await,
            0,
            "{page} has no action"
        );
        assert_eq!(
            browser.count("input[type=checkbox]").await,
            0,
            "{page} selects nothing"
        );
    }
    // The page's own script cannot act either.
    let status = browser
        .client
        .execute_async(
            "const done = arguments[0];
             fetch(document.body.dataset.base + '/actions/pause', {method: 'POST'})
               .then((r) => done(r.status));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(status, json!(403));
    assert!(!huey.is_paused().await.unwrap());
    assert_eq!(huey.dead_letter_count().await.unwrap(), 1);
    assert_eq!(huey.pending_count().await.unwrap(), 1);
    browser.stop().await;
}
