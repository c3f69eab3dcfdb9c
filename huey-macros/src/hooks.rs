//! Hook and signal-handler macros: parse, validate, expand.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::punctuated::Punctuated;
use syn::{FnArg, Ident, ItemFn, Meta, ReturnType, Token, Type};

use crate::attr::CratePath;
use crate::model::{last_segment, single_generic};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    Startup,
    Shutdown,
    PreExecute,
    PostExecute,
    Signal,
}

impl HookKind {
    fn attr(self) -> &'static str {
        match self {
            HookKind::Startup => "on_startup",
            HookKind::Shutdown => "on_shutdown",
            HookKind::PreExecute => "pre_execute",
            HookKind::PostExecute => "post_execute",
            HookKind::Signal => "signal",
        }
    }

    /// The parameter lists this hook accepts, for error messages.
    fn expected(self) -> &'static str {
        match self {
            HookKind::Startup | HookKind::Shutdown => "`fn()` or `fn(worker: &mut WorkerState)`",
            HookKind::PreExecute => "`fn(task: &Task)`, plus any `State<T>` parameters",
            HookKind::PostExecute => {
                "`fn(task: &Task, value: Option<&TaskValue>, error: Option<&TaskError>)`, plus any \
                 `State<T>` parameters"
            }
            HookKind::Signal => {
                "`fn(signal: Signal, task: &Task)` or `fn(signal: Signal, task: &Task, error: Option<&TaskError>)`"
            }
        }
    }
}

const SIGNALS: &[(&str, &str)] = &[
    ("enqueued", "Enqueued"),
    ("executing", "Executing"),
    ("complete", "Complete"),
    ("error", "Error"),
    ("canceled", "Canceled"),
    ("retrying", "Retrying"),
    ("scheduled", "Scheduled"),
    ("revoked", "Revoked"),
    ("expired", "Expired"),
    ("locked", "Locked"),
    ("timeout", "Timeout"),
    ("rate_limited", "RateLimited"),
    ("interrupted", "Interrupted"),
];

/// Where a hook parameter's value comes from.
enum HookParam {
    /// What the runtime passes this kind of hook (the task, its value, its error...), in order.
    Fixed,
    /// The worker's `State<T>` (pre- and post-execute hooks); holds `T`.
    State(Box<Type>),
}

/// A validated hook.
struct HookModel {
    kind: HookKind,
    func: ItemFn,
    params: Vec<HookParam>,
    signals: Vec<Ident>,
    krate: CratePath,
}

/// `State<T>`'s `T`, when `ty` is a `State<T>`.
fn state_type(ty: &Type) -> Option<&Type> {
    last_segment(ty)
        .filter(|s| s.ident == "State")
        .and_then(single_generic)
}

