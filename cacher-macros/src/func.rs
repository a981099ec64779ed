//! A typed model of the annotated function: which parameters form the key and how, what the
//! value type is, and whether it is a method. Built from the user's tokens, which it keeps so
//! that errors point at them.

use proc_macro2::{Ident, TokenStream};
use quote::{ToTokens, format_ident};
use syn::punctuated::Punctuated;
use syn::{
    Attribute, Expr, FnArg, GenericArgument, GenericParam, ItemFn, Meta, Pat, PatType,
    PathArguments, ReturnType, Signature, Token, Type,
};

use crate::error::Errors;
use crate::float::{check_no_nested_float, float_role};
use crate::mention::mentions;
use crate::owned::{Shape, borrowed_part};
use crate::types::{check_return_type, check_static_type};

/// The annotated function, analysed.
pub(crate) struct Func {
    /// The function as written, minus the `#[cached(skip)]` attributes of its parameters.
    pub item: ItemFn,
    /// Whether it takes `self` (then its cache is an associated function of `Self`).
    pub method: bool,
    /// The typed parameters, in order (not `self`).
    pub params: Vec<Param>,
    /// What the function returns, and so what the cache stores.
    pub output: Output,
    /// The return type as written (`()` when left out).
    pub ret: Type,
    /// Whether the return type's name ends in `Result` without being `Result` (`AppResult<T>`):
    /// perhaps a `Result` by another name, which the `result` option must settle.
    pub unsure: bool,
    /// Whether `result = …` said what the return type is (or the options are wrong, whose
    /// errors come alone); else a value's type is asked of the compiler too (`result.rs`), which
    /// sees through aliases.
    pub result_said: bool,
    /// The `key = …` expression, which keys each call instead of the arguments.
    pub key: Option<Expr>,
    /// `key_type = "…"`: the key's owned type, for a typed key instead of an encoded one.
    pub key_type: Option<Type>,
}

/// A typed parameter.
pub(crate) struct Param {
    pub ident: Ident,
    pub mutability: Option<Token![mut]>,
    pub ty: Type,
    pub role: Role,
    /// Taken by value and named by the `key = …` expression, which borrows it while the body
    /// runs: the body gets a clone.
    pub in_key_expr: bool,
}

/// How a parameter enters the key.
pub(crate) enum Role {
    /// `#[cached(skip)]`: passed to the body, not part of the key.
    Skip,
    /// `&T`: the key holds `T`'s owned form, and a lookup borrows `T`.
    Borrowed(Box<Type>),
    /// By value: the key holds a clone.
    Owned,
    /// Holds references without being one (`Option<&str>`, `(u32, &str)`, `&[&str]`): the key
    /// holds its owned form.
    Converted(Box<Shape>),
    /// `f32`/`f64`, or a reference to one: the key holds a `cacher::Float` of it.
    Float { float: Ident, by_ref: bool },
}

/// What the function returns.
pub(crate) enum Output {
    /// Any type but a `Result`, `()` included: every value is cached, `None` included.
    Value(Type),
    /// A `…Result<T, …>`: `Ok(T)` is cached, `Err` never. For a `Result` by another name,
    /// `ok` is `<R as Fallible>::Ok`, and the expansion goes through `Fallible` (`by_trait`),
    /// so that a type that is no `Result` is one error, which says so.
    Fallible { ok: Type, by_trait: bool },
}

impl Output {
    /// The type the cache stores.
    pub(crate) fn value_type(&self) -> &Type {
        match self {
            Output::Value(ty) | Output::Fallible { ok: ty, .. } => ty,
        }
    }
}

impl Param {
    pub(crate) fn in_key(&self) -> bool {
        !matches!(self.role, Role::Skip)
    }

    /// Whether the body gets a clone of the argument (the key borrows the original).
    pub(crate) fn is_cloned(&self) -> bool {
        self.in_key_expr
            || matches!(
                self.role,
                Role::Owned | Role::Converted(_) | Role::Float { by_ref: false, .. }
            )
    }
}

