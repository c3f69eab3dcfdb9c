//! The registered periodic tasks, their schedules and next runs; revoke or restore each.

use chrono::Utc;
use huey_core::{Registry, RegistryError, crontab_next_in};
use maud::{Markup, html};

use crate::error::PageError;
use crate::layout::{Section, action, page, span, time};
use crate::state::Ctx;

/// `GET /periodic`.
pub(crate) async fn periodic(ctx: Ctx) -> Result<Markup, PageError> {
    let registry = Registry::global().map_err(|e: RegistryError| PageError::Huey(e.into()))?;
    let now = Utc::now();
    let zone = &ctx.shared.time_zone;
    let mut rows = Vec::new();
    for task in registry.tasks() {
        let Some(crontab) = task.periodic else {
            continue;
        };
        let revoked = ctx.huey().is_revoked_all(task.name).await?;
        rows.push((task, crontab_next_in(&crontab, now, zone), revoked));
    }
    let body = html! {
        p class="muted" { "Next runs are read in the time zone " code { (zone.name().unwrap_or("of a fixed offset")) }
            "; a consumer started without periodic tasks (" code { "-n" } ") enqueues none." }
        @if rows.is_empty() {
            p class="empty" { "No periodic task is registered in this binary." }
        } @else {
            table class="listing" {
                thead { tr { th { "Task" } th { "Schedule" } th { "Next run" } th { "State" } th {} } }
                tbody {
                    @for (task, next, revoked) in &rows {
                        tr {
                            td { (task.name) }
                            td { code { (task.schedule.unwrap_or("")) } }
                            td { @if let Some(next) = next { (time(*next)) " " span class="muted" { "in " (span(now, *next)) } }
                                 @else { span class="muted" { "never in the next year" } } }
                            td { @if *revoked { span class="badge warn" { "revoked" } } @else { span class="badge ok" { "active" } } }
                            td class="actions" {
                                @if *revoked { (action(&ctx, "/actions/restore", "Restore", "", &[("task", task.name)])) }
                                @else { (action(&ctx, "/actions/revoke", "Revoke", "warn", &[("task", task.name)])) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&ctx, Section::Periodic, "Periodic tasks", body))
}
