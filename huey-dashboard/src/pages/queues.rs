//! The pending and scheduled tasks, searchable by task name, id or argument text, a page at a
//! time; and the query a listing's search form sends.

use axum::extract::{Path, Query};
use chrono::Utc;
use huey_core::TaskFilter;
use maud::{Markup, html};
use serde::Deserialize;

use crate::error::PageError;
use crate::layout::{Paged, Section, clip, page, search_form, span, time};
use crate::state::Ctx;

/// A listing's query string: the search form's fields and the page.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    task: Option<String>,
    id: Option<String>,
    q: Option<String>,
    page: Option<usize>,
}

impl ListQuery {
    pub(crate) fn filter(&self) -> TaskFilter {
        TaskFilter::new(self.task.clone(), self.id.clone(), self.q.clone())
    }

    pub(crate) fn page(&self) -> usize {
        self.page.unwrap_or(1)
    }
}

/// `GET /queues/{pending|scheduled}`.
pub(crate) async fn queue(
    ctx: Ctx,
    Path(kind): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Markup, PageError> {
    let huey = ctx.huey();
    let scheduled = match kind.as_str() {
        "pending" => false,
        "scheduled" => true,
        _ => {
            return Err(PageError::NotFound(format!(
                "no queue listing is called {kind:?}"
            )));
        }
    };
    let filter = query.filter();
    // Unfiltered, the pages before and this one are all that must be read.
    let limit = filter
        .is_empty()
        .then(|| query.page().max(1).saturating_mul(crate::layout::PAGE_SIZE));
    let (messages, stored) = if scheduled {
        (huey.scheduled(limit).await?, huey.scheduled_count().await?)
    } else {
        (huey.pending(limit).await?, huey.pending_count().await?)
    };
    let matching: Vec<_> = messages.into_iter().filter(|m| filter.matches(m)).collect();
    let mut paged = Paged::of(matching, query.page());
    if filter.is_empty() {
        // Only the first pages were read; the count says how many there are.
        paged.total = paged.total.max(stored);
    }
    let path = format!("/queues/{kind}");
    let now = Utc::now();
    let body = html! {
        nav class="tabs" {
            a href=(ctx.url("/queues/pending")) class=[(!scheduled).then_some("active")] { "Pending" }
            a href=(ctx.url("/queues/scheduled")) class=[scheduled.then_some("active")] { "Scheduled" }
        }
        (search_form(&ctx, &path, &filter, "Arguments contain"))
        @if paged.rows.is_empty() {
            p class="empty" { (if filter.is_empty() { "No tasks." } else { "No task matches." }) }
        } @else {
            table class="listing" {
                thead { tr {
                    th { "Id" } th { "Task" } th { "Priority" } th { "Retries left" }
                    th { (if scheduled { "Due" } else { "Enqueued" }) }
                    th { "Arguments" }
                } }
                tbody {
                    @for message in &paged.rows {
                        tr {
                            td { a href=(ctx.url(&format!("/tasks/{}", message.id))) { code { (clip(&message.id, 13)) } } }
                            td { (message.name) }
                            td class="num" { (message.priority) }
                            td class="num" { (message.retries) }
                            td {
                                @let at = if scheduled { message.eta } else { message.enqueued_at };
                                @if let Some(at) = at {
                                    (time(at))
                                    @if scheduled && at > now { " " span class="muted" { "in " (span(now, at)) } }
                                } @else { span class="muted" { "–" } }
                            }
                            td { code class="args" { (clip(message.args.get(), 120)) } }
                        }
                    }
                }
            }
        }
        (paged.pager(&ctx, &path, &filter))
    };
    let title = if scheduled {
        "Scheduled tasks"
    } else {
        "Pending tasks"
    };
    Ok(page(&ctx, Section::Queues, title, body))
}
