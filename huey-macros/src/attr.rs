//! Parsing the attribute arguments into checked option values.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ExprUnary, Lit, LitStr, Meta, Token, UnOp};

use huey_crontab::{Crontab, Field, parse_field};

/// The raw arguments: an optional leading expression (the resource of `closing_task`, the
/// object of `context_task`) followed by `key = value`, `flag` and `crontab(...)` options.
pub struct RawArgs {
    pub target: Option<Expr>,
    pub metas: Punctuated<Meta, Token![,]>,
}

impl RawArgs {
    pub fn parse(tokens: proc_macro2::TokenStream, with_target: bool) -> syn::Result<RawArgs> {
        let parser = move |input: ParseStream| -> syn::Result<RawArgs> {
            let target = if with_target {
                if input.is_empty() {
                    return Err(syn::Error::new(
                        Span::call_site(),
                        "expected the object to wrap as the first argument, e.g. `#[closing_task(DB)]`",
                    ));
                }
                let expr: Expr = input.parse()?;
                // `#[closing_task(crate = hc)]` parses as an assignment expression; say what
                // is missing rather than wrap `crate = hc` as the resource.
                if let Expr::Assign(assign) = &expr
                    && matches!(assign.left.as_ref(), Expr::Path(p) if p.path.get_ident().is_some())
                {
                    return Err(syn::Error::new_spanned(
                        &expr,
                        "expected the object to wrap as the first argument, before the options, \
                         e.g. `#[closing_task(DB, retries = 1)]`",
                    ));
                }
                if !input.is_empty() {
                    input.parse::<Token![,]>()?;
                }
                Some(expr)
            } else {
                None
            };
            let metas = Punctuated::<Meta, Token![,]>::parse_terminated(input)?;
            Ok(RawArgs { target, metas })
        };
        syn::parse::Parser::parse2(parser, tokens)
    }
}

/// The path through which generated code reaches `huey_core`: what the calling crate's
/// manifest names it (see [`CratePath::found`]), unless the attribute says `crate = path`.
pub struct CratePath(syn::Path);

impl Default for CratePath {
    fn default() -> Self {
        CratePath::found()
    }
}