fn parse(kind: HookKind, args: TokenStream, item: TokenStream) -> syn::Result<HookModel> {
    let attr = kind.attr();
    let func: ItemFn = syn::parse2(item).map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("#[{attr}] must be placed on a free function"),
        )
    })?;
    let (krate, signals) = parse_args(kind, args)?;
    let sig = &func.sig;
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &sig.generics,
            format!("#[{attr}] functions cannot be generic"),
        ));
    }
    if let Some(r) = sig.receiver() {
        return Err(syn::Error::new_spanned(
            r,
            format!("#[{attr}] functions cannot take `self`"),
        ));
    }
    if kind == HookKind::Signal && sig.asyncness.is_some() {
        return Err(syn::Error::new_spanned(
            sig.asyncness,
            "signal handlers run synchronously where the signal fires, as in Huey; make it a plain `fn` \
             (spawn async work from it if needed)",
        ));
    }
    let mut params = Vec::new();
    for input in &sig.inputs {
        let state = match input {
            FnArg::Typed(t) => state_type(&t.ty).map(|inner| (t, inner)),
            FnArg::Receiver(_) => None,
        };
        let Some((t, inner)) = state else {
            params.push(HookParam::Fixed);
            continue;
        };
        let refusal = match kind {
            HookKind::PreExecute | HookKind::PostExecute => None,
            HookKind::Startup | HookKind::Shutdown => Some(
                "startup and shutdown hooks take the whole worker state: \
                 `fn(worker: &mut WorkerState)`, then `worker.get::<T>()`",
            ),
            HookKind::Signal => Some(
                "signal handlers cannot take `State<T>`: they run where the signal fires, \
                 which is not always a worker; use a #[pre_execute] or #[post_execute] hook",
            ),
        };
        if let Some(message) = refusal {
            return Err(syn::Error::new_spanned(&t.ty, message));
        }
        params.push(HookParam::State(Box::new(inner.clone())));
    }
    let count = params
        .iter()
        .filter(|p| matches!(p, HookParam::Fixed))
        .count();
    let allowed: &[usize] = match kind {
        HookKind::Startup | HookKind::Shutdown => &[0, 1],
        HookKind::PreExecute => &[1],
        HookKind::PostExecute => &[3],
        HookKind::Signal => &[2, 3],
    };
    if !allowed.contains(&count) {
        let span = if sig.inputs.is_empty() {
            sig.ident.span()
        } else {
            span_of_inputs(&func)
        };
        return Err(syn::Error::new(
            span,
            format!(
                "#[{attr}] expects {}, found {count} parameter(s){}",
                kind.expected(),
                if count < sig.inputs.len() {
                    " besides the `State<T>` ones"
                } else {
                    ""
                }
            ),
        ));
    }
    if matches!(kind, HookKind::Startup | HookKind::Shutdown)
        && let Some(FnArg::Typed(t)) = sig.inputs.first()
        && !matches!(t.ty.as_ref(), Type::Reference(r) if r.mutability.is_some())
    {
        return Err(syn::Error::new_spanned(
            &t.ty,
            format!("#[{attr}] receives the worker's state as `&mut WorkerState`"),
        ));
    }
    if kind == HookKind::Signal && !matches!(sig.output, ReturnType::Default) {
        return Err(syn::Error::new_spanned(
            &sig.output,
            "signal handlers return nothing",
        ));
    }
    Ok(HookModel {
        kind,
        func,
        params,
        signals,
        krate,
    })
}

/// The arguments: `crate = path` for every hook, and the signal names for `#[signal]`.
fn parse_args(kind: HookKind, args: TokenStream) -> syn::Result<(CratePath, Vec<Ident>)> {
    let attr = kind.attr();
    let metas = syn::parse::Parser::parse2(Punctuated::<Meta, Token![,]>::parse_terminated, args)?;
    let mut krate = None;
    let mut variants = Vec::new();
    for meta in &metas {
        if meta.path().is_ident("crate") {
            if krate.is_some() {
                return Err(syn::Error::new_spanned(
                    meta.path(),
                    "duplicate option `crate`",
                ));
            }
            krate = Some(CratePath::parse(meta)?);
            continue;
        }
        let name = match meta {
            Meta::Path(path) if kind == HookKind::Signal => path.get_ident(),
            _ => None,
        };
        let Some(name) = name else {
            let expected = if kind == HookKind::Signal {
                "signal names and `crate = path`"
            } else {
                "only `crate = path`"
            };
            return Err(syn::Error::new_spanned(
                meta,
                format!("#[{attr}] takes {expected}"),
            ));
        };
        let Some((_, variant)) = SIGNALS.iter().find(|(n, _)| name == n) else {
            let known: Vec<&str> = SIGNALS.iter().map(|(n, _)| *n).collect();
            return Err(syn::Error::new_spanned(
                name,
                format!(
                    "unknown signal `{name}`; expected one of: {}",
                    known.join(", ")
                ),
            ));
        };
        let variant = Ident::new(variant, name.span());
        if variants.contains(&variant) {
            return Err(syn::Error::new_spanned(
                name,
                format!("duplicate signal `{name}`"),
            ));
        }
        variants.push(variant);
    }
    Ok((krate.unwrap_or_default(), variants))
}

fn span_of_inputs(func: &ItemFn) -> Span {
    func.sig
        .inputs
        .first()
        .map(syn::spanned::Spanned::span)
        .unwrap_or_else(|| func.sig.ident.span())
}

