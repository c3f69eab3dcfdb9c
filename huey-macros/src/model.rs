//! The task model: what a `#[task]`-family attribute says about a function, validated.

use proc_macro2::{Span, TokenStream};
use syn::spanned::Spanned;
use syn::{Expr, FnArg, Ident, ItemFn, Pat, ReturnType, Type};

use crate::attr::{CratePath, RawArgs, TaskOptions, parse_options};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TaskKind {
    Plain,
    Periodic,
    Closing,
    Context,
}

impl TaskKind {
    pub fn attr_name(self) -> &'static str {
        match self {
            TaskKind::Plain => "task",
            TaskKind::Periodic => "periodic_task",
            TaskKind::Closing => "closing_task",
            TaskKind::Context => "context_task",
        }
    }
}

/// Where a parameter's value comes from.
pub enum ParamSource {
    /// Decoded from the message.
    Message,
    /// The worker's `State<T>`; holds `T`.
    State(Box<Type>),
    /// The running `&Task` (`context` option).
    Task,
    /// The value of the context manager (`as_argument`).
    ContextValue,
}

pub struct Param {
    pub ident: Ident,
    pub ty: Type,
    pub source: ParamSource,
}

/// How the function returns.
pub enum Output {
    /// `()` or no return type.
    Unit,
    /// A plain value.
    Value(Type),
    /// `Result<T, E>` (or an alias whose last segment is `Result`).
    Fallible(Type),
}

pub struct TaskModel {
    pub kind: TaskKind,
    pub func: ItemFn,
    pub options: TaskOptions,
    pub target: Option<Expr>,
    pub params: Vec<Param>,
    pub output: Output,
}

impl TaskModel {
    pub fn parse(kind: TaskKind, args: TokenStream, item: TokenStream) -> syn::Result<TaskModel> {
        let func: ItemFn = syn::parse2(item).map_err(|e| {
            syn::Error::new(
                e.span(),
                format!("#[{}] must be placed on a free function", kind.attr_name()),
            )
        })?;
        let raw = RawArgs::parse(args, matches!(kind, TaskKind::Closing | TaskKind::Context))?;
        let extra: &[&str] = match kind {
            TaskKind::Periodic => &["crontab"],
            TaskKind::Context | TaskKind::Closing => &["as_argument"],
            _ => &[],
        };
        let options = parse_options(&raw.metas, extra)?;
        if kind == TaskKind::Periodic && options.crontab.is_none() {
            return Err(syn::Error::new(
                Span::call_site(),
                "#[periodic_task] needs a schedule: `#[periodic_task(crontab(minute = \"*/5\"))]`",
            ));
        }
        check_signature(&func, kind)?;
        let params = classify_params(&func, kind, &options)?;
        let output = classify_output(&func.sig.output)?;
        Ok(TaskModel {
            kind,
            func,
            options,
            target: raw.target,
            params,
            output,
        })
    }

    /// Where the expansion finds `huey_core` (the `crate = path` option).
    pub fn krate(&self) -> &CratePath {
        &self.options.krate
    }

    pub fn is_async(&self) -> bool {
        self.func.sig.asyncness.is_some()
    }

    pub fn message_params(&self) -> impl Iterator<Item = &Param> {
        self.params
            .iter()
            .filter(|p| matches!(p.source, ParamSource::Message))
    }
}

fn check_signature(func: &ItemFn, kind: TaskKind) -> syn::Result<()> {
    let sig = &func.sig;
    let attr = kind.attr_name();
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &sig.generics,
            format!("#[{attr}] functions cannot be generic: a task is registered once, by name"),
        ));
    }
    if let Some(w) = &sig.generics.where_clause {
        return Err(syn::Error::new_spanned(
            w,
            format!("#[{attr}] functions cannot have a where clause"),
        ));
    }
    if let Some(v) = &sig.variadic {
        return Err(syn::Error::new_spanned(
            v,
            format!("#[{attr}] functions cannot be variadic"),
        ));
    }
    if let Some(c) = &sig.constness {
        return Err(syn::Error::new_spanned(
            c,
            format!("#[{attr}] functions cannot be const"),
        ));
    }
    if let Some(u) = &sig.unsafety {
        return Err(syn::Error::new_spanned(
            u,
            format!("#[{attr}] functions cannot be unsafe"),
        ));
    }
    if let Some(abi) = &sig.abi {
        return Err(syn::Error::new_spanned(
            abi,
            format!("#[{attr}] functions cannot have an ABI"),
        ));
    }
    Ok(())
}

/// The last path segment of a type, if it is a path.
pub(crate) fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        Type::Group(g) => last_segment(&g.elem),
        Type::Paren(p) => last_segment(&p.elem),
        _ => None,
    }
}