impl CratePath {
    /// huey-core as the calling crate's `Cargo.toml` reaches it: its own dependency on
    /// `huey-core` (under whatever name it was given), else the `huey` facade, which
    /// re-exports it; `::huey_core` when neither is found (huey-core's own doc tests).
    fn found() -> CratePath {
        use proc_macro_crate::{FoundCrate, crate_name};
        let named = |name: &str| {
            let ident = proc_macro2::Ident::new(name, proc_macro2::Span::call_site());
            CratePath(syn::parse_quote!(::#ident))
        };
        match crate_name("huey-core") {
            Ok(FoundCrate::Name(name)) => named(&name),
            Ok(FoundCrate::Itself) => named("huey_core"),
            Err(_) => match crate_name("huey") {
                Ok(FoundCrate::Name(name)) => named(&name),
                _ => named("huey_core"),
            },
        }
    }

    /// Validates `crate = path`: a plain path (no generics, no `<T as Trait>`), so that
    /// `path::Item` in the expansion names an item of the crate.
    pub fn parse(meta: &Meta) -> syn::Result<CratePath> {
        let hint = "`crate` must be a path to the huey_core crate, e.g. `crate = ::huey_core` \
                    or `crate = my_facade::huey`";
        let Meta::NameValue(nv) = meta else {
            return Err(syn::Error::new_spanned(meta, hint));
        };
        match &nv.value {
            Expr::Path(p)
                if p.qself.is_none()
                    && p.attrs.is_empty()
                    && p.path.segments.iter().all(|s| s.arguments.is_none()) =>
            {
                Ok(CratePath(p.path.clone()))
            }
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => Err(syn::Error::new_spanned(
                s,
                format!(
                    "`crate` takes a path, not a string: write `crate = {}`",
                    s.value()
                ),
            )),
            other => Err(syn::Error::new_spanned(other, hint)),
        }
    }

    /// The crate itself, to name public items: `#root::TaskDef`.
    pub fn root(&self) -> TokenStream {
        let path = &self.0;
        quote!(#path)
    }

    /// The crate's support module for generated code.
    pub fn private(&self) -> TokenStream {
        let path = &self.0;
        quote!(#path::__private)
    }
}

/// Task options after validation. Durations are nanoseconds.
#[derive(Default)]
pub struct TaskOptions {
    pub krate: CratePath,
    pub name: Option<LitStr>,
    pub retries: Option<u32>,
    pub retry_delay: Option<u64>,
    pub retry_backoff: Option<f64>,
    pub priority: Option<i32>,
    pub expires: Option<u64>,
    pub timeout: Option<u64>,
    pub context: Option<Span>,
    pub as_argument: Option<Span>,
    pub crontab: Option<Crontab>,
    pub crontab_text: Option<String>,
    pub lock: Option<LockOption>,
    pub rate_limit: Option<RateLimitOption>,
    pub semaphore: Option<SemaphoreOption>,
}

/// `lock = "name"` or `lock(name = "name", ttl = "30s")`.
pub struct LockOption {
    pub name: LitStr,
    /// Nanoseconds.
    pub ttl: Option<u64>,
}

/// `rate_limit(limit = 10, per = "1s", retry = true, name = "shared")`.
pub struct RateLimitOption {
    pub name: Option<LitStr>,
    pub limit: u32,
    /// Nanoseconds.
    pub per: u64,
    pub retry: bool,
}

/// `semaphore(name = "uploads", value = 5, timeout = "300s")`.
pub struct SemaphoreOption {
    pub name: LitStr,
    pub value: u32,
    /// Nanoseconds; `None` for the runtime's default.
    pub timeout: Option<u64>,
}

const TASK_OPTIONS: &[&str] = &[
    "name",
    "retries",
    "retry_delay",
    "retry_backoff",
    "priority",
    "expires",
    "timeout",
    "context",
    "lock",
    "rate_limit",
    "semaphore",
    "crate",
];

/// Parses options; `extra` lists what this macro accepts beyond the task options
/// (`crontab` for periodic tasks, `as_argument` for context tasks).
pub fn parse_options(
    metas: &Punctuated<Meta, Token![,]>,
    extra: &[&str],
) -> syn::Result<TaskOptions> {
    let mut options = TaskOptions::default();
    let mut seen: Vec<String> = Vec::new();
    let mut errors: Option<syn::Error> = None;
    let mut push = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    for meta in metas {
        let Some(key) = meta.path().get_ident().map(ToString::to_string) else {
            push(syn::Error::new_spanned(
                meta.path(),
                "expected an option name",
            ));
            continue;
        };
        if !TASK_OPTIONS.contains(&key.as_str()) && !extra.contains(&key.as_str()) {
            let mut known: Vec<&str> = TASK_OPTIONS.to_vec();
            known.extend_from_slice(extra);
            push(syn::Error::new_spanned(
                meta.path(),
                format!(
                    "unknown option `{key}`; expected one of: {}",
                    known.join(", ")
                ),
            ));
            continue;
        }
        if seen.contains(&key) {
            push(syn::Error::new_spanned(
                meta.path(),
                format!("duplicate option `{key}`"),
            ));
            continue;
        }
        seen.push(key.clone());
        if let Err(e) = apply(&mut options, &key, meta) {
            push(e);
        }
    }
    match errors {
        Some(e) => Err(e),
        None => Ok(options),
    }
}

fn apply(options: &mut TaskOptions, key: &str, meta: &Meta) -> syn::Result<()> {
    match key {
        "crate" => options.krate = CratePath::parse(meta)?,
        "context" => options.context = flag(meta)?.then(|| meta.span()),
        "as_argument" => options.as_argument = flag(meta)?.then(|| meta.span()),
        "lock" => options.lock = Some(lock(meta)?),
        "rate_limit" => options.rate_limit = Some(rate_limit(meta)?),
        "semaphore" => options.semaphore = Some(semaphore(meta)?),
        "crontab" => {
            options.crontab = Some(crontab(meta)?);
            if let Meta::List(list) = meta {
                options.crontab_text = Some(list.tokens.to_string());
            }
        }
        _ => {
            let value = value(meta, key)?;
            match key {
                "name" => options.name = Some(name(value)?),
                "retries" => options.retries = Some(int(value, key)?),
                "priority" => options.priority = Some(int(value, key)?),
                "retry_backoff" => options.retry_backoff = Some(float(value, key)?),
                "retry_delay" => options.retry_delay = Some(duration(value, key)?),
                "expires" => options.expires = Some(duration(value, key)?),
                "timeout" => options.timeout = Some(duration(value, key)?),
                _ => unreachable!("option list checked by the caller"),
            }
        }
    }
    Ok(())
}

fn value<'a>(meta: &'a Meta, key: &str) -> syn::Result<&'a Expr> {
    match meta {
        Meta::NameValue(nv) => Ok(&nv.value),
        _ => Err(syn::Error::new_spanned(
            meta,
            format!("expected `{key} = ...`"),
        )),
    }
}

fn flag(meta: &Meta) -> syn::Result<bool> {
    match meta {
        Meta::Path(_) => Ok(true),
        Meta::NameValue(nv) => match &nv.value {
            Expr::Lit(ExprLit {
                lit: Lit::Bool(b), ..
            }) => Ok(b.value),
            other => Err(syn::Error::new_spanned(other, "expected `true` or `false`")),
        },
        Meta::List(list) => Err(syn::Error::new_spanned(
            list,
            "expected a flag, e.g. `context` or `context = true`",
        )),
    }
}

fn name(value: &Expr) -> syn::Result<LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) if !s.value().trim().is_empty() => Ok(s.clone()),
        other => Err(syn::Error::new_spanned(
            other,
            "`name` must be a non-empty string literal",
        )),
    }
}

