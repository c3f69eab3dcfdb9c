//! The overview: the queue's depths, its consumers' load, and the charts (throughput and
//! latency from the stats history, depths since the page opened), kept live by the script
//! from the event stream.

use maud::{Markup, html};

use crate::error::PageError;
use crate::layout::{Section, action, page};
use crate::live::{CHART_MINUTES, Snapshot};
use crate::state::Ctx;

/// `GET /`.
pub(crate) async fn overview(ctx: Ctx) -> Result<Markup, PageError> {
    let now = Snapshot::read(ctx.huey()).await?;
    let card = |field: &str, label: &str, value: usize, path: Option<&str>| {
        html! {
            a class="card" href=[path.map(|p| ctx.url(p))] {
                span class="value" data-field=(field) { (value) }
                span class="label" { (label) }
            }
        }
    };
    let body = html! {
        section class="status-line" {
            span class={ "badge " (if now.paused { "warn" } else { "ok" }) } data-field="paused-badge" {
                (if now.paused { "paused" } else { "running" })
            }
            span class="muted" { "live · updated " span data-field="at" { (now.at.format("%H:%M:%S")) } " UTC" }
            span class="live-error error" data-field="error" hidden {}
            span class="spacer" {}
            @if now.paused {
                (action(&ctx, "/actions/resume", "Resume queue", "", &[]))
            } @else {
                (action(&ctx, "/actions/pause", "Pause queue", "warn", &[]))
            }
        }
        section class="cards" {
            (card("pending", "pending", now.pending, Some("/queues/pending")))
            (card("scheduled", "scheduled", now.scheduled, Some("/queues/scheduled")))
            (card("running", "running", now.running, Some("/consumers")))
            (card("dead", "dead letters", now.dead, Some("/dead")))
            (card("results", "stored results", now.results, None))
            (card("consumers", "live consumers", now.consumers, Some("/consumers")))
            (card("workers", "workers", now.workers, Some("/consumers")))
        }
        section class="charts" {
            figure class="chart" {
                figcaption { "Throughput per minute, by outcome" span class="muted" {
                    " · " span data-field="executions" { "…" } " executions in the last " (CHART_MINUTES) " minutes"
                } }
                svg id="chart-throughput" viewBox="0 0 600 200" role="img" aria-label="Executions per minute by outcome" {}
                div class="legend" data-legend="chart-throughput" {}
            }
            figure class="chart" {
                figcaption { "Run time and queue latency" span class="muted" { " · mean per minute" } }
                svg id="chart-latency" viewBox="0 0 600 200" role="img" aria-label="Mean run time and queue latency per minute" {}
                div class="legend" data-legend="chart-latency" {}
            }
            figure class="chart" {
                figcaption { "Queue depth" span class="muted" { " · since this page opened" } }
                svg id="chart-depth" viewBox="0 0 600 200" role="img" aria-label="Queue depth over time" {}
                div class="legend" data-legend="chart-depth" {}
            }
        }
    };
    Ok(page(&ctx, Section::Overview, "Overview", body))
}
