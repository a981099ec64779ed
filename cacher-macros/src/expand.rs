//! Code generation: the function, rewritten to look its arguments up in its cache, and the
//! companion `<name>_cache()` that gives the cache to its callers.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::{AttrStyle, FnArg, Item, ItemFn, Pat, ReturnType, Signature};

use crate::func::{Func, Output};
use crate::key::{kept_key_type, key_type};
use crate::plan::Plan;
use crate::site::Finder;
use crate::types::{respan, static_type};

/// The function, rewritten to use its cache, and the companion that gives the cache to its
/// callers (unless `companion = false`).
pub(crate) fn cached(plan: &Plan, func: &Func) -> TokenStream {
    let expansion = crate::site::next_expansion();
    let named = Named::of(func);
    let function = function(plan, func, &named, expansion);
    if !plan.companion {
        return function;
    }
    let companion = companion(plan, func, &named, expansion);
    quote!(#function #companion)
}

/// The types an expansion names in each of its bodies (the bounds' checks, the statics, the
/// cache's type), made once for all of them: each is a walk of the function's types, which a
/// macro pays for at every build of its callers (compile time).
pub(crate) struct Named {
    /// The key's parts named as `Kept` (`key::kept_key_type`).
    pub(crate) kept: TokenStream,
    /// The value type, as the static names it ([`value_type`]).
    pub(crate) value: TokenStream,
    /// The key type `K` of the function's cache ([`key_type`]).
    pub(crate) key: TokenStream,
    /// `::cacher::Cache<K, V>` of the function.
    pub(crate) cache: TokenStream,
    /// The bounds' checks ([`checks`]).
    pub(crate) checks: TokenStream,
}

impl Named {
    /// What `func`'s expansion names.
    fn of(func: &Func) -> Self {
        let (kept, value, key) = (kept_key_type(func), value_type(func), key_type(func));
        Self {
            checks: checks(&kept, &value),
            cache: quote!(::cacher::Cache<#key, #value>),
            key,
            kept,
            value,
        }
    }
}

/// The user's function: same signature, attributes and visibility; its body runs inside a
/// closure that the cache calls on a miss.
fn function(plan: &Plan, func: &Func, named: &Named, expansion: u32) -> TokenStream {
    let ItemFn { attrs, vis, .. } = &func.item;
    let is_outer = |a: &&syn::Attribute| matches!(a.style, AttrStyle::Outer);
    let outer = attrs.iter().filter(is_outer);
    let inner = attrs.iter().filter(|a| !is_outer(a));
    let sig = signature(func);
    let checks = [named.checks.clone(), crate::result::not_result(func)];
    let cache = crate::site::cache(plan, func, named, Finder::Function, expansion);
    let lookup = lookup(func, &cache, plan);
    quote! {
        #(#outer)*
        #vis #sig {
            #(#inner)*
            #(#checks)*
            #lookup
        }
    }
}

/// The signature as written, but for the `mut` of by-value key arguments: they are cloned
/// inside the closure (the key borrows the originals), so their `mut` goes to the clone.
fn signature(func: &Func) -> Signature {
    let mut sig = func.item.sig.clone();
    let typed = sig.inputs.iter_mut().filter_map(|input| match input {
        FnArg::Typed(typed) => Some(typed),
        FnArg::Receiver(_) => None,
    });
    for (input, param) in typed.zip(&func.params) {
        if let (Pat::Ident(pat), true) = (&mut *input.pat, param.is_cloned()) {
            pat.mutability = None;
        }
    }
    sig
}

/// The call of the cache: `Cache::__get_or_compute(cache, key, compute)`, or its fallible and
/// async forms; under `stale_while_revalidate`, `__get_or_refresh` and its forms, whose function
/// owns copies of the arguments and may refresh in the background. The hidden twins of the
/// public methods, which take the key's lookup form as it is (its `KeyRef::PERSISTENT` and
/// `KeyRef::TIMED` kept), where the public ones take any form and wrap it.
fn lookup(func: &Func, cache: &TokenStream, plan: &Plan) -> TokenStream {
    let refresh = plan.stale_while_revalidate.is_some();
    // And what the key needs made first, in an async function only.
    let (before, key) = crate::key::lookup_key(func, plan.persistent(), plan.timed());
    let lookup = match (&func.output, func.is_async(), refresh) {
        (Output::Value(_), false, false) => quote!(__get_or_compute),
        (Output::Fallible { .. }, false, false) => quote!(__try_get_or_compute),
        (Output::Value(_), true, false) => quote!(__get_or_compute_async),
        (Output::Fallible { .. }, true, false) => quote!(__try_get_or_compute_async),
        (Output::Value(_), false, true) => quote!(__get_or_refresh),
        (Output::Fallible { .. }, false, true) => quote!(__try_get_or_refresh),
        (Output::Value(_), true, true) => quote!(__get_or_refresh_async),
        (Output::Fallible { .. }, true, true) => quote!(__try_get_or_refresh_async),
    };
    let compute = match refresh {
        true => crate::fresh::refresh_compute(func, by_trait(func)),
        false => compute(func, plan.send),
    };
    // `Cache::lookup(cache, …)` rather than `cache.lookup(…)`: an unsatisfied bound is then an
    // error of the call, which the checks already reported, rather than "method not found".
    let mut lookup = quote!(::cacher::Cache::#lookup(#cache, #key, #compute));
    // Async lookups need cacher's `tokio` feature; without it, `require_tokio!` replaces the
    // lookup with one error that names the feature.
    // What the key needs made first goes in with it (one error when the feature is missing).
    if func.is_async() {
        lookup = match before.is_empty() {
            true => quote!(::cacher::__private::require_tokio!(#lookup.await)),
            false => quote!(::cacher::__private::require_tokio!({ #before #lookup.await })),
        };
    }
    if by_trait(func) {
        lookup = quote!(::cacher::__private::Fallible::from_result(#lookup));
    }
    lookup
}

/// Whether the return type is a `Result` by another name, reached through `Fallible`.
fn by_trait(func: &Func) -> bool {
    matches!(func.output, Output::Fallible { by_trait: true, .. })
}

/// The closure that runs the body on a miss, after cloning the by-value key arguments; an async
/// body's future boxed, as `Send` when `send`.
fn compute(func: &Func, send: bool) -> TokenStream {
    let clones: Vec<TokenStream> = func
        .params
        .iter()
        .filter_map(|p| {
            let (ident, mutability) = (&p.ident, &p.mutability);
            // Named in `key = …` only (not a key argument, whose own check names `Clone`):
            // cloned through `named_in_key`, whose bound says why, at the parameter.
            let clone = match p.in_key_expr {
                true => {
                    let ty = &p.ty;
                    quote_spanned!(syn::spanned::Spanned::span(ty)=> ::cacher::__private::named_in_key(&#ident))
                }
                false => quote!(::core::clone::Clone::clone(&#ident)),
            };
            p.is_cloned().then(|| {
                quote! {
                    #[allow(unused_variables)]
                    let #mutability #ident = #clone;
                }
            })
        })
        .collect();
    let borrows = func.body_borrows();
    let block = &func.item.block;
    if func.is_async() {
        let body = &block.stmts;
        let mut future = async_body(func, quote!(#(#body)*));
        if by_trait(func) {
            future = quote!(::cacher::__private::fallible_async(#future));
        }
        // Boxed behind a `dyn`, as a blocking body's closure is: the call's future (and the
        // cache's steps it polls) is then one type for every function of one key and return
        // type, not one per function (compile time). `Send` unless `send = false`.
        // Both `Send` bounds (the closure's, the future's) are one function's, whose name an
        // error of either ends with: it says what to write. A body that names its function (a
        // recursive call) fails them whatever it holds, and is told the way that works.
        let bounds = match crate::mention::mentions(quote!(#(#body)*), func.name()) {
            true => quote!(a_recursive_call_goes_through_a_fn_returning_pin_box_dyn_future_send),
            false => quote!(for_a_body_not_send_write_cached_send_false),
        };
        // A closure that only borrows is held by `Borrowing` and called through `FnMut`; one
        // that may move what it captures by an `Option`, `FnOnce` only (`Spend`): either way no
        // `call_once` shim, and the borrowing one no `Option` to take it out of.
        let held = |run: TokenStream| match borrows {
            true => quote!(::cacher::__private::Borrowing(|| { #run })),
            false => quote!(::core::option::Option::Some({
                let __cacher_spend = ::cacher::__private::Spend;
                || { __cacher_spend.spend(); #run }
            })),
        };
        return match send {
            true => {
                let held = held(quote!(#(#clones)* #future));
                quote!(::cacher::__private::erase_send(::cacher::__private::#bounds(&mut #held)))
            }
            false => {
                let held = held(quote!(#(#clones)* ::cacher::__private::boxed_local(#future)));
                quote!(::cacher::__private::erase(&mut #held))
            }
        };
    }
    let ret = match &func.item.sig.output {
        ReturnType::Type(arrow, ty) => quote!(#arrow #ty),
        ReturnType::Default => quote!(),
    };
    // The body's statements, not its block: a block alone in a block is what rustc's
    // `unused_braces` warns of, on the user's braces when they are on one line.
    let body = &block.stmts;
    // `Spend` taken by value makes a closure `FnOnce` only: called once, it then compiles to
    // its body alone, without the `call_once` shim that calling a `Fn` closure once needs.
    let once = quote!(|| #ret { __cacher_spend.spend(); #(#clones)* #(#body)* });
    // Behind `&mut dyn Compute`, whose type is the same for every function of one return type:
    // a closure's own type would make the cache's lookup and miss path a copy per function
    // (compile time). It is called on a miss only, once.
    match (borrows, by_trait(func)) {
        // A closure that only borrows, called through `FnMut`: its body alone, no `Option`
        // around it to take it out of (a function less per `#[cached]` function).
        (true, false) => quote!(::cacher::__private::erase(&mut ::cacher::__private::Borrowing(
            || #ret { #(#clones)* #(#body)* }
        ))),
        // The body `FnOnce` inside `fallible`, which calls it once; the closure around it
        // borrows.
        (true, true) => quote!(::cacher::__private::erase(&mut ::cacher::__private::Borrowing(
            || {
                let __cacher_spend = ::cacher::__private::Spend;
                ::cacher::__private::fallible(#once)
            }
        ))),
        (false, false) => quote!(::cacher::__private::erase(&mut ::core::option::Option::Some({
            let __cacher_spend = ::cacher::__private::Spend;
            #once
        }))),
        (false, true) => quote!(::cacher::__private::erase(&mut ::core::option::Option::Some({
            let __cacher_spend = ::cacher::__private::Spend;
            || ::cacher::__private::fallible(#once)
        }))),
    }
}

/// An async body, `async move { … }`, whose output is the function's return type, as an
/// `async fn`'s body's is: its values and `return`s coerce to it (`Arc::new(x)` to an
/// `Arc<dyn Trait>`). The block's output is not inferred from a bound (`Future<Output = V>`) of
/// what it is passed to, but from its first `return`: one that never runs, of the return type,
/// comes first (as `#[async_trait]` does).
pub(crate) fn async_body(func: &Func, body: TokenStream) -> TokenStream {
    let (output, span) = match &func.item.sig.output {
        ReturnType::Type(_, ty) => (ty.to_token_stream(), syn::spanned::Spanned::span(ty)),
        ReturnType::Default => (quote!(()), Span::call_site()),
    };
    // At the return type: rustc's "return type inferred to be `u32` here", beside a value of
    // another type, points at it.
    let first = quote_spanned!(span=> return __cacher_output;);
    quote! {
        async move {
            if let ::core::option::Option::Some(__cacher_output) =
                ::core::option::Option::None::<#output>
            {
                #[allow(unreachable_code)]
                #first
            }
            #body
        }
    }
}

/// The value type, as the static names it.
pub(crate) fn value_type(func: &Func) -> TokenStream {
    let value = static_type(func.output.value_type());
    respan(value.to_token_stream(), Span::call_site())
}

/// `<name>_cache()`, which gives the function's cache to its callers.
fn companion(plan: &Plan, func: &Func, named: &Named, expansion: u32) -> TokenStream {
    let vis = &func.item.vis;
    let name = func.companion();
    let function = func.name().to_string();
    let function = if func.method {
        format!("Self::{function}")
    } else {
        function
    };
    let keyed_by = match (&func.key, &func.key_type) {
        (Some(_), Some(_)) => "the `key` expression's value, as its `key_type`",
        (Some(_), None) => "the `key` expression's value (an `Encoded`)",
        (None, _) => "the tuple of the owned arguments",
    };
    let doc = format!(
        "The cache of [`{function}`], made by `#[cached]`: [`stats`](cacher::Cache::stats), \
         [`clear`](cacher::Cache::clear); [`refresh`](cacher::Cache::refresh), \
         [`bypass`](cacher::Cache::bypass) or [`lookup`](cacher::Cache::lookup) around a call; \
         [`remove`](cacher::Cache::remove), [`insert`](cacher::Cache::insert), \
         [`peek`](cacher::Cache::peek) of given arguments. Its key is {keyed_by}."
    );
    let (checks, cache_type) = (&named.checks, &named.cache);
    let cache = crate::site::cache(plan, func, named, Finder::Companion, expansion);
    let (generics, bounds) = crate::instance::companion_generics(func);
    // Through a macro whose name tells what to write if this is a trait impl (which cannot hold
    // the companion): rustc names it in its error.
    quote! {
        ::cacher::__private::in_a_trait_impl_write_cached_companion_false! {
            #[doc = #doc]
            #[allow(dead_code, clippy::type_complexity)]
            #[inline]
            #vis fn #name #generics() -> &'static #cache_type #bounds {
                #checks
                #cache
            }
        }
    }
}

/// The bounds of key and value types, asserted first in each body that uses the cache, so that
/// a missing trait is one error which names the type.
///
/// rustc reports a failed bound once per span and body, and identical errors of several bodies
/// once: so the checks and every cache call carry the same span (the attribute's), and they
/// come first, so that their message is the one shown.
fn checks(kept: &TokenStream, value: &TokenStream) -> TokenStream {
    // The key's parts named as `Kept` (`key::kept_key_type`): one error per argument that
    // cannot be a key, the same one as the static's.
    quote! {
        // The value's check, as the static that keeps the cache names it: one error.
        let _: <(#kept, #value) as ::cacher::__private::Statics>::Function;
    }
}

/// The function's name, without `r#`.
pub(crate) fn function_name(func: &Func) -> String {
    let name = func.name().to_string();
    name.strip_prefix("r#").unwrap_or(&name).to_owned()
}

/// `Some(value)` or `None`, as an expression.
pub(crate) fn option(value: Option<&impl ToTokens>) -> TokenStream {
    match value {
        Some(value) => quote!(::core::option::Option::Some(#value)),
        None => quote!(::core::option::Option::None),
    }
}

/// The attribute on anything but a function with a body: the error, and the item unchanged.
pub(crate) fn not_a_function(item: TokenStream) -> TokenStream {
    let message = "#[cached] applies to functions (`fn` or `async fn`, with a body): move the attribute onto the function whose results to cache";
    // Point at the item's head (`struct Foo`), not at its whole body.
    let head = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Struct(s)) => Some((s.struct_token.to_token_stream(), s.ident)),
        Ok(Item::Enum(e)) => Some((e.enum_token.to_token_stream(), e.ident)),
        Ok(Item::Union(u)) => Some((u.union_token.to_token_stream(), u.ident)),
        Ok(Item::Trait(t)) => Some((t.trait_token.to_token_stream(), t.ident)),
        Ok(Item::Mod(m)) => Some((m.mod_token.to_token_stream(), m.ident)),
        Ok(Item::Static(s)) => Some((s.static_token.to_token_stream(), s.ident)),
        Ok(Item::Const(c)) => Some((c.const_token.to_token_stream(), c.ident)),
        Ok(Item::Type(t)) => Some((t.type_token.to_token_stream(), t.ident)),
        _ => None,
    };
    let error = match head {
        Some((keyword, ident)) => syn::Error::new_spanned(quote!(#keyword #ident), message),
        None => syn::Error::new(Span::call_site(), message),
    };
    let mut tokens = error.to_compile_error();
    tokens.extend(item);
    tokens
}
