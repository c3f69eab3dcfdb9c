//! The dashboard on a storage that fails: its pages are error pages (status 500, naming the
//! cause) rather than a panic, its live stream reports the failure and goes on, and its
//! assets still serve.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use huey_core::Huey;
use huey_dashboard::Dashboard;
use huey_sqlite::SqliteStorage;
use huey_tests::tasks::add;
use huey_tests::temp::TempDir;
use tower::ServiceExt;

async fn get(app: &axum::Router, path: &str) -> (StatusCode, String) {
    let request = Request::get(path).body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn test_a_failing_storage_shows_error_pages_not_a_panic() {
    let dir = TempDir::new("dashboard-error");
    let file = dir.path().join("queue.db");
    let name = "dashboard-error";
    let huey = Huey::new(name, SqliteStorage::open(name, &file).await.unwrap());
    add::enqueue(&huey, 1, 2).await.unwrap();
    let app: axum::Router = Dashboard::new(huey.clone()).router();
    assert_eq!(get(&app, "/queues/pending").await.0, StatusCode::OK);

    // Someone drops the queue's tables from under it.
    let pool =
        sqlx::SqlitePool::connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(&file))
            .await
            .unwrap();
    for table in ["huey_queue", "huey_dead"] {
        sqlx::query(&format!("DROP TABLE {table}"))
            .execute(&pool)
            .await
            .unwrap();
    }
    for path in ["/", "/queues/pending", "/dead", "/tasks/some-id"] {
        let (status, page) = get(&app, path).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{path}: {page}");
        assert!(
            page.contains("the queue's storage failed"),
            "{path}: {page}"
        );
        assert!(
            page.contains("huey_queue") || page.contains("huey_dead"),
            "the cause is named: {page}"
        );
    }
    let (status, _) = get(&app, "/assets/dashboard.css").await;
    assert_eq!(status, StatusCode::OK, "the rest still serves");

    // The overview's live stream says what failed, and goes on.
    let request = Request::get("/events").body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut events = response.into_body().into_data_stream();
    for _ in 0..2 {
        let chunk = futures::StreamExt::next(&mut events)
            .await
            .unwrap()
            .unwrap();
        let text = String::from_utf8_lossy(&chunk);
        assert!(text.contains("event: storage-error"), "{text}");
        assert!(text.contains("huey_queue"), "{text}");
    }
}
