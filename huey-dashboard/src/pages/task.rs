//! One task: where it is, its arguments and options, its attempts, and its result or failure;
//! with revoke/restore, and requeue/delete when it is a dead letter.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use huey_core::{FoundTask, Registry, StoredOutcome, TaskLocation};
use maud::{Markup, html};

use crate::error::PageError;
use crate::layout::{Section, action, page, span, time};
use crate::state::Ctx;

/// `GET /tasks/{id}` (a task's id, or a dead letter's).
pub(crate) async fn task(ctx: Ctx, Path(id): Path<String>) -> Result<Response, PageError> {
    let title = format!("Task {id}");
    let Some(found) = ctx.huey().find_task(&id).await? else {
        // The whole page, with the notice of an action that just moved the task (a requeued
        // dead letter a worker has claimed but not yet published as running).
        let body = html! {
            p class="empty" {
                "Nothing holds a task with this id now: not the queue, the schedule, a running                  consumer, the dead letters nor the results. A task that ran and kept no result                  leaves no trace, and one just claimed shows as running within "
                (huey_core::ConsumerInfo::HEARTBEAT.as_secs()) " seconds."
            }
        };
        let page = page(&ctx, Section::Queues, &title, body);
        return Ok((StatusCode::NOT_FOUND, page).into_response());
    };
    let body = details(&ctx, &id, &found);
    Ok(page(&ctx, Section::Queues, &title, body).into_response())
}

fn details(ctx: &Ctx, id: &str, found: &FoundTask) -> Markup {
    let now = Utc::now();
    let (state, class) = match &found.location {
        TaskLocation::Pending => ("pending", "ok"),
        TaskLocation::Scheduled => ("scheduled", "ok"),
        TaskLocation::Running { .. } => ("running", "info"),
        TaskLocation::Dead(_) => ("dead letter", "bad"),
        TaskLocation::Finished => ("finished", "muted"),
        _ => ("unknown", "muted"),
    };
    let message = found.message.as_ref();
    let task_id = message.map_or(id, |m| m.id.as_str());
    let configured = message
        .and_then(|m| Registry::global().ok()?.get(&m.name))
        .map(|descriptor| descriptor.options.retries);
    let args = message.map(|m| pretty(m.args.get()));
    html! {
        section class="status-line" {
            span class={ "badge " (class) } data-field="state" { (state) }
            @if found.revoked { span class="badge warn" { "revoked" } }
            span class="spacer" {}
            @if let TaskLocation::Dead(letter) = &found.location {
                (action(ctx, "/actions/dead", "Requeue", "", &[("do", "requeue-selected"), ("selected", &letter.id)]))
                (action(ctx, "/actions/dead", "Delete", "danger", &[("do", "delete-selected"), ("selected", &letter.id)]))
            } @else if found.revoked {
                (action(ctx, "/actions/restore", "Restore", "", &[("id", task_id)]))
            } @else if !matches!(found.location, TaskLocation::Finished) {
                (action(ctx, "/actions/revoke", "Revoke", "warn", &[("id", task_id)]))
            }
        }
        table class="facts" {
            tbody {
                tr { th { "Id" } td { code { (task_id) } } }
                @if let Some(m) = message {
                    tr { th { "Task" } td { (m.name) } }
                    tr { th { "Priority" } td { (m.priority) } }
                    tr { th { "Attempts" } td {
                        @match configured {
                            Some(retries) if retries >= m.retries => {
                                (retries - m.retries) " retr" (if retries - m.retries == 1 { "y" } else { "ies" })
                                " so far; " (m.retries) " of " (retries) " left"
                            }
                            _ => { (m.retries) " retries left" }
                        }
                    } }
                    @if let Some(at) = m.enqueued_at { tr { th { "Enqueued" } td { (time(at)) " (" (span(at, now)) " ago)" } } }
                    @if let Some(at) = m.eta { tr { th { "Due" } td { (time(at)) } } }
                    @if let Some(at) = m.expires_at { tr { th { "Expires" } td { (time(at)) } } }
                    @if let Some(timeout) = m.timeout { tr { th { "Timeout" } td { (timeout) " s" } } }
                }
                @match &found.location {
                    TaskLocation::Running { consumer, started_at, progress } => {
                        tr { th { "Running" } td { "for " (span(*started_at, now)) " on consumer " code { (consumer) } } }
                        @if let Some(p) = progress {
                            tr { th { "Progress" } td { progress max="1" value=(p.fraction) {} " " (format!("{:.0}%", p.fraction * 100.0)) " " (p.message) } }
                        }
                    }
                    TaskLocation::Dead(letter) => {
                        tr { th { "Dead letter" } td { code { (letter.id) } " since " (time(letter.at)) } }
                        tr { th { "Reason" } td class="error" { (letter.reason) } }
                    }
                    _ => {}
                }
            }
        }
        @if let Some(args) = args {
            h2 { "Arguments" }
            pre class="json" { (args) }
        }
        @match &found.outcome {
            Some(StoredOutcome::Value(value)) => {
                h2 { "Result" }
                pre class="json" { (pretty(value.get())) }
            }
            Some(StoredOutcome::Failure(failure)) => {
                h2 { (if failure.retries > 0 { "Latest failure (will be retried)" } else { "Failure" }) }
                p { span class="badge bad" { (failure.kind) } " " span class="error" { (failure.error) } }
                @if !failure.traceback.is_empty() { pre class="traceback" { (failure.traceback) } }
            }
            _ => {}
        }
    }
}

/// JSON indented for reading; text that is not JSON as it is.
fn pretty(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json)
        .and_then(|value| serde_json::to_string_pretty(&value))
        .unwrap_or_else(|_| json.to_owned())
}
