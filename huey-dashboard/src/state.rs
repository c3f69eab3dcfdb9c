//! What every handler shares (the queue and the dashboard's settings), and the context of one
//! request: where the dashboard is mounted, whether it may act, the notice left by the action
//! that redirected here.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use huey_core::{Huey, TimeZone};

/// The settings a [`Dashboard`](crate::Dashboard) was built with, shared by its handlers.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) huey: Huey,
    pub(crate) read_only: bool,
    pub(crate) time_zone: TimeZone,
    pub(crate) refresh: Duration,
}

pub(crate) type AppState = Arc<Shared>;

/// One request's view of the dashboard.
pub(crate) struct Ctx {
    pub(crate) shared: AppState,
    /// The path prefix the application mounted the router under ("" at the root), so that
    /// links and redirects work wherever it is nested.
    pub(crate) base: String,
    /// The path and query of this page inside the dashboard, where an action returns to.
    pub(crate) here: String,
    /// What the action that redirected here did.
    pub(crate) notice: Option<String>,
}

impl Ctx {
    pub(crate) fn huey(&self) -> &Huey {
        &self.shared.huey
    }

    pub(crate) fn read_only(&self) -> bool {
        self.shared.read_only
    }

    /// A dashboard path (starting with `/`) as the browser must ask for it. Nested under
    /// `/admin`, the overview is `/admin` (axum's nesting routes no `/admin/`).
    pub(crate) fn url(&self, path: &str) -> String {
        match path {
            "/" if !self.base.is_empty() => self.base.clone(),
            _ => format!("{}{path}", self.base),
        }
    }
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Ctx, Self::Rejection> {
        let inner = parts.uri.path();
        let outer = parts
            .extensions
            .get::<OriginalUri>()
            .map_or(inner, |original| original.0.path());
        // Nested under `/admin`, a request for `/admin/dead` reaches the router as `/dead`,
        // and one for `/admin` as `/`.
        let base = outer
            .strip_suffix(inner)
            .unwrap_or_else(|| outer.trim_end_matches('/'))
            .trim_end_matches('/')
            .to_owned();
        let query = parts.uri.query();
        let notice = query.and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(key, _)| key == "notice")
                .map(|(_, value)| value.into_owned())
        });
        let kept: Vec<(String, String)> = query
            .map(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .filter(|(key, _)| key != "notice")
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let here = with_query(inner, &kept);
        Ok(Ctx {
            shared: state.clone(),
            base,
            here,
            notice,
        })
    }
}

/// `path` with `pairs` as its query string.
pub(crate) fn with_query(path: &str, pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return path.to_owned();
    }
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{path}?{query}")
}
