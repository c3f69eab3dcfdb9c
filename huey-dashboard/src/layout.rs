//! The frame every page shares (head, navigation bar, notice), and the pieces pages are made
//! of: times, durations, the search form, the pager and action buttons. maud escapes every
//! value it interpolates, so task arguments and reasons (untrusted text) show as text.

use chrono::{DateTime, Utc};
use huey_core::TaskFilter;
use maud::{DOCTYPE, Markup, html};

use crate::state::{Ctx, with_query};

/// Which navigation entry a page belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Overview,
    Consumers,
    Queues,
    Dead,
    Periodic,
}

/// A whole page: `title`, in `section`, with `body`.
pub(crate) fn page(ctx: &Ctx, section: Section, title: &str, body: Markup) -> Markup {
    let nav = [
        (Section::Overview, "/", "Overview"),
        (Section::Consumers, "/consumers", "Consumers"),
        (Section::Queues, "/queues/pending", "Queues"),
        (Section::Dead, "/dead", "Dead letters"),
        (Section::Periodic, "/periodic", "Periodic"),
    ];
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · huey " (ctx.huey().name()) }
                link rel="stylesheet" href=(ctx.url("/assets/dashboard.css"));
                script src=(ctx.url("/assets/dashboard.js")) defer {}
            }
            body data-base=(ctx.base) data-read-only=(ctx.read_only()) {
                header class="topbar" {
                    a class="brand" href=(ctx.url("/")) {
                        "huey" span class="queue-name" { (ctx.huey().name()) }
                    }
                    nav {
                        @for (entry, path, label) in nav {
                            a href=(ctx.url(path)) class=[(entry == section).then_some("active")] { (label) }
                        }
                    }
                    @if ctx.read_only() {
                        span class="badge muted" title="Actions are disabled" { "read-only" }
                    }
                }
                main {
                    h1 { (title) }
                    @if let Some(notice) = &ctx.notice {
                        p class="notice" role="status" { (notice) }
                    }
                    (body)
                }
            }
        }
    }
}

/// A time as the pages show it: UTC to the second, with the full value on hover.
pub(crate) fn time(at: DateTime<Utc>) -> Markup {
    html! {
        time datetime=(at.to_rfc3339()) title=(at.to_rfc3339()) { (at.format("%Y-%m-%d %H:%M:%S")) }
    }
}

/// How long from `from` to `to`, briefly: `42s`, `3m 05s`, `2h 10m`, `4d 3h`.
pub(crate) fn span(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let seconds = (to - from).num_seconds().max(0);
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {:02}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        s => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// `text` cut to `max` characters, with an ellipsis when cut.
pub(crate) fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// The rows a listing page shows, and where they sit among all that matched.
pub(crate) struct Paged<T> {
    pub(crate) rows: Vec<T>,
    /// The 1-based page shown.
    pub(crate) page: usize,
    /// How many rows match in all.
    pub(crate) total: usize,
}

/// Rows per listing page.
pub(crate) const PAGE_SIZE: usize = 50;

impl<T> Paged<T> {
    /// Page `page` (from 1) of `rows`.
    pub(crate) fn of(rows: Vec<T>, page: usize) -> Paged<T> {
        let total = rows.len();
        let page = page.clamp(1, total.div_ceil(PAGE_SIZE).max(1));
        let rows = rows
            .into_iter()
            .skip((page - 1) * PAGE_SIZE)
            .take(PAGE_SIZE)
            .collect();
        Paged { rows, page, total }
    }

    /// "Previous", "page i of n" and "Next" links for a listing at `path` with `filter`.
    pub(crate) fn pager(&self, ctx: &Ctx, path: &str, filter: &TaskFilter) -> Markup {
        let pages = self.total.div_ceil(PAGE_SIZE).max(1);
        let link = |page: usize| {
            let mut pairs = filter_pairs(filter);
            pairs.push(("page".into(), page.to_string()));
            ctx.url(&with_query(path, &pairs))
        };
        let first = (self.page - 1) * PAGE_SIZE + 1;
        let last = first + self.rows.len();
        html! {
            nav class="pager" aria-label="Pages" {
                @if self.page > 1 {
                    a href=(link(self.page - 1)) rel="prev" { "← Previous" }
                }
                span {
                    @if self.total == 0 { "nothing matches" }
                    @else { (first) "–" (last - 1) " of " (self.total) " · page " (self.page) " of " (pages) }
                }
                @if self.page < pages {
                    a href=(link(self.page + 1)) rel="next" { "Next →" }
                }
            }
        }
    }
}

/// A filter as query pairs, the given fields only.
pub(crate) fn filter_pairs(filter: &TaskFilter) -> Vec<(String, String)> {
    [
        ("task", &filter.task),
        ("id", &filter.id),
        ("q", &filter.search),
    ]
    .into_iter()
    .filter_map(|(key, value)| value.clone().map(|v| (key.to_owned(), v)))
    .collect()
}

/// The search form of a listing at `path`: task name, id and argument text.
pub(crate) fn search_form(ctx: &Ctx, path: &str, filter: &TaskFilter, text_hint: &str) -> Markup {
    let names: Vec<&str> = huey_core::Registry::global()
        .map(|registry| registry.tasks().map(|task| task.name).collect())
        .unwrap_or_default();
    html! {
        form class="search" method="get" action=(ctx.url(path)) role="search" {
            label { "Task"
                input type="text" name="task" list="task-names" value=[filter.task.as_deref()] placeholder="any";
            }
            datalist id="task-names" {
                @for name in names { option value=(name) {} }
            }
            label { "Id"
                input type="text" name="id" value=[filter.id.as_deref()] placeholder="task id";
            }
            label class="grow" { (text_hint)
                input type="search" name="q" value=[filter.search.as_deref()] placeholder="text, ignoring case";
            }
            button type="submit" { "Search" }
            @if !filter.is_empty() {
                a class="button secondary" href=(ctx.url(path)) { "Clear" }
            }
        }
    }
}

/// A button that posts `fields` to the action at `path` and comes back to this page. Read-only
/// dashboards show none.
pub(crate) fn action(
    ctx: &Ctx,
    path: &str,
    label: &str,
    class: &str,
    fields: &[(&str, &str)],
) -> Markup {
    html! {
        @if !ctx.read_only() {
            form class="inline" method="post" action=(ctx.url(path)) {
                input type="hidden" name="return_to" value=(ctx.here);
                @for (name, value) in fields {
                    input type="hidden" name=(name) value=(value);
                }
                button type="submit" class=(class) { (label) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_clips_read_briefly() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let after = |s: i64| span(t0, t0 + chrono::Duration::seconds(s));
        assert_eq!(after(42), "42s");
        assert_eq!(after(185), "3m 05s");
        assert_eq!(after(2 * 3600 + 600), "2h 10m");
        assert_eq!(after(-5), "0s", "a clock a little behind is not negative");
        assert_eq!(clip("héllo wörld", 5), "héllo…");
        assert_eq!(clip("short", 5), "short");
    }

    #[test]
    fn pages_clamp_to_what_exists() {
        let paged = Paged::of((0..120).collect::<Vec<_>>(), 9);
        assert_eq!((paged.page, paged.total, paged.rows.len()), (3, 120, 20));
        assert_eq!(paged.rows[0], 100);
        let empty = Paged::of(Vec::<u8>::new(), 0);
        assert_eq!((empty.page, empty.total), (1, 0));
    }
}
