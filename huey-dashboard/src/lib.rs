//! # huey-dashboard
//!
//! A web dashboard for a huey-rs queue, in the spirit of Sidekiq's Web UI and Oban Web: an
//! [axum] router that an application mounts behind its own authentication, or that
//! `huey-cli`'s `dashboard` subcommand serves on its own.
//!
//! Its pages are rendered on the server; a small script embedded with them (like the
//! stylesheet, it is compiled into the binary: the dashboard loads nothing from the network)
//! keeps the overview live over server-sent events.
//!
//! - **Overview** (`/`): pending, scheduled, running, dead letters, stored results, live
//!   consumers and workers, paused or not, and a chart of the depths, updated every second.
//! - **Consumers** (`/consumers`): each live consumer, and what each worker runs, for how
//!   long and how far along ([`Task::report_progress`](huey_core::Task::report_progress)).
//! - **Queues** (`/queues/pending`, `/queues/scheduled`): searchable by task name, id or
//!   argument text, a page of 50 at a time.
//! - **A task** (`/tasks/{id}`): where it is, its arguments, attempts, and its result or failure.
//! - **Dead letters** (`/dead`): their reasons; requeue or delete one, a selection, or every
//!   one a search matches.
//! - **Periodic tasks** (`/periodic`): schedules and next runs.
//! - **Actions**: pause and resume the queue, revoke and restore a task or a task name.
//!
//! A [read-only](Dashboard::read_only) dashboard shows no action and refuses every action
//! request with 403 Forbidden. Actions are POSTs that must come from the dashboard's own pages
//! (a cross-site request forgery guard; see [`Dashboard::router`]).
//!
//! The dashboard does no authentication of its own: mount it behind the application's.
//!
//! ```no_run
//! use axum::Router;
//! use axum::extract::Request;
//! use axum::http::{StatusCode, header};
//! use axum::middleware::{self, Next};
//! use axum::response::{IntoResponse, Response};
//! use huey_core::Huey;
//! use huey_dashboard::Dashboard;
//!
//! /// The application's own check (a session, a token, basic auth against its user store...).
//! async fn operators_only(request: Request, next: Next) -> Response {
//!     let token = request.headers().get(header::AUTHORIZATION);
//!     if token.is_some_and(|t| t == "Bearer let-me-in") {
//!         next.run(request).await
//!     } else {
//!         StatusCode::UNAUTHORIZED.into_response()
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let huey = Huey::memory("my-app"); // the application's queue
//! let dashboard = Dashboard::new(huey)
//!     .read_only(false)
//!     .router()
//!     .layer(middleware::from_fn(operators_only)); // every dashboard request passes it
//! let app: Router = Router::new().nest("/admin/queue", dashboard);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await
//! # }
//! ```
//!
//! Any tower layer does as well as the middleware (tower-http's `ValidateRequestHeaderLayer`,
//! an OAuth proxy's). The overview is then at `/admin/queue` (axum's nesting routes no
//! trailing slash).
#![warn(missing_docs)]

mod actions;
mod assets;
mod error;
mod layout;
mod live;
mod pages;
mod state;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use huey_core::{Huey, TimeZone};

use state::Shared;

/// Builds the dashboard's router for a queue: [`new`](Self::new), settings, then
/// [`router`](Self::router) (to mount in an application) or [`serve`](Self::serve) (to run
/// it alone).
///
/// ```
/// use huey_dashboard::Dashboard;
///
/// let huey = huey_core::Huey::memory("docs");
/// let router: axum::Router = Dashboard::new(huey).read_only(true).router();
/// # drop(router);
/// ```
#[derive(Clone)]
#[must_use = "a dashboard does nothing until its router is mounted or served"]
pub struct Dashboard {
    shared: Shared,
}

impl Dashboard {
    /// A dashboard of `huey`'s queue that can act (see [`read_only`](Self::read_only)),
    /// refreshes its overview every second and reads periodic schedules in UTC. It shows the
    /// tasks registered in this binary (its task names, and the periodic tasks).
    pub fn new(huey: Huey) -> Dashboard {
        Dashboard {
            shared: Shared {
                huey,
                read_only: false,
                time_zone: TimeZone::UTC,
                refresh: Duration::from_secs(1),
            },
        }
    }

    /// Whether the dashboard only shows: no action button, and every action request refused
    /// with 403 Forbidden. Off by default.
    pub fn read_only(mut self, read_only: bool) -> Dashboard {
        self.shared.read_only = read_only;
        self
    }

    /// The time zone the consumers read crontabs in (their `periodic_time_zone`, the CLI's
    /// `--timezone`), for the periodic tasks' next runs. UTC by default.
    pub fn time_zone(mut self, zone: TimeZone) -> Dashboard {
        self.shared.time_zone = zone;
        self
    }

    /// How often the overview's numbers are sent to open pages (at least 100 ms). One second
    /// by default; each open overview reads the queue's counts this often.
    pub fn refresh(mut self, every: Duration) -> Dashboard {
        self.shared.refresh = every.max(Duration::from_millis(100));
        self
    }

    /// The router: the pages, their assets, the event stream and the actions, at the paths
    /// listed in the [crate documentation](crate). Nest it under any prefix
    /// ([`Router::nest`]); its links follow. It fits a router of any state type.
    ///
    /// Actions (POST under `/actions/`) are refused with 403 Forbidden in read-only mode,
    /// and when a browser says the request came from another site: `Sec-Fetch-Site` must be
    /// `same-origin`, or else `Origin` must match `Host`; a client that sends neither header
    /// (a script) must send `X-Huey-Dashboard: 1`.
    pub fn router<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        Router::new()
            .route("/", get(pages::overview::overview))
            .route("/consumers", get(pages::consumers::consumers))
            .route("/queues/{kind}", get(pages::queues::queue))
            .route("/tasks/{id}", get(pages::task::task))
            .route("/dead", get(pages::dead::dead))
            .route("/periodic", get(pages::periodic::periodic))
            .route("/events", get(live::events))
            .route("/assets/{file}", get(assets::asset))
            .route("/actions/pause", post(actions::pause))
            .route("/actions/resume", post(actions::resume))
            .route("/actions/revoke", post(actions::revoke))
            .route("/actions/restore", post(actions::restore))
            .route("/actions/dead", post(actions::dead))
            .with_state(Arc::new(self.shared))
    }

    /// Serves the dashboard alone at the root of `listener` until `shutdown` completes (the
    /// way `huey-cli`'s `dashboard` subcommand runs it). It has no authentication: listen on
    /// a loopback or otherwise private address.
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let huey = huey_core::Huey::memory("docs");
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    /// let ctrl_c = async {
    ///     let _ = tokio::signal::ctrl_c().await;
    /// };
    /// huey_dashboard::Dashboard::new(huey).serve(listener, ctrl_c).await
    /// # }
    /// ```
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(listener, self.router::<()>())
            .with_graceful_shutdown(shutdown)
            .await
    }
}
