//! The dead letters with their reasons, searchable, a page at a time; requeue or delete one, a
//! selection, or every one the search matches.

use axum::extract::Query;
use chrono::Utc;
use huey_core::message::Message;
use huey_core::storage::DeadLetter;
use huey_core::{Huey, HueyError, TaskFilter};
use maud::{Markup, html};

use crate::error::PageError;
use crate::layout::{Paged, Section, clip, page, search_form, span, time};
use crate::pages::queues::ListQuery;
use crate::state::Ctx;

/// The dead letters `filter` selects, oldest first, each with its message if that decodes.
pub(crate) async fn matching(
    huey: &Huey,
    filter: &TaskFilter,
) -> Result<Vec<(DeadLetter, Option<Message>)>, HueyError> {
    let mut letters = huey.dead_letters_decoded(None).await?;
    letters.retain(|(letter, message)| filter.matches_dead_letter(letter, message.as_ref()));
    Ok(letters)
}

/// `GET /dead`.
pub(crate) async fn dead(ctx: Ctx, Query(query): Query<ListQuery>) -> Result<Markup, PageError> {
    let filter = query.filter();
    let paged = Paged::of(matching(ctx.huey(), &filter).await?, query.page());
    let now = Utc::now();
    let acting = !ctx.read_only();
    let table = html! {
        table class="listing" {
            thead { tr {
                @if acting { th { input type="checkbox" data-select-all="selected" aria-label="Select all on this page"; } }
                th { "Task" } th { "Task id" } th { "Dead since" } th { "Reason" } th { "Arguments" }
            } }
            tbody {
                @for (letter, message) in &paged.rows {
                    tr {
                        @if acting { td { input type="checkbox" name="selected" value=(letter.id) aria-label="Select"; } }
                        td { @if let Some(m) = message { (m.name) } @else { span class="muted" { "does not decode" } } }
                        td { a href=(ctx.url(&format!("/tasks/{}", message.as_ref().map_or(&letter.id, |m| &m.id)))) {
                            code { (clip(message.as_ref().map_or(&letter.id, |m| &m.id), 13)) }
                        } }
                        td { (time(letter.at)) " " span class="muted" { (span(letter.at, now)) " ago" } }
                        td class="error" { (clip(&letter.reason, 160)) }
                        td { @if let Some(m) = message { code class="args" { (clip(m.args.get(), 80)) } } }
                    }
                }
            }
        }
    };
    let everything = if filter.is_empty() { "" } else { " matching" };
    let body = html! {
        (search_form(&ctx, "/dead", &filter, "Arguments or reason contain"))
        @if paged.rows.is_empty() {
            p class="empty" { (if filter.is_empty() { "No dead letters." } else { "No dead letter matches." }) }
        } @else if acting {
            form method="post" action=(ctx.url("/actions/dead")) id="dead-form" {
                input type="hidden" name="return_to" value=(ctx.here);
                @for (key, value) in crate::layout::filter_pairs(&filter) {
                    input type="hidden" name=(key) value=(value);
                }
                div class="toolbar" {
                    button type="submit" name="do" value="requeue-selected" { "Requeue selected" }
                    button type="submit" name="do" value="delete-selected" class="danger" data-confirm="Delete the selected dead letters?" { "Delete selected" }
                    span class="spacer" {}
                    button type="submit" name="do" value="requeue-matching" class="secondary" {
                        "Requeue all " (paged.total) (everything)
                    }
                    button type="submit" name="do" value="delete-matching" class="danger" data-confirm="Delete every dead letter this search matches?" {
                        "Delete all " (paged.total) (everything)
                    }
                }
                (table)
            }
        } @else {
            (table)
        }
        (paged.pager(&ctx, "/dead", &filter))
    };
    Ok(page(&ctx, Section::Dead, "Dead letters", body))
}