/// An integer literal, possibly negative.
fn int<T: std::str::FromStr>(value: &Expr, key: &str) -> syn::Result<T>
where
    T::Err: std::fmt::Display,
{
    let (negative, lit) = match value {
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => (true, expr.as_ref()),
        other => (false, other),
    };
    let bad = || {
        syn::Error::new_spanned(
            value,
            format!("`{key}` must be an integer in range, e.g. `{key} = 3`"),
        )
    };
    match lit {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => {
            let text = if negative {
                format!("-{}", i.base10_digits())
            } else {
                i.base10_digits().to_owned()
            };
            text.parse::<T>().map_err(|_| bad())
        }
        _ => Err(bad()),
    }
}

fn float(value: &Expr, key: &str) -> syn::Result<f64> {
    let parsed = match value {
        Expr::Lit(ExprLit {
            lit: Lit::Float(f), ..
        }) => f.base10_parse::<f64>().ok(),
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => i.base10_parse::<f64>().ok(),
        _ => None,
    };
    match parsed {
        Some(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(syn::Error::new_spanned(
            value,
            format!("`{key}` must be a non-negative number, e.g. `{key} = 2.0`"),
        )),
    }
}

/// A duration: a string with a unit (`"500ms"`, `"2s"`, `"1.5m"`, `"1h"`, `"1d"`) or a number
/// of seconds. Returns nanoseconds.
fn duration(value: &Expr, key: &str) -> syn::Result<u64> {
    let bad = |detail: &str| {
        syn::Error::new_spanned(
            value,
            format!(
                "invalid duration for `{key}`{detail}: use a number of seconds or a string with a \
                 unit, e.g. \"500ms\", \"2s\", \"5m\", \"1h\", \"1d\""
            ),
        )
    };
    let seconds = match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => i.base10_parse::<f64>().map_err(|_| bad(""))?,
        Expr::Lit(ExprLit {
            lit: Lit::Float(f), ..
        }) => f.base10_parse::<f64>().map_err(|_| bad(""))?,
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => {
            let text = s.value();
            let text = text.trim();
            let split = text
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(|| bad(&format!(" (`{text}` has no unit)")))?;
            let (number, unit) = text.split_at(split);
            let number: f64 = number.parse().map_err(|_| bad(&format!(" (`{text}`)")))?;
            let scale = match unit.trim() {
                "ms" => 0.001,
                "s" => 1.0,
                "m" => 60.0,
                "h" => 3600.0,
                "d" => 86400.0,
                other => return Err(bad(&format!(" (unknown unit `{other}`)"))),
            };
            number * scale
        }
        _ => return Err(bad("")),
    };
    if !seconds.is_finite() || !(0.0..=1e9).contains(&seconds) {
        return Err(bad(" (out of range)"));
    }
    Ok((seconds * 1e9).round() as u64)
}