impl Func {
    /// Analyses `item`, recording every problem in `errors`. On failure, returns the function
    /// without its parameters' `#[cached]` attributes (which would be errors of their own).
    pub(crate) fn from_syn(
        mut item: ItemFn,
        key: Option<Expr>,
        errors: &mut Errors,
    ) -> Result<Self, Box<ItemFn>> {
        let found = errors.len();
        let skips = strip_param_attributes(&mut item);
        let sig = &item.sig;
        if let Some(token) = &sig.constness {
            errors.at(token, "#[cached] cannot cache a `const fn`: remove `const`");
        }
        if let Some(variadic) = &sig.variadic {
            errors.at(variadic, "#[cached] cannot cache a variadic function");
        }
        let generics = generic_names(sig);
        check_generics_in_arguments(sig, errors);
        crate::instance::check_const_types(sig, errors);
        let (method, params) = params(sig, skips, &generics, key.as_ref(), errors);
        let ret: Type = match &sig.output {
            ReturnType::Default => syn::parse_quote!(()),
            ReturnType::Type(_, ty) => (**ty).clone(),
        };
        let found_in_ret = errors.len();
        if let Type::Never(never) = ungroup(&ret) {
            // As a value it would be the unstable `!` type, twice, in the cache's static.
            let message =
                "a function that never returns (`-> !`) has no value to cache: remove #[cached]";
            errors.at(never, message);
        }
        check_return_type(sig, &ret, &generics, errors);
        let output = output(&ret);
        if errors.len() == found_in_ret {
            check_owned_value(&output, errors);
        }
        if errors.len() > found {
            return Err(Box::new(item));
        }
        Ok(Func {
            item,
            method,
            params,
            output,
            unsure: is_unsure(&ret),
            result_said: false,
            ret,
            key,
            key_type: None,
        })
    }

    /// Settles what is cached with the `result` option: `true` caches `Ok` values only (for a
    /// `Result` by another name), `false` every value (`Err` included).
    pub(crate) fn set_result(&mut self, result: bool, errors: &mut Errors) {
        self.unsure = false;
        self.result_said = true;
        let ret = &self.ret;
        self.output = match (&self.output, result) {
            (Output::Fallible { .. }, true) => return,
            (Output::Value(_), true) => Output::Fallible {
                ok: syn::parse_quote!(<#ret as ::cacher::__private::Fallible>::Ok),
                by_trait: true,
            },
            (_, false) => Output::Value(ret.clone()),
        };
        check_owned_value(&self.output, errors);
    }

    pub(crate) fn name(&self) -> &Ident {
        &self.item.sig.ident
    }

    pub(crate) fn is_async(&self) -> bool {
        self.item.sig.asyncness.is_some()
    }

    /// The companion function that returns the cache: `fetch` → `fetch_cache`.
    pub(crate) fn companion(&self) -> Ident {
        companion_name(self.name())
    }

    /// Whether the body's closure only borrows what it captures, and so can be called through
    /// `FnMut` (`__private::Borrowing`): every argument it may move is cloned into it, any other
    /// is a shared reference (`Copy`), `self` is a shared reference (`&self`, `self: &Self`).
    /// Otherwise the body may move it, and the closure is `FnOnce`: an argument left out of the
    /// key (`#[cached(skip)]`, or not named by `key = …`) taken by value or as `&mut`, `self` by
    /// value, `&mut self`, or a `Box`, `Rc`, `Arc` or `Pin` of it.
    pub(crate) fn body_borrows(&self) -> bool {
        let shared =
            |ty: &Type| matches!(ungroup(ty), Type::Reference(r) if r.mutability.is_none());
        let receiver = self.item.sig.inputs.iter().all(|input| match input {
            FnArg::Receiver(r) => shared(&r.ty),
            FnArg::Typed(_) => true,
        });
        receiver
            && self
                .params
                .iter()
                .all(|p| p.is_cloned() || !matches!(p.role, Role::Skip) || shared(&p.ty))
    }

    pub(crate) fn key_params(&self) -> impl Iterator<Item = &Param> {
        self.params.iter().filter(|p| p.in_key())
    }
}

/// `fetch` → `fetch_cache`, at the function name's span (so that an IDE goes from one to the
/// other).
fn companion_name(name: &Ident) -> Ident {
    let text = name.to_string();
    let text = text.strip_prefix("r#").unwrap_or(&text);
    format_ident!("{}_cache", text, span = name.span())
}

/// A parameter's `#[cached(...)]` attributes, taken out of the signature.
type ParamAttrs = Vec<Attribute>;

fn strip_param_attributes(item: &mut ItemFn) -> Vec<ParamAttrs> {
    item.sig
        .inputs
        .iter_mut()
        .map(|input| {
            let attrs = match input {
                FnArg::Receiver(r) => &mut r.attrs,
                FnArg::Typed(t) => &mut t.attrs,
            };
            let (ours, theirs) = std::mem::take(attrs)
                .into_iter()
                .partition(|a| a.path().is_ident("cached"));
            *attrs = theirs;
            ours
        })
        .collect()
}

/// Whether the parameter attributes say `#[cached(skip)]`; any other use is an error.
fn is_skipped(attrs: &[Attribute], errors: &mut Errors) -> bool {
    let mut skip: Option<&Attribute> = None;
    for attr in attrs {
        let Meta::List(list) = &attr.meta else {
            errors.at(
                attr,
                "on a parameter, write `#[cached(skip)]` to leave it out of the key",
            );
            continue;
        };
        let parsed = list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated);
        let metas = match parsed {
            Ok(metas) => metas,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        if metas.is_empty() {
            errors.at(
                attr,
                "on a parameter, write `#[cached(skip)]` to leave it out of the key",
            );
        }
        for meta in metas {
            match meta {
                Meta::Path(p) if p.is_ident("skip") => {
                    if skip.is_some() {
                        errors.at(attr, "duplicate `#[cached(skip)]`: give it once");
                    }
                    skip = Some(attr);
                }
                Meta::Path(p) => errors.at(
                    &p,
                    format!(
                        "unknown parameter option `{}`: the only one is `skip`, as in `#[cached(skip)]`",
                        quote::quote!(#p).to_string().replace(' ', "")
                    ),
                ),
                other => errors.at(
                    &other,
                    "on a parameter, write `#[cached(skip)]` to leave it out of the key (it takes no value)",
                ),
            }
        }
    }
    skip.is_some()
}

/// The type and const parameters, which may appear in skipped parameters only: the cache is
/// one static, whose key and value types must be concrete.
fn generic_names(sig: &Signature) -> Vec<Ident> {
    sig.generics
        .params
        .iter()
        .filter_map(|p| match p {
            GenericParam::Type(t) => Some(t.ident.clone()),
            GenericParam::Const(c) => Some(c.ident.clone()),
            GenericParam::Lifetime(_) => None,
        })
        .collect()
}

/// A type or const parameter that no argument mentions chooses what the function does by itself
/// (`price::<Eu>(1)` against `price::<Us>(1)`), and one static cache cannot tell the two apart.
fn check_generics_in_arguments(sig: &Signature, errors: &mut Errors) {
    let arguments: TokenStream = sig
        .inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Typed(typed) => Some(typed.ty.to_token_stream()),
            FnArg::Receiver(_) => None,
        })
        .collect();
    // One in the return type is refused there already: one mistake, one error.
    let ret = sig.output.to_token_stream();
    for name in generic_names(sig) {
        if !mentions(arguments.clone(), &name) && !mentions(ret.clone(), &name) {
            let function = &sig.ident;
            errors.at(
                &name,
                format!(
                    "`{name}` is in no argument, so one cache would serve every `{name}` (`{function}::<A>` and `{function}::<B>` would share values): make the function concrete, or pass a value that carries `{name}` as an argument marked `#[cached(skip)]`"
                ),
            );
        }
    }
}

