//! The actions: pause and resume the queue, revoke and restore a task or a task name, requeue
//! and delete dead letters. Each is a POST from a form of the dashboard's pages that redirects
//! back with a notice. A read-only dashboard refuses them (403), and so does any dashboard for
//! a request that a browser says came from another site (the cross-site request forgery
//! guard): the browser's `Sec-Fetch-Site` must say `same-origin`, or its `Origin` must be
//! the host asked; a client that sends neither (a script, `curl`) must send the header
//! `X-Huey-Dashboard: 1`, which a form on another site cannot add.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, header};
use axum::response::Redirect;
use huey_core::storage::DeadLetterSelection;
use huey_core::{Revoke, TaskFilter};

use crate::error::PageError;
use crate::pages::dead::matching;
use crate::state::{AppState, Ctx, with_query};

/// The header a client that is not a browser sends instead of `Origin`.
pub(crate) const SCRIPT_HEADER: &str = "x-huey-dashboard";

/// A posted form's fields, in order (`selected` may repeat).
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(body: &[u8]) -> Form {
        Form(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == key && !v.trim().is_empty())
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// An action request the dashboard may take (checked by [`allowed`] before its body is read),
/// with its posted form.
pub(crate) struct Action {
    ctx: Ctx,
    form: Form,
}

impl FromRequest<AppState> for Action {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &AppState) -> Result<Action, PageError> {
        let (mut parts, body) = request.into_parts();
        let Ok(ctx) = Ctx::from_request_parts(&mut parts, state).await;
        allowed(&ctx, &parts.headers)?;
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|e| PageError::BadRequest(format!("cannot read the form: {e}")))?;
        Ok(Action {
            ctx,
            form: Form::parse(&body),
        })
    }
}

impl Action {
    fn huey(&self) -> &huey_core::Huey {
        self.ctx.huey()
    }

    /// Back to the page the form was on, with `notice` shown.
    fn back(&self, notice: &str) -> Redirect {
        back(&self.ctx, &self.form, notice)
    }
}

/// Refuses an action the dashboard must not take: any in read-only mode, and one that another
/// site's page sent.
fn allowed(ctx: &Ctx, headers: &HeaderMap) -> Result<(), PageError> {
    if ctx.read_only() {
        return Err(PageError::Forbidden("this dashboard is read-only"));
    }
    let value = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let same_origin = match (value("sec-fetch-site"), value(header::ORIGIN.as_str())) {
        (Some(site), _) => site == "same-origin",
        (None, Some(origin)) => {
            let host = value(header::HOST.as_str()).unwrap_or_default();
            origin
                .split_once("://")
                .is_some_and(|(_, authority)| authority == host)
        }
        (None, None) => value(SCRIPT_HEADER) == Some("1"),
    };
    if same_origin {
        Ok(())
    } else {
        Err(PageError::Forbidden(
            "this action did not come from the dashboard's own pages (send X-Huey-Dashboard: 1 from a script)",
        ))
    }
}

/// Back to the page the form was on, with `notice` shown.
fn back(ctx: &Ctx, form: &Form, notice: &str) -> Redirect {
    // Only a path inside the dashboard: never an address elsewhere.
    let target = form
        .get("return_to")
        .filter(|path| path.starts_with('/') && !path.starts_with("//") && !path.contains('\\'))
        .unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.push(("notice".into(), notice.into()));
    Redirect::to(&with_query(&ctx.url(path), &pairs))
}

/// `POST /actions/pause`.
pub(crate) async fn pause(action: Action) -> Result<Redirect, PageError> {
    action.huey().pause().await?;
    Ok(action.back("Paused the queue: no consumer claims from it until it is resumed."))
}

/// `POST /actions/resume`.
pub(crate) async fn resume(action: Action) -> Result<Redirect, PageError> {
    action.huey().resume().await?;
    Ok(action.back("Resumed the queue."))
}

/// `POST /actions/revoke`: `id` (one task) or `task` (every task of that name).
pub(crate) async fn revoke(action: Action) -> Result<Redirect, PageError> {
    let notice = match (action.form.get("id"), action.form.get("task")) {
        (Some(id), None) => {
            action.huey().revoke_by_id(id, Revoke::Forever).await?;
            format!("Revoked task {id}.")
        }
        (None, Some(name)) => {
            action.huey().revoke_all(name, Revoke::Forever).await?;
            format!("Revoked every {name} task.")
        }
        _ => return Err(PageError::BadRequest("give one of id and task".into())),
    };
    Ok(action.back(&notice))
}

/// `POST /actions/restore`: `id` or `task`, as for revoke.
pub(crate) async fn restore(action: Action) -> Result<Redirect, PageError> {
    let huey = action.huey();
    let (restored, what) = match (action.form.get("id"), action.form.get("task")) {
        (Some(id), None) => (huey.restore_by_id(id).await?, format!("task {id}")),
        (None, Some(name)) => (huey.restore_all(name).await?, format!("every {name} task")),
        _ => return Err(PageError::BadRequest("give one of id and task".into())),
    };
    let notice = if restored {
        format!("Restored {what}.")
    } else {
        format!("{what} was not revoked.")
    };
    Ok(action.back(&notice))
}

/// `POST /actions/dead`: `do` is `requeue-selected`, `delete-selected` (the `selected`
/// dead-letter ids), `requeue-matching` or `delete-matching` (every dead letter the `task`,
/// `id` and `q` fields match, all of them when none is given).
pub(crate) async fn dead(action: Action) -> Result<Redirect, PageError> {
    let form = &action.form;
    let (verb, scope) = form
        .get("do")
        .and_then(|what| what.split_once('-'))
        .ok_or_else(|| PageError::BadRequest("say what to do (do=requeue-selected, ...)".into()))?;
    let ids = match scope {
        "selected" => form.all("selected"),
        "matching" => {
            let filter = TaskFilter::new(
                form.get("task").map(str::to_owned),
                form.get("id").map(str::to_owned),
                form.get("q").map(str::to_owned),
            );
            matching(action.huey(), &filter)
                .await?
                .into_iter()
                .map(|(letter, _)| letter.id)
                .collect()
        }
        _ => return Err(PageError::BadRequest(format!("unknown scope {scope:?}"))),
    };
    if ids.is_empty() {
        return Ok(action.back("Nothing was selected."));
    }
    let which = DeadLetterSelection::Ids(&ids);
    let notice = match verb {
        "requeue" => {
            let moved = action.huey().requeue_dead_letters(which).await?;
            format!("Requeued {} dead letter(s).", moved.len())
        }
        "delete" => {
            let deleted = action.huey().delete_dead_letters(which).await?;
            format!("Deleted {deleted} dead letter(s).")
        }
        _ => return Err(PageError::BadRequest(format!("unknown action {verb:?}"))),
    };
    Ok(action.back(&notice))
}