/// The `key = value` entries of an option list such as `lock(...)`, checked against `known`
/// and for duplicates.
fn sub_options<'a>(
    metas: &'a Punctuated<Meta, Token![,]>,
    option: &str,
    known: &[&str],
) -> syn::Result<Vec<(String, &'a Meta)>> {
    let mut entries: Vec<(String, &Meta)> = Vec::new();
    for meta in metas {
        let key = meta
            .path()
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        if !known.contains(&key.as_str()) {
            return Err(syn::Error::new_spanned(
                meta.path(),
                format!(
                    "unknown `{option}` option `{key}`; expected one of: {}",
                    known.join(", ")
                ),
            ));
        }
        if entries.iter().any(|(k, _)| *k == key) {
            return Err(syn::Error::new_spanned(
                meta.path(),
                format!("duplicate `{option}` option `{key}`"),
            ));
        }
        entries.push((key, meta));
    }
    Ok(entries)
}

fn lock(meta: &Meta) -> syn::Result<LockOption> {
    let list = match meta {
        Meta::NameValue(nv) => {
            return Ok(LockOption {
                name: lock_name(&nv.value, "lock")?,
                ttl: None,
            });
        }
        Meta::List(list) => list,
        Meta::Path(_) => {
            return Err(syn::Error::new_spanned(
                meta,
                "expected `lock = \"name\"` or `lock(name = \"name\", ttl = \"30s\")`",
            ));
        }
    };
    let metas = list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)?;
    let mut name = None;
    let mut ttl = None;
    for (key, entry) in sub_options(&metas, "lock", &["name", "ttl"])? {
        let value = value(entry, &key)?;
        match key.as_str() {
            "name" => name = Some(lock_name(value, "name")?),
            _ => ttl = Some(positive_duration(value, "ttl")?),
        }
    }
    let name = name.ok_or_else(|| {
        syn::Error::new_spanned(list, "`lock(...)` needs a name: `lock(name = \"reports\")`")
    })?;
    Ok(LockOption { name, ttl })
}

fn lock_name(value: &Expr, key: &str) -> syn::Result<LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) if !s.value().trim().is_empty() => Ok(s.clone()),
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{key}` must be a non-empty string literal naming the lock"),
        )),
    }
}

fn rate_limit(meta: &Meta) -> syn::Result<RateLimitOption> {
    let Meta::List(list) = meta else {
        return Err(syn::Error::new_spanned(
            meta,
            "expected `rate_limit(limit = 10, per = \"1s\")`, optionally with `retry = false` \
             and `name = \"...\"`",
        ));
    };
    let metas = list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)?;
    let mut option = RateLimitOption {
        name: None,
        limit: 0,
        per: 0,
        retry: true,
    };
    let (mut limit, mut per) = (None, None);
    for (key, entry) in sub_options(&metas, "rate_limit", &["limit", "per", "retry", "name"])? {
        match key.as_str() {
            "retry" => option.retry = flag(entry)?,
            "name" => option.name = Some(name(value(entry, &key)?)?),
            "limit" => {
                let value = value(entry, &key)?;
                let n: u32 = int(value, "limit")?;
                if n == 0 {
                    return Err(syn::Error::new_spanned(
                        value,
                        "`limit` must be at least 1: a limit of 0 would never let the task run",
                    ));
                }
                limit = Some(n);
            }
            _ => per = Some(positive_duration(value(entry, &key)?, "per")?),
        }
    }
    let missing = |what: &str| {
        syn::Error::new_spanned(
            list,
            format!(
                "`rate_limit(...)` needs `{what}`, e.g. `rate_limit(limit = 10, per = \"1s\")`"
            ),
        )
    };
    option.limit = limit.ok_or_else(|| missing("limit"))?;
    option.per = per.ok_or_else(|| missing("per"))?;
    Ok(option)
}