/// Whether the function takes `self`, and its typed parameters.
fn params(
    sig: &Signature,
    skips: Vec<ParamAttrs>,
    generics: &[Ident],
    key: Option<&Expr>,
    errors: &mut Errors,
) -> (bool, Vec<Param>) {
    let companion = companion_name(&sig.ident);
    let mut method = false;
    let mut params = Vec::new();
    for (input, attrs) in sig.inputs.iter().zip(skips) {
        let skip = is_skipped(&attrs, errors);
        if let (true, Some(attr)) = (skip && key.is_some(), attrs.first()) {
            errors.at(attr, "with `key = …` the expression alone is the key, and no argument is in it by itself: remove `#[cached(skip)]`");
        }
        match input {
            FnArg::Receiver(_) => {
                method = true;
                if skip {
                    errors.at(
                        &attrs[0],
                        "`self` is never part of the key (one cache serves every instance): remove `#[cached(skip)]`",
                    );
                }
            }
            FnArg::Typed(typed) => {
                let Some(param) = Param::from_syn(typed, skip, generics, key, errors) else {
                    continue;
                };
                if param.ident == companion {
                    errors.at(
                        &param.ident,
                        format!("parameter `{companion}` hides the cache's companion function `{companion}()` that #[cached] generates: rename the parameter"),
                    );
                }
                params.push(param);
            }
        }
    }
    if let Some(key) = key
        && (method || !params.is_empty())
    {
        crate::key::check_key_uses_arguments(key, &params, errors);
    }
    if key.is_none() {
        crate::key::check_key_width(&params, errors);
    }
    (method, params)
}

