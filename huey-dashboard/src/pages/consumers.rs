//! The live consumers and what each of their workers runs now, for how long, and how far along.

use chrono::Utc;
use maud::{Markup, html};

use crate::error::PageError;
use crate::layout::{Section, clip, page, span, time};
use crate::state::Ctx;

/// `GET /consumers`.
pub(crate) async fn consumers(ctx: Ctx) -> Result<Markup, PageError> {
    let consumers = ctx.huey().consumers().await?;
    let now = Utc::now();
    let body = html! {
        @if consumers.is_empty() {
            p class="empty" { "No consumer is running on this queue (none has sent a heartbeat in the last "
                (huey_core::ConsumerInfo::STALE_AFTER.as_secs()) " seconds)." }
        }
        @for consumer in &consumers {
            section class="panel" {
                h2 {
                    (consumer.hostname) " · pid " (consumer.pid)
                    @if consumer.paused { " " span class="badge warn" { "paused" } }
                }
                p class="muted" {
                    (consumer.workers) " " (consumer.worker_kind) " worker(s) · started " (time(consumer.started_at))
                    " (" (span(consumer.started_at, now)) " ago) · heartbeat " (span(consumer.heartbeat, now)) " ago · id "
                    code { (consumer.id) }
                }
                @if consumer.in_flight.is_empty() {
                    p class="empty" { "Idle." }
                } @else {
                    table {
                        thead { tr { th { "Task" } th { "Id" } th { "Running for" } th { "Progress" } } }
                        tbody {
                            @for task in &consumer.in_flight {
                                tr {
                                    td { (task.name) }
                                    td { a href=(ctx.url(&format!("/tasks/{}", task.id))) { code { (task.id) } } }
                                    td { (span(task.started_at, now)) }
                                    td {
                                        @if let Some(progress) = &task.progress {
                                            progress max="1" value=(progress.fraction) {}
                                            " " (format!("{:.0}%", progress.fraction * 100.0)) " "
                                            span class="muted" { (clip(&progress.message, 80)) }
                                        } @else { span class="muted" { "–" } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(
        &ctx,
        Section::Consumers,
        "Consumers and workers",
        body,
    ))
}