fn semaphore(meta: &Meta) -> syn::Result<SemaphoreOption> {
    let Meta::List(list) = meta else {
        return Err(syn::Error::new_spanned(
            meta,
            "expected `semaphore(name = \"uploads\", value = 5)`, optionally with \
             `timeout = \"300s\"`",
        ));
    };
    let metas = list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)?;
    let (mut name, mut value, mut timeout) = (None, 1, None);
    for (key, entry) in sub_options(&metas, "semaphore", &["name", "value", "timeout"])? {
        let given = self::value(entry, &key)?;
        match key.as_str() {
            "name" => name = Some(lock_name(given, "name")?),
            "value" => {
                value = int(given, "value")?;
                if value == 0 {
                    return Err(syn::Error::new_spanned(
                        given,
                        "`value` must be at least 1: a semaphore of 0 would never let the task run",
                    ));
                }
            }
            _ => timeout = Some(positive_duration(given, "timeout")?),
        }
    }
    let name = name.ok_or_else(|| {
        syn::Error::new_spanned(
            list,
            "`semaphore(...)` needs a name: `semaphore(name = \"uploads\", value = 5)`",
        )
    })?;
    Ok(SemaphoreOption {
        name,
        value,
        timeout,
    })
}

/// A duration of at least one millisecond (what the storage can express for a TTL or a
/// window).
fn positive_duration(value: &Expr, key: &str) -> syn::Result<u64> {
    let nanos = duration(value, key)?;
    if nanos < 1_000_000 {
        return Err(syn::Error::new_spanned(
            value,
            format!("`{key}` must be at least 1ms"),
        ));
    }
    Ok(nanos)
}

fn crontab(meta: &Meta) -> syn::Result<Crontab> {
    let Meta::List(list) = meta else {
        return Err(syn::Error::new_spanned(
            meta,
            "expected `crontab(minute = \"...\", hour = \"...\", day = \"...\", month = \"...\", day_of_week = \"...\")`",
        ));
    };
    let fields = list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)?;
    let mut texts: [(Field, Option<(String, Span)>); 5] = [
        (Field::Minute, None),
        (Field::Hour, None),
        (Field::Day, None),
        (Field::Month, None),
        (Field::DayOfWeek, None),
    ];
    let mut strict = false;
    let mut seen: Vec<String> = Vec::new();
    for field in &fields {
        let key = field
            .path()
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        if seen.contains(&key) {
            return Err(syn::Error::new_spanned(
                field.path(),
                format!("duplicate crontab field `{key}`"),
            ));
        }
        seen.push(key.clone());
        if key == "strict" {
            strict = flag(field)?;
            continue;
        }
        let Some(slot) = texts.iter_mut().find(|(f, _)| f.name() == key) else {
            return Err(syn::Error::new_spanned(
                field.path(),
                format!(
                    "unknown crontab field `{key}`; expected one of: minute, hour, day, month, day_of_week, strict"
                ),
            ));
        };
        let value = value(field, &key)?;
        let text = match value {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => s.value(),
            Expr::Lit(ExprLit {
                lit: Lit::Int(i), ..
            }) => i.base10_digits().to_owned(),
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    format!("crontab field `{key}` must be a string like \"*/5\" or an integer"),
                ));
            }
        };
        slot.1 = Some((text, value.span()));
    }
    let mut masks = [0u64; 5];
    for (i, (field, text)) in texts.iter().enumerate() {
        let (text, span) = match text {
            Some((t, s)) => (t.as_str(), *s),
            None => ("*", list.span()),
        };
        masks[i] = parse_field(*field, text, strict)
            .map_err(|e| syn::Error::new(span, format!("invalid crontab: {e}")))?;
    }
    // Each mask fits its field's width: parse_field only sets bits within the field's range.
    Ok(Crontab::from_masks(
        masks[0],
        masks[1] as u32,
        masks[2] as u32,
        masks[3] as u16,
        masks[4] as u8,
    ))
}

impl Parse for RawArgs {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        Ok(RawArgs {
            target: None,
            metas: Punctuated::parse_terminated(input)?,
        })
    }
}
