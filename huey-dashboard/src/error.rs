//! Why a page or an action failed, shown as an error page with the matching status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use huey_core::HueyError;
use maud::{DOCTYPE, PreEscaped, html};

use crate::assets::CSS;

/// Why a dashboard request failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PageError {
    /// The storage or the runtime failed.
    #[error("the queue's storage failed: {}", huey_core::error_chain(.0))]
    Huey(#[from] HueyError),
    /// Nothing has this id.
    #[error("{0}")]
    NotFound(String),
    /// An action in read-only mode, or one that did not come from the dashboard's own pages.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The form was incomplete or contradictory.
    #[error("{0}")]
    BadRequest(String),
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = match &self {
            PageError::Huey(_) => StatusCode::INTERNAL_SERVER_ERROR,
            PageError::NotFound(_) => StatusCode::NOT_FOUND,
            PageError::Forbidden(_) => StatusCode::FORBIDDEN,
            PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
        };
        if status.is_server_error() {
            tracing::warn!(error = %self, "dashboard request failed");
        }
        // A page of its own, styles inline: it must render even when the request's context
        // (where the dashboard is mounted) is what went wrong.
        let page = html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    title { "huey dashboard: " (status.as_str()) }
                    style { (PreEscaped(CSS)) }
                }
                body {
                    main class="error-page" {
                        h1 { (status.canonical_reason().unwrap_or("Error")) }
                        p class="error" { (self.to_string()) }
                        p { a href="javascript:history.back()" { "Go back" } }
                    }
                }
            }
        };
        (status, page).into_response()
    }
}