pub fn expand(kind: HookKind, args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let model = parse(kind, args, item)?;
    let p = &model.krate.private();
    let k = &model.krate.root();
    let func = &model.func;
    let ident = &func.sig.ident;
    let name = ident.to_string();
    let wrapper = format_ident!("__huey_hook_{}", ident);
    let dot_await = func.sig.asyncness.is_some().then(|| quote!(.await));
    let (wrapper_fn, hook) = match model.kind {
        HookKind::Startup | HookKind::Shutdown => {
            let call = if func.sig.inputs.is_empty() {
                quote!({ let _ = __huey_state; #ident() #dot_await })
            } else {
                quote!(#ident(__huey_state) #dot_await)
            };
            let variant = if model.kind == HookKind::Startup {
                quote!(Startup)
            } else {
                quote!(Shutdown)
            };
            (
                quote! {
                    fn #wrapper<'a>(
                        __huey_state: &'a mut #k::WorkerState,
                    ) -> #p::BoxFuture<'a, ::core::result::Result<(), #p::TaskError>> {
                        #p::Box::pin(async move { #p::hook_result(#call) })
                    }
                },
                quote!(#p::Hook::#variant(#wrapper)),
            )
        }
        HookKind::PreExecute => {
            let (states, args) = hook_args(&model, &[quote!(__huey_task)]);
            (
                quote! {
                    fn #wrapper<'a>(
                        __huey_task: &'a #k::Task,
                        __huey_state: &'a #k::WorkerState,
                    ) -> #p::BoxFuture<'a, ::core::result::Result<(), #p::TaskError>> {
                        #p::Box::pin(async move {
                            #(#states)*
                            #p::hook_result(#ident(#(#args),*) #dot_await)
                        })
                    }
                },
                quote!(#p::Hook::PreExecute(#wrapper)),
            )
        }
        HookKind::PostExecute => {
            let fixed = [
                quote!(__huey_task),
                quote!(__huey_value),
                quote!(__huey_error),
            ];
            let (states, args) = hook_args(&model, &fixed);
            (
                quote! {
                    fn #wrapper<'a>(
                        __huey_task: &'a #k::Task,
                        __huey_value: ::core::option::Option<&'a #k::TaskValue>,
                        __huey_error: ::core::option::Option<&'a #p::TaskError>,
                        __huey_state: &'a #k::WorkerState,
                    ) -> #p::BoxFuture<'a, ::core::result::Result<(), #p::TaskError>> {
                        #p::Box::pin(async move {
                            #(#states)*
                            #p::hook_result(#ident(#(#args),*) #dot_await)
                        })
                    }
                },
                quote!(#p::Hook::PostExecute(#wrapper)),
            )
        }
        HookKind::Signal => {
            let call = if func.sig.inputs.len() == 2 {
                quote!({ let _ = __huey_error; #ident(__huey_signal, __huey_task) })
            } else {
                quote!(#ident(__huey_signal, __huey_task, __huey_error))
            };
            let signals = &model.signals;
            (
                quote! {
                    fn #wrapper(
                        __huey_signal: #k::Signal,
                        __huey_task: &#k::Task,
                        __huey_error: ::core::option::Option<&#p::TaskError>,
                    ) {
                        #call
                    }
                },
                quote!(#p::Hook::Signal(&[#(#k::Signal::#signals),*], #wrapper)),
            )
        }
    };
    Ok(quote! {
        #func

        const _: () = {
            #wrapper_fn
            #p::inventory::submit! {
                #p::HookDescriptor {
                    name: #name,
                    location: #p::Location {
                        module: ::core::module_path!(),
                        file: ::core::file!(),
                        line: ::core::line!(),
                    },
                    hook: #hook,
                }
            }
        };
    })
}

/// The `State<T>` lookups of a pre- or post-execute hook, and its call's arguments: `fixed` in
/// order for the fixed parameters, each state where the user put it. A missing state ends the
/// wrapper with the hook's error before the hook runs.
fn hook_args(model: &HookModel, fixed: &[TokenStream]) -> (Vec<TokenStream>, Vec<TokenStream>) {
    let p = &model.krate.private();
    let name = model.func.sig.ident.to_string();
    let mut fixed = fixed.iter();
    let mut states = Vec::new();
    let mut args = Vec::new();
    for (i, param) in model.params.iter().enumerate() {
        match param {
            HookParam::Fixed => args.extend(fixed.next().cloned()),
            HookParam::State(inner) => {
                let var = format_ident!("__huey_state{}", i);
                states.push(quote! {
                    let #var = match #p::hook_state::<#inner>(__huey_state, #name) {
                        ::core::result::Result::Ok(state) => state,
                        ::core::result::Result::Err(error) => return ::core::result::Result::Err(error),
                    };
                });
                args.push(quote!(#var));
            }
        }
    }
    (states, args)
}
