//! The dashboard's HTTP contract, without a browser: mounted under a prefix behind an auth
//! layer, its links and redirects keep the prefix; actions refuse requests from other sites
//! and, in read-only mode, every request; task arguments are escaped; unknown pages are 404
//! pages.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use huey_core::prelude::*;
use huey_dashboard::Dashboard;
use tower::ServiceExt;

#[task]
fn greet(name: String) -> String {
    format!("hello {name}")
}

/// "admin:secret" in base64, for the basic-auth header.
const CREDENTIALS: &str = "Basic YWRtaW46c2VjcmV0";

/// The application's auth, as the README's example has it: operators only.
async fn operators_only(request: Request<Body>, next: Next) -> Response {
    match request.headers().get(header::AUTHORIZATION) {
        Some(given) if given == CREDENTIALS => next.run(request).await,
        _ => StatusCode::UNAUTHORIZED.into_response(),
    }
}

/// The dashboard of `huey` as the README mounts it: under `/ops/queue`, behind auth.
fn app(huey: &Huey, read_only: bool) -> Router {
    let dashboard = Dashboard::new(huey.clone())
        .read_only(read_only)
        .router()
        .layer(middleware::from_fn(operators_only));
    Router::new().nest("/ops/queue", dashboard)
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, Option<String>, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, location, String::from_utf8(body.to_vec()).unwrap())
}

fn get(path: &str) -> Request<Body> {
    Request::get(path)
        .header(header::AUTHORIZATION, CREDENTIALS)
        .body(Body::empty())
        .unwrap()
}

fn post(path: &str, headers: &[(&str, &str)], form: &str) -> Request<Body> {
    let mut request = Request::post(path)
        .header(header::AUTHORIZATION, CREDENTIALS)
        .header(header::HOST, "dash.example")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(Body::from(form.to_owned())).unwrap()
}

