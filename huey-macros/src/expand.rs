//! Expansion of a validated [`TaskModel`]: the untouched function, the typed handle beside it,
//! and the registration.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::model::{Output, ParamSource, TaskKind, TaskModel};

fn duration(p: &TokenStream, nanos: Option<u64>) -> TokenStream {
    match nanos {
        Some(n) => quote!(::core::option::Option::Some(#p::Duration::from_nanos(#n))),
        None => quote!(::core::option::Option::None),
    }
}

pub fn task(model: &TaskModel) -> TokenStream {
    let p = &model.krate().private();
    let k = &model.krate().root();
    let func = &model.func;
    let vis = &func.vis;
    let fn_ident = &func.sig.ident;
    let fn_name = fn_ident.to_string();
    let name = match &model.options.name {
        Some(lit) => quote!(#lit),
        None => quote!(::core::concat!(::core::module_path!(), "::", #fn_name)),
    };

    // Options.
    let o = &model.options;
    let retries = o.retries.unwrap_or(0);
    let retry_delay_nanos = o.retry_delay.unwrap_or(0);
    let retry_backoff = o.retry_backoff.unwrap_or(0.0);
    let priority = o.priority.unwrap_or(0);
    let expires = duration(p, o.expires);
    let timeout = duration(p, o.timeout);
    let options = quote! {
        #p::TaskOptions {
            retries: #retries,
            retry_delay: #p::Duration::from_nanos(#retry_delay_nanos),
            retry_backoff: #retry_backoff,
            priority: #priority,
            expires: #expires,
            timeout: #timeout,
        }
    };
    let periodic = model.kind == TaskKind::Periodic;
    let crontab = match o.crontab.map(|c| c.masks()) {
        Some((mi, h, d, mo, w)) => {
            quote!(::core::option::Option::Some(#p::Crontab::from_masks(#mi, #h, #d, #mo, #w)))
        }
        None => quote!(::core::option::Option::None),
    };
    let lock = match &o.lock {
        Some(lock) => {
            let lock_name = &lock.name;
            let ttl = duration(p, lock.ttl);
            quote!(::core::option::Option::Some(#p::LockSpec { name: #lock_name, ttl: #ttl }))
        }
        None => quote!(::core::option::Option::None),
    };
    let rate_limit = match &o.rate_limit {
        Some(rl) => {
            // Unnamed, a rate limit is the task's own: it takes the task's registered name.
            let rl_name = match &rl.name {
                Some(lit) => quote!(#lit),
                None => name.clone(),
            };
            let (limit, per, retry) = (rl.limit, rl.per, rl.retry);
            quote!(::core::option::Option::Some(#p::RateLimitSpec {
                name: #rl_name,
                limit: #limit,
                per: #p::Duration::from_nanos(#per),
                retry: #retry,
            }))
        }
        None => quote!(::core::option::Option::None),
    };
    let semaphore = match &o.semaphore {
        Some(sem) => {
            let (sem_name, value) = (&sem.name, sem.value);
            let timeout = match sem.timeout {
                Some(nanos) => quote!(#p::Duration::from_nanos(#nanos)),
                None => quote!(#p::TaskSemaphore::DEFAULT_TIMEOUT),
            };
            quote!(::core::option::Option::Some(#p::SemaphoreSpec {
                name: #sem_name,
                value: #value,
                timeout: #timeout,
            }))
        }
        None => quote!(::core::option::Option::None),
    };
    let schedule = match &o.crontab_text {
        Some(text) => quote!(::core::option::Option::Some(#text)),
        None => quote!(::core::option::Option::None),
    };

    // Message arguments.
    let msg: Vec<_> = model.message_params().collect();
    let msg_idents: Vec<_> = msg.iter().map(|p| &p.ident).collect();
    let msg_types: Vec<_> = msg.iter().map(|p| &p.ty).collect();
    let args_type = if msg.is_empty() {
        quote!(#p::NoArgs)
    } else {
        quote!((#(#msg_types,)*))
    };
    let args_value = if msg.is_empty() {
        quote!(#p::NoArgs)
    } else {
        quote!((#(#msg_idents,)*))
    };
    let map_item = match msg_types.as_slice() {
        [] => quote!(()),
        [one] => quote!(#one),
        many => quote!((#(#many,)*)),
    };
    let map_pattern = match msg_idents.as_slice() {
        [] => quote!(()),
        [one] => quote!(#one),
        many => quote!((#(#many,)*)),
    };
    let arg_checks = msg_types.iter().map(|ty| {
        quote_spanned! {ty.span()=>
            const _: () = #p::assert_message_arg::<#ty>();
        }
    });

    // Output.
    let (output_type, wrap) = match &model.output {
        Output::Unit => (
            quote!(()),
            quote!(::core::result::Result::Ok::<(), #p::TaskError>),
        ),
        Output::Value(ty) => (
            quote!(#ty),
            quote!(::core::result::Result::Ok::<#ty, #p::TaskError>),
        ),
        Output::Fallible(ty) => (
            quote!(<#ty as #p::IntoTaskResult>::Output),
            quote!(#p::IntoTaskResult::into_task_result),
        ),
    };
    let output_check = match &model.output {
        Output::Unit => quote!(),
        Output::Value(ty) | Output::Fallible(ty) => quote_spanned! {ty.span()=>
            const _: () = #p::assert_output::<#output_type>();
        },
    };

    // The call of the user's function inside the invoke function.
    let call_args = model.params.iter().map(|param| match param.source {
        ParamSource::Task => quote!(&*__huey_task),
        ParamSource::ContextValue if model.kind == TaskKind::Closing => quote!(&__huey_handle),
        ParamSource::ContextValue => quote!(__huey_ctx_value),
        _ => {
            let ident = &param.ident;
            quote!(#ident)
        }
    });
    let dot_await = model.is_async().then(|| quote!(.await));
    let call = quote!(#p::encode(#wrap(#fn_ident(#(#call_args),*) #dot_await)));
    let decode_args = (!msg.is_empty()).then(|| {
        quote! {
            let (#(#msg_idents,)*): #args_type = match __huey_inv.args() {
                ::core::result::Result::Ok(args) => args,
                ::core::result::Result::Err(error) => return ::core::result::Result::Err(error),
            };
        }
    });
    let states = model.params.iter().filter_map(|param| match &param.source {
        ParamSource::State(inner) => {
            let ident = &param.ident;
            Some(quote! {
                let #ident = match __huey_inv.state::<#inner>() {
                    ::core::result::Result::Ok(state) => state,
                    ::core::result::Result::Err(error) => return ::core::result::Result::Err(error),
                };
            })
        }
        _ => None,
    });
    let run = if model.is_async() {
        run_async(model, &call)
    } else {
        run_sync(model, &call)
    };
    let blocking = !model.is_async();

    let handle_doc = format!(
        "Typed handle of the [`{fn_name}()`] task: build calls with `{fn_name}::call(..)`, \
         enqueue with `{fn_name}::enqueue(&huey, ..)`."
    );
    let handle_ident = fn_ident.clone();
    let handle_params = msg.iter().map(|p| {
        let ident = &p.ident;
        let ty = &p.ty;
        quote!(#ident: #ty)
    });
    let handle_params: Vec<_> = handle_params.collect();
    let partial = msg.split_last().map(|(last, leading)| {
        let params = &handle_params[..leading.len()];
        let idents = leading.iter().map(|p| &p.ident);
        let types = leading.iter().map(|p| &p.ty);
        let (prefix_type, prefix_value) = if leading.is_empty() {
            (quote!(#p::NoArgs), quote!(#p::NoArgs))
        } else {
            (quote!((#(#types,)*)), quote!((#(#idents,)*)))
        };
        let last_ty = &last.ty;
        quote! {
            /// A pipeline stage of this task: every argument but the last, which the previous
            /// stage's value fills (see `huey_core::pipeline`).
            #vis fn partial(#(#params),*) -> #k::PartialCall<#handle_ident, #prefix_type, #last_ty> {
                #k::PartialCall::new(#prefix_value)
            }
        }
    });
    let invoke_ident = format_ident!("__huey_invoke_{}", fn_ident);
    // Put the associated type on the user's parameter list, so that an argument type that
    // cannot travel in a message is reported there rather than on the attribute.
    let args_span = if model.func.sig.inputs.is_empty() {
        proc_macro2::Span::call_site()
    } else {
        model.func.sig.inputs.span()
    };
    let args_item = quote_spanned!(args_span=> type Args = #args_type;);

    quote! {
        #func

        #[doc = #handle_doc]
        #[allow(non_camel_case_types)]
        #vis struct #handle_ident {}

        impl #k::TaskDef for #handle_ident {
            const NAME: &'static str = #name;
            const OPTIONS: #k::TaskOptions = #options;
            const PERIODIC: bool = #periodic;
            #args_item
            type Output = #output_type;
        }

        #[allow(dead_code, clippy::too_many_arguments)]
        impl #handle_ident {
            /// The name this task is registered under.
            #vis const NAME: &'static str = #name;

            /// Builds a call of this task, to adjust (delay, ETA, priority, retries...) and enqueue.
            #vis fn call(#(#handle_params),*) -> #k::TaskCall<#handle_ident> {
                #k::TaskCall::new(#args_value)
            }

            #partial

            /// Enqueues a call of this task with its declared options.
            #vis async fn enqueue(
                huey: &#k::Huey,
                #(#handle_params),*
            ) -> ::core::result::Result<#k::TaskResult<#output_type>, #k::HueyError> {
                Self::call(#(#msg_idents),*).enqueue(huey).await
            }

            /// Enqueues a call from sync code, blocking until it is stored.
            #vis fn blocking_enqueue(
                huey: &#k::Huey,
                #(#handle_params),*
            ) -> ::core::result::Result<#k::TaskResult<#output_type>, #k::HueyError> {
                Self::call(#(#msg_idents),*).blocking_enqueue(huey)
            }

            /// Enqueues one call per item, in one storage call (Huey's `map`).
            #vis async fn map(
                huey: &#k::Huey,
                items: impl ::core::iter::IntoIterator<Item = #map_item>,
            ) -> ::core::result::Result<#k::ResultGroup<#output_type>, #k::HueyError> {
                let mut messages = ::std::vec::Vec::new();
                for #map_pattern in items {
                    messages.push(Self::call(#(#msg_idents),*).into_message()?);
                }
                huey.enqueue_messages(messages).await
            }

            /// Revokes every instance of this task.
            #vis async fn revoke(huey: &#k::Huey, how: #k::Revoke) -> ::core::result::Result<(), #k::HueyError> {
                huey.revoke_all(Self::NAME, how).await
            }

            /// Restores this task type; returns whether it was revoked.
            #vis async fn restore(huey: &#k::Huey) -> ::core::result::Result<bool, #k::HueyError> {
                huey.restore_all(Self::NAME).await
            }

            /// Whether this task type is revoked now.
            #vis async fn is_revoked(huey: &#k::Huey) -> ::core::result::Result<bool, #k::HueyError> {
                huey.is_revoked_all(Self::NAME).await
            }
        }

        #[doc(hidden)]
        #[allow(non_snake_case)]
        fn #invoke_ident<'a>(__huey_inv: #p::Invocation<'a>) -> #p::BoxFuture<'a, #p::Outcome> {
            #p::Box::pin(async move {
                #decode_args
                #(#states)*
                let __huey_task = #p::Arc::clone(__huey_inv.task());
                #run
            })
        }

        const _: () = {
            #(#arg_checks)*
            #output_check
            #p::inventory::submit! {
                #p::TaskDescriptor {
                    name: #name,
                    fn_name: #fn_name,
                    location: #p::Location {
                        module: ::core::module_path!(),
                        file: ::core::file!(),
                        line: ::core::line!(),
                    },
                    options: #options,
                    periodic: #crontab,
                    schedule: #schedule,
                    blocking: #blocking,
                    lock: #lock,
                    rate_limit: #rate_limit,
                    semaphore: #semaphore,
                    invoke: #invoke_ident,
                }
            }
        };
    }
}

/// An async body: guarded (timeout, panic) inside the resource or context wrapper.
fn run_async(model: &TaskModel, call: &TokenStream) -> TokenStream {
    let p = &model.krate().private();
    let guarded = quote!(#p::guard(&__huey_task, async { #call }).await);
    match (model.kind, &model.target) {
        (TaskKind::Closing, Some(resource)) => {
            let (find, open, close) = resource_calls(model, resource);
            quote! {{
                let __huey_resource = #find;
                let __huey_handle = match #open(__huey_resource).await {
                    ::core::result::Result::Ok(handle) => handle,
                    ::core::result::Result::Err(error) => return ::core::result::Result::Err(error),
                };
                let __huey_outcome = #guarded;
                let __huey_close = #close(__huey_resource, __huey_handle);
                #p::close_after(&__huey_inv, __huey_outcome, __huey_close).await
            }}
        }
        (TaskKind::Context, Some(object)) => context(model, object, guarded),
        _ => guarded,
    }
}

/// A sync body: runs on the blocking pool, wrapped there.
fn run_sync(model: &TaskModel, call: &TokenStream) -> TokenStream {
    let p = &model.krate().private();
    let body = match (model.kind, &model.target) {
        (TaskKind::Closing, Some(resource)) => {
            let (find, open, close) = resource_calls(model, resource);
            // The outcome goes out before the close, so a slow close cannot hold it past the
            // deadline (see `run_blocking_closing`).
            return quote! {{
                let (__huey_done, __huey_body_done) = #p::body_outcome();
                #p::run_blocking_closing(&__huey_inv, __huey_body_done, move || {
                    let __huey_task = &*__huey_task;
                    let __huey_resource = #find;
                    let __huey_handle = #p::block_on_here(#open(__huey_resource))?;
                    let __huey_outcome = #p::guard_sync(|| #call);
                    let _ = __huey_done.send(::core::clone::Clone::clone(&__huey_outcome));
                    #p::block_on_here(#close(__huey_resource, __huey_handle));
                    __huey_outcome
                })
                .await
            }};
        }
        (TaskKind::Context, Some(object)) => {
            context(model, object, quote!(#p::guard_sync(|| #call)))
        }
        _ => call.clone(),
    };
    quote! {
        #p::run_blocking(move || {
            let __huey_task = &*__huey_task;
            #body
        })
        .await
    }
}

fn context(model: &TaskModel, object: &syn::Expr, guarded: TokenStream) -> TokenStream {
    let k = &model.krate().root();
    let value_for_exit = if model.options.as_argument.is_some() {
        quote!(::core::option::Option::None)
    } else {
        quote!(::core::option::Option::Some(__huey_ctx_value))
    };
    let span = object.span();
    let find = lookup(model, object, Target::Context);
    let enter = quote_spanned!(span=> #k::ContextManager::enter);
    let exit = quote_spanned!(span=> #k::ContextManager::exit);
    quote! {{
        let __huey_ctx = #find;
        let __huey_ctx_value = #enter(__huey_ctx);
        let __huey_outcome = #guarded;
        #exit(__huey_ctx, #value_for_exit, __huey_outcome.is_err());
        __huey_outcome
    }}
}

/// The lookup of a closing task's resource, and the paths of its `open` and `close`, spanned
/// on the user's expression (as `lookup` is), where a failed bound belongs.
fn resource_calls(
    model: &TaskModel,
    resource: &syn::Expr,
) -> (TokenStream, TokenStream, TokenStream) {
    let k = &model.krate().root();
    let span = resource.span();
    (
        lookup(model, resource, Target::Resource),
        quote_spanned!(span=> #k::Resource::open),
        quote_spanned!(span=> #k::Resource::close),
    )
}

enum Target {
    Resource,
    Context,
}

/// `&(#target)` itself, or what it dereferences to, found by `huey_core`'s `lookup` (see
/// there). Spanned on the user's expression, so that the error for a target that is neither
/// points at it.
fn lookup(model: &TaskModel, target: &syn::Expr, kind: Target) -> TokenStream {
    let p = &model.krate().private();
    let l = quote!(#p::lookup);
    let (find, traits) = match kind {
        Target::Resource => (
            "find_resource",
            quote!(
                ResourceItself as _,
                ResourceOnce as _,
                ResourceTwice as _,
                NotAResource as _
            ),
        ),
        Target::Context => (
            "find_context",
            quote!(
                ContextItself as _,
                ContextOnce as _,
                ContextTwice as _,
                NotAContextManager as _
            ),
        ),
    };
    // The method's name carries the span the compiler reports a failed bound at.
    let find = proc_macro2::Ident::new(find, target.span());
    quote_spanned! {target.span()=>
        {
            #[allow(unused_imports)]
            use #l::{#traits};
            (&&&#l::Lookup(&(#target))).#find()
        }
    }
}