pub(crate) fn single_generic(seg: &syn::PathSegment) -> Option<&Type> {
    match &seg.arguments {
        syn::PathArguments::AngleBracketed(a) if a.args.len() == 1 => match a.args.first() {
            Some(syn::GenericArgument::Type(t)) => Some(t),
            _ => None,
        },
        _ => None,
    }
}

fn is_task_ref(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) if r.mutability.is_none() => {
            last_segment(&r.elem).is_some_and(|s| s.ident == "Task" && s.arguments.is_empty())
        }
        _ => false,
    }
}

fn classify_params(
    func: &ItemFn,
    kind: TaskKind,
    options: &TaskOptions,
) -> syn::Result<Vec<Param>> {
    let mut params = Vec::new();
    let mut has_task = false;
    for (i, input) in func.sig.inputs.iter().enumerate() {
        let pat_type = match input {
            FnArg::Receiver(r) => {
                return Err(syn::Error::new_spanned(
                    r,
                    "task functions cannot take `self`: declare tasks as free functions",
                ));
            }
            FnArg::Typed(t) => t,
        };
        let ident = match pat_type.pat.as_ref() {
            Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => p.ident.clone(),
            _ => Ident::new(&format!("__huey_arg{i}"), pat_type.pat.span()),
        };
        if ident == "huey" {
            return Err(syn::Error::new_spanned(
                &pat_type.pat,
                "a task parameter cannot be named `huey`: the generated handle uses that name for the queue",
            ));
        }
        let ty = (*pat_type.ty).clone();
        let source = if i == 0 && options.as_argument.is_some() {
            ParamSource::ContextValue
        } else if is_task_ref(&ty) {
            if options.context.is_none() {
                return Err(syn::Error::new_spanned(
                    &pat_type.ty,
                    "a `&Task` parameter needs the `context` option: `#[task(context)]`",
                ));
            }
            has_task = true;
            ParamSource::Task
        } else if let Some(inner) = last_segment(&ty)
            .filter(|s| s.ident == "State")
            .and_then(single_generic)
        {
            ParamSource::State(Box::new(inner.clone()))
        } else {
            check_message_type(&ty)?;
            if kind == TaskKind::Periodic {
                return Err(syn::Error::new_spanned(
                    &pat_type.ty,
                    "periodic tasks take no arguments (only `State<T>` and, with `context`, `&Task`)",
                ));
            }
            ParamSource::Message
        };
        params.push(Param { ident, ty, source });
    }
    if let Some(span) = options.context
        && !has_task
    {
        return Err(syn::Error::new(
            span,
            "the `context` option needs a parameter of type `&Task` to receive the task",
        ));
    }
    if let Some(span) = options.as_argument
        && params.is_empty()
    {
        return Err(syn::Error::new(
            span,
            "`as_argument` passes the context value as the first parameter, but the function has none",
        ));
    }
    Ok(params)
}

/// Rejects argument types that can never travel in a message; the rest are checked by the
/// compiler against `Serialize + DeserializeOwned`, with the error on the type's span.
fn check_message_type(ty: &Type) -> syn::Result<()> {
    let problem = match ty {
        Type::Reference(_) => Some(
            "task arguments travel in a message and must be owned: use `String` for `&str`, `Vec<T>` for `&[T]`",
        ),
        Type::ImplTrait(_) => Some("task arguments cannot be `impl Trait`: name a concrete type"),
        Type::TraitObject(_) => Some("task arguments cannot be trait objects"),
        Type::Ptr(_) => Some("task arguments cannot be raw pointers"),
        Type::BareFn(_) => Some("task arguments cannot be function pointers"),
        Type::Never(_) => Some("task arguments cannot be `!`"),
        _ => None,
    };
    match problem {
        Some(message) => Err(syn::Error::new_spanned(ty, message)),
        None => Ok(()),
    }
}

fn classify_output(output: &ReturnType) -> syn::Result<Output> {
    let ty = match output {
        ReturnType::Default => return Ok(Output::Unit),
        ReturnType::Type(_, ty) => ty.as_ref(),
    };
    match ty {
        Type::Tuple(t) if t.elems.is_empty() => Ok(Output::Unit),
        Type::Reference(_) => Err(syn::Error::new_spanned(
            ty,
            "task results are stored and must be owned: return `String` instead of `&str`",
        )),
        Type::ImplTrait(_) => Err(syn::Error::new_spanned(
            ty,
            "task results cannot be `impl Trait`: name a concrete type",
        )),
        _ if last_segment(ty).is_some_and(|s| s.ident == "Result") => {
            Ok(Output::Fallible(ty.clone()))
        }
        _ => Ok(Output::Value(ty.clone())),
    }
}