#[tokio::test]
async fn test_mounted_behind_auth_its_pages_and_links_keep_the_prefix() {
    let huey = Huey::memory("http-mount");
    let app = app(&huey, false);
    let anonymous = Request::get("/ops/queue").body(Body::empty()).unwrap();
    assert_eq!(send(&app, anonymous).await.0, StatusCode::UNAUTHORIZED);

    let (status, _, page) = send(&app, get("/ops/queue")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains(r#"href="/ops/queue/assets/dashboard.css""#),
        "{page}"
    );
    assert!(page.contains(r#"href="/ops/queue/dead""#), "{page}");
    assert!(
        page.contains(r#"action="/ops/queue/actions/pause""#),
        "{page}"
    );
    for path in [
        "/consumers",
        "/queues/pending",
        "/queues/scheduled",
        "/dead",
        "/periodic",
    ] {
        let (status, _, page) = send(&app, get(&format!("/ops/queue{path}"))).await;
        assert_eq!(status, StatusCode::OK, "{path}: {page}");
    }
    let (status, _, css) = send(&app, get("/ops/queue/assets/dashboard.css")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(css.contains(".topbar"), "the stylesheet is embedded");
}

#[tokio::test]
async fn test_task_arguments_are_escaped() {
    let huey = Huey::memory("http-escape");
    let hostile = greet::enqueue(&huey, "<script>alert('x')</script>".into())
        .await
        .unwrap();
    let app = app(&huey, false);
    for path in [
        "/ops/queue/queues/pending".to_owned(),
        format!("/ops/queue/tasks/{}", hostile.id()),
    ] {
        let (status, _, page) = send(&app, get(&path)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(page.contains("&lt;script&gt;alert("), "{path}: {page}");
        assert!(!page.contains("<script>alert"), "{path}: {page}");
    }
}

#[tokio::test]
async fn test_actions_from_other_sites_are_refused_and_redirects_stay_inside() {
    let huey = Huey::memory("http-csrf");
    let app = app(&huey, false);
    for headers in [
        &[("origin", "https://evil.example")][..],
        &[
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://dash.example"),
        ][..],
        &[][..], // neither header, and no X-Huey-Dashboard
    ] {
        let (status, _, page) = send(&app, post("/ops/queue/actions/pause", headers, "")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{headers:?}");
        assert!(page.contains("did not come from the dashboard"), "{page}");
    }
    assert!(!huey.is_paused().await.unwrap());

    // The dashboard's own form, then a script's request.
    let form = "return_to=%2Fdead%3Fq%3Dtimeout";
    let same_site = [("origin", "http://dash.example")];
    let (status, location, _) =
        send(&app, post("/ops/queue/actions/pause", &same_site, form)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.unwrap();
    assert!(
        location.starts_with("/ops/queue/dead?q=timeout&notice=Paused"),
        "{location}"
    );
    assert!(huey.is_paused().await.unwrap());
    let script = [("x-huey-dashboard", "1")];
    let evil_return = "return_to=%2F%2Fevil.example%2F";
    let (status, location, _) = send(
        &app,
        post("/ops/queue/actions/resume", &script, evil_return),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.unwrap();
    assert!(
        location.starts_with("/ops/queue?notice="),
        "never elsewhere: {location}"
    );
    assert!(!huey.is_paused().await.unwrap());

    let (status, _, page) = send(&app, post("/ops/queue/actions/revoke", &script, "")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("give one of id and task"), "{page}");
}

#[tokio::test]
async fn test_read_only_refuses_every_action() {
    let huey = Huey::memory("http-read-only");
    let pending = greet::enqueue(&huey, "ann".into()).await.unwrap();
    let app = app(&huey, true);
    let script = [("x-huey-dashboard", "1")];
    let revoke = format!("id={}", pending.id());
    for (path, form) in [
        ("pause", ""),
        ("resume", ""),
        ("revoke", revoke.as_str()),
        ("restore", revoke.as_str()),
        ("dead", "do=delete-matching"),
    ] {
        let (status, _, page) = send(
            &app,
            post(&format!("/ops/queue/actions/{path}"), &script, form),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.contains("read-only"), "{page}");
    }
    assert!(!huey.is_paused().await.unwrap());
    assert!(!huey.is_revoked_by_id(pending.id()).await.unwrap());
}

#[tokio::test]
async fn test_unknown_things_are_404_pages() {
    let huey = Huey::memory("http-404");
    let app = app(&huey, false);
    let (status, _, page) = send(&app, get("/ops/queue/tasks/no-such-task")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("Nothing holds a task with this id"), "{page}");
    assert!(
        page.contains(r#"class="topbar""#),
        "a whole page, with its navigation"
    );
    let (status, _, page) = send(&app, get("/ops/queue/queues/elsewhere")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("no queue listing is called"), "{page}");
    let (status, _, _) = send(&app, get("/ops/queue/assets/missing.js")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn test_revoke_and_restore_a_task_and_a_task_name() {
    let huey = Huey::memory("http-revoke");
    let pending = greet::enqueue(&huey, "ann".into()).await.unwrap();
    let app = app(&huey, false);
    let script = [("x-huey-dashboard", "1")];
    let by_id = format!("id={}&return_to=%2Ftasks%2F{}", pending.id(), pending.id());
    let (status, location, _) =
        send(&app, post("/ops/queue/actions/revoke", &script, &by_id)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.unwrap().contains("notice=Revoked+task"));
    assert!(huey.is_revoked_by_id(pending.id()).await.unwrap());
    let (_, _, page) = send(&app, get(&format!("/ops/queue/tasks/{}", pending.id()))).await;
    assert!(page.contains("revoked"), "{page}");
    assert!(
        page.contains(r#"action="/ops/queue/actions/restore""#),
        "{page}"
    );
    send(&app, post("/ops/queue/actions/restore", &script, &by_id)).await;
    assert!(!huey.is_revoked_by_id(pending.id()).await.unwrap());

    let by_name = format!("task={}", greet::NAME);
    send(&app, post("/ops/queue/actions/revoke", &script, &by_name)).await;
    assert!(huey.is_revoked_all(greet::NAME).await.unwrap());
    let (_, location, _) = send(&app, post("/ops/queue/actions/restore", &script, &by_name)).await;
    assert!(location.unwrap().contains("notice=Restored+every"));
    assert!(!huey.is_revoked_all(greet::NAME).await.unwrap());
}

#[tokio::test]
async fn test_dead_letters_matching_a_search_are_requeued_together() {
    let huey = Huey::memory("http-dead");
    for junk in ["junk: timeout", "junk: other"] {
        huey.storage()
            .enqueue(junk.as_bytes().to_vec(), 0)
            .await
            .unwrap();
        huey.run_next(&WorkerState::default()).await.unwrap();
    }
    assert_eq!(huey.dead_letter_count().await.unwrap(), 2);
    let app = app(&huey, false);
    let script = [("x-huey-dashboard", "1")];
    // Every dead letter's reason says "malformed message"; one search matches both.
    let (_, location, _) = send(
        &app,
        post(
            "/ops/queue/actions/dead",
            &script,
            "do=requeue-matching&q=MALFORMED",
        ),
    )
    .await;
    assert!(location.unwrap().contains("notice=Requeued+2+dead"));
    assert_eq!(huey.dead_letter_count().await.unwrap(), 0);
    assert_eq!(huey.pending_count().await.unwrap(), 2);
    for _ in 0..2 {
        huey.run_next(&WorkerState::default()).await.unwrap();
    }
    // A search that matches nothing touches nothing.
    let (_, location, _) = send(
        &app,
        post(
            "/ops/queue/actions/dead",
            &script,
            "do=delete-matching&q=no+such+reason",
        ),
    )
    .await;
    assert!(location.unwrap().contains("notice=Nothing+was+selected"));
    assert_eq!(huey.dead_letter_count().await.unwrap(), 2);
    let (status, _, page) = send(
        &app,
        post("/ops/queue/actions/dead", &script, "do=explode-all"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
}