impl Param {
    /// One typed parameter, or `None` (with an error) when it has no plain name.
    fn from_syn(
        typed: &PatType,
        skip: bool,
        generics: &[Ident],
        key: Option<&Expr>,
        errors: &mut Errors,
    ) -> Option<Self> {
        let plain = match &*typed.pat {
            Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => Some(pat),
            _ => None,
        };
        let Some(pat) = plain else {
            errors.at(
                &typed.pat,
                "#[cached] needs a plain name for each parameter, to key and pass it: write `name: Type` and destructure in the body",
            );
            return None;
        };
        let ty = (*typed.ty).clone();
        // With `key = …`, the expression is the key, and no argument is a key by itself.
        let role = if skip || key.is_some() {
            Role::Skip
        } else {
            check_static_type(&ty, generics, "argument", errors);
            match float_role(&ty) {
                Some(role) => role,
                None => {
                    check_no_nested_float(&ty, errors);
                    key_role(&ty, errors)
                }
            }
        };
        let in_key_expr = key.is_some_and(|key| {
            mentions(key.to_token_stream(), &pat.ident)
                && !matches!(ungroup(&ty), Type::Reference(_))
        });
        Some(Param {
            ident: pat.ident.clone(),
            mutability: pat.mutability,
            ty,
            role,
            in_key_expr,
        })
    }
}

/// How a key argument of type `ty` enters the key.
fn key_role(ty: &Type, errors: &mut Errors) -> Role {
    match ungroup(ty) {
        Type::Reference(r) if r.mutability.is_some() => {
            errors.at(
                ty,
                "a `&mut` argument cannot be part of the key: mark it `#[cached(skip)]`",
            );
            Role::Skip
        }
        Type::Reference(r) if borrowed_part(&r.elem).is_none() => Role::Borrowed(r.elem.clone()),
        _ if borrowed_part(ty).is_none() => Role::Owned,
        _ => match Shape::of(ty) {
            Ok(shape) => Role::Converted(Box::new(shape)),
            Err(part) => {
                errors.at(
                    part,
                    "the key keeps an owned form of each argument, and #[cached] makes one for `&T`, `Cow<'_, T>`, and `Option`s, tuples, `Vec`s, slices and arrays of them, not for this borrowed type: take it owned (e.g. `String`), or mark the parameter `#[cached(skip)]`",
                );
                Role::Skip
            }
        },
    }
}

/// Whether the return type's name ends in `Result` without being `Result`: `AppResult<T>`.
fn is_unsure(ret: &Type) -> bool {
    let Type::Path(path) = ungroup(ret) else {
        return false;
    };
    path.path.segments.last().is_some_and(|last| {
        let name = last.ident.to_string();
        name != "Result" && name.ends_with("Result")
    })
}

/// The cache hands out clones of the values it keeps, which cannot borrow from the call.
fn check_owned_value(output: &Output, errors: &mut Errors) {
    if let Some(part) = borrowed_part(output.value_type()) {
        errors.at(
            part,
            "#[cached] returns clones of the values it keeps, which outlive the call and so cannot borrow from it: return an owned type (`String` for `&str`, `Vec<T>` for `&[T]`), an `Arc`, or a `&'static` reference",
        );
    }
}

/// The type inside parentheses and the invisible groups of `macro_rules!` fragments.
pub(crate) fn ungroup(ty: &Type) -> &Type {
    match ty {
        Type::Group(group) => ungroup(&group.elem),
        Type::Paren(paren) => ungroup(&paren.elem),
        other => other,
    }
}

/// A `…Result<T, …>` is fallible, and a `…Result` without arguments (`type Result = …`), whose
/// `Ok` type is then found through `Fallible`; anything else is a value.
fn output(ty: &Type) -> Output {
    if let Type::Path(path) = ungroup(ty)
        && let Some(last) = path.path.segments.last()
        && last.ident == "Result"
    {
        return match &last.arguments {
            PathArguments::AngleBracketed(args) => match args.args.first() {
                Some(GenericArgument::Type(ok)) => Output::Fallible {
                    ok: ok.clone(),
                    by_trait: false,
                },
                _ => Output::Value(ty.clone()),
            },
            PathArguments::None => Output::Fallible {
                ok: syn::parse_quote!(<#ty as ::cacher::__private::Fallible>::Ok),
                by_trait: true,
            },
            PathArguments::Parenthesized(_) => Output::Value(ty.clone()),
        };
    }
    Output::Value(ty.clone())
}
