//! Code generation: the function, rewritten to look its arguments up in its cache, and the
//! companion `<name>_cache()` that gives the cache to its callers.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{AttrStyle, FnArg, Item, ItemFn, Pat, ReturnType, Signature};

use crate::attr::{Formatter, Keyer};
use crate::func::{Func, Output};
use crate::key::{kept_key_type, key_type};
use crate::plan::{FileTier, Plan, RedisTier, StoreTier};
use crate::types::{respan, static_type};

/// The function, rewritten to use its cache, and the companion that gives the cache to its
/// callers (unless `companion = false`).
pub(crate) fn cached(plan: &Plan, func: &Func) -> TokenStream {
    let function = function(plan, func);
    if !plan.companion {
        return function;
    }
    let companion = companion(plan, func);
    quote!(#function #companion)
}

/// The user's function: same signature, attributes and visibility; its body runs inside a
/// closure that the cache calls on a miss.
fn function(plan: &Plan, func: &Func) -> TokenStream {
    let ItemFn { attrs, vis, .. } = &func.item;
    let is_outer = |a: &&syn::Attribute| matches!(a.style, AttrStyle::Outer);
    let outer = attrs.iter().filter(is_outer);
    let inner = attrs.iter().filter(|a| !is_outer(a));
    let sig = signature(func);
    let checks = [checks(func), crate::result::not_result(func)];
    let cache = cache(plan, func, false);
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

/// An expression of the function's `&'static Cache`, in the body of the function or of its
/// companion (`companion`). Neither can name the other (which would be `fetch_cache()` at the top
/// of a module, `Self::fetch_cache()` in an impl, and which the attribute cannot tell apart), so
/// each finds the cache through `__private` by the names the compiler gives it (see
/// `cacher/src/__private/identity.rs`): the function at first use, kept in a static of its own;
/// a method's static holds one cache per `Self` type (a static in a generic impl is shared by
/// all its types). A plain function's companion keeps none: its site and its build are closures
/// in the `#[inline]` companion, compiled only where it is called (`companion_cache`).
fn cache(plan: &Plan, func: &Func, companion: bool) -> TokenStream {
    let (key, value, kept) = (key_type(func), value_type(func), kept_key_type(func));
    let cache = quote!(::cacher::Cache<#key, #value>);
    let name = function_name(func);
    let persistent = plan.persistent();
    let init = init(plan, func);
    let pinned = option(plan.namespace.as_ref());
    let site = quote! {
        ::cacher::__private::Site {
            marker: ::core::any::type_name::<__CacherSite>(),
            module: ::core::module_path!(),
            function: #name,
            location: ::core::concat!(::core::file!(), ":", ::core::line!(), ":", ::core::column!()),
            persistent: #persistent,
            package: ::core::env!("CARGO_PKG_NAME"),
            pinned: #pinned,
        }
    };
    // Its path, as `type_name` gives it, is the function's (nested functions included).
    let marker = quote!(
        #[allow(dead_code)]
        struct __CacherSite;
    );
    let instance = crate::instance::instance(func);
    if companion && !func.method && instance.is_none() {
        // Closures that capture nothing, given as function pointers. The bounds first in the
        // build, as in every body (see `checks`).
        let checks = checks(func);
        return quote!({
            #marker
            ::cacher::__private::companion_cache(
                || #site,
                |namespace: &str| -> #cache { #checks #init },
            )
        });
    }
    // Function pointers, not closures: a closure's type is the function's own, and would make
    // the runtime's code that finds the cache a copy per function (compile time). Nested `fn`
    // items rather than closures coerced to pointers, which compile to a shim each as well.
    let site = quote!(fn __cacher_site() -> ::cacher::__private::Site { #site });
    // An option that names `Self` (`ttl_fn = Self::ttl` on an associated function) cannot be
    // in a nested `fn`, which does not see its impl's `Self`: a closure then.
    let (init_fn, init) = if mentions_self(&init) {
        (quote!(), quote!(|namespace: &str| -> #cache { #init }))
    } else {
        // A body of its own, which rustc checks apart: the bounds first again, so that a
        // missing trait is still the one error they report (see `checks`).
        let checks = checks(func);
        let init_fn = quote!(fn __cacher_init(namespace: &str) -> #cache { #checks #init });
        (init_fn, quote!(__cacher_init))
    };
    let marker = quote! {
        #marker
        #site
        #init_fn
    };
    if let Some(instance) = instance {
        return quote!({
            #marker
            static CACHES: <(#kept, #value) as ::cacher::__private::Statics>::Method =
                ::cacher::__private::PerType::new();
            ::cacher::__private::instance_cache(&CACHES, #instance, __cacher_site, #init)
        });
    }
    if func.method {
        return quote!({
            #marker
            static CACHES: <(#kept, #value) as ::cacher::__private::Statics>::Method =
                ::cacher::__private::PerType::new();
            let (id, self_type) = (
                ::cacher::__private::type_key::<Self>(),
                ::core::any::type_name::<Self>(),
            );
            ::cacher::__private::method_cache(&CACHES, id, self_type, __cacher_site, #init)
        });
    }
    quote!({
        #marker
        static CACHE: <(#kept, #value) as ::cacher::__private::Statics>::Function =
            ::cacher::__private::OnceLock::new();
        ::cacher::__private::function_cache(&CACHE, __cacher_site, #init)
    })
}

/// Whether `tokens` name `Self`.
fn mentions_self(tokens: &TokenStream) -> bool {
    tokens.clone().into_iter().any(|tree| match tree {
        proc_macro2::TokenTree::Ident(ident) => ident == "Self",
        proc_macro2::TokenTree::Group(group) => mentions_self(&group.stream()),
        _ => false,
    })
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
        false => compute(func),
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

/// The closure that runs the body on a miss, after cloning the by-value key arguments.
fn compute(func: &Func) -> TokenStream {
    let clones = func.params.iter().filter_map(|p| {
        let (ident, mutability) = (&p.ident, &p.mutability);
        p.is_cloned().then(|| {
            quote! {
                #[allow(unused_variables)]
                let #mutability #ident = ::core::clone::Clone::clone(&#ident);
            }
        })
    });
    let block = &func.item.block;
    if func.is_async() {
        let future = quote!(async move #block);
        return match by_trait(func) {
            true => quote!(|| { #(#clones)* ::cacher::__private::fallible_async(#future) }),
            false => quote!(|| { #(#clones)* #future }),
        };
    }
    let ret = match &func.item.sig.output {
        ReturnType::Type(arrow, ty) => quote!(#arrow #ty),
        ReturnType::Default => quote!(),
    };
    // The body's statements, not its block: a block alone in a block is what rustc's
    // `unused_braces` warns of, on the user's braces when they are on one line.
    let body = &block.stmts;
    // `Spend` taken by value makes the closure `FnOnce` only: called once, it then compiles to
    // its body alone, without the `call_once` shim that calling a `Fn` closure once needs.
    let compute = quote!(|| #ret { __cacher_spend.spend(); #(#clones)* #(#body)* });
    let compute = match by_trait(func) {
        true => quote!(|| ::cacher::__private::fallible(#compute)),
        false => compute,
    };
    // Behind `&mut dyn FnMut`, whose type is the same for every function of one return type: a
    // closure's own type would make the cache's lookup and miss path a copy per function
    // (compile time). It is called on a miss only, once.
    quote!(::cacher::__private::erase(&mut ::core::option::Option::Some({
        let __cacher_spend = ::cacher::__private::Spend;
        #compute
    })))
}

/// The value type, as the static names it.
fn value_type(func: &Func) -> TokenStream {
    let value = static_type(func.output.value_type());
    respan(value.to_token_stream(), Span::call_site())
}

/// `<name>_cache()`, which gives the function's cache to its callers.
fn companion(plan: &Plan, func: &Func) -> TokenStream {
    let vis = &func.item.vis;
    let name = func.companion();
    let (key, value) = (key_type(func), value_type(func));
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
    let checks = checks(func);
    let cache = cache(plan, func, true);
    let (generics, bounds) = crate::instance::companion_generics(func);
    // Through a macro whose name tells what to write if this is a trait impl (which cannot hold
    // the companion): rustc names it in its error.
    quote! {
        ::cacher::__private::in_a_trait_impl_write_cached_companion_false! {
            #[doc = #doc]
            #[allow(dead_code, clippy::type_complexity)]
            #[inline]
            #vis fn #name #generics() -> &'static ::cacher::Cache<#key, #value> #bounds {
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
fn checks(func: &Func) -> TokenStream {
    // The key's parts named as `Kept` (`key::kept_key_type`): one error per argument that
    // cannot be a key, the same one as the static's.
    let (kept, value) = (kept_key_type(func), value_type(func));
    quote! {
        // The value's check, as the static that keeps the cache names it: one error.
        let _: <(#kept, #value) as ::cacher::__private::Statics>::Function;
    }
}

/// The body of the closure that builds the cache, given its `namespace`: its options (untyped,
/// set by code compiled once in cacher), the parts that name the value type, and the build.
fn init(plan: &Plan, func: &Func) -> TokenStream {
    let settings = settings(plan, func);
    let typed = crate::fresh::typed(plan);
    let timed = plan.timed();
    if !plan.persistent() {
        return quote!(::cacher::__private::build::<_, _, false, #timed>(#settings, #typed));
    }
    // The value's serde bounds are asserted at the return type, and the persistent tiers are
    // added with that span too, so that they report one error there.
    let value = func.output.value_type();
    let span = value.span();
    let target = respan(static_type(value).to_token_stream(), span);
    let check = quote_spanned!(span=> ::cacher::__private::require_stored_value::<#target>(););
    // Tiers in order: memory (in `settings`), then file, then store, then redis.
    let file = plan
        .file
        .as_ref()
        .map(|file| file_tier(file, plan, func, span));
    let store = plan.store.as_ref().map(|store| store_tier(store, span));
    let redis = plan.redis.as_ref().map(|redis| redis_tier(redis, span));
    quote! {
        #check
        let settings = #settings;
        let typed = #typed;
        #file
        #store
        #redis
        ::cacher::__private::build::<_, _, true, #timed>(settings, typed)
    }
}

/// The names of the key's arguments, without `r#`.
fn arg_names(func: &Func) -> impl Iterator<Item = String> + '_ {
    func.key_params().map(|p| {
        let name = p.ident.to_string();
        name.strip_prefix("r#").unwrap_or(&name).to_owned()
    })
}

/// The function's name, without `r#`.
fn function_name(func: &Func) -> String {
    let name = func.name().to_string();
    name.strip_prefix("r#").unwrap_or(&name).to_owned()
}

/// The options the plan describes, the memory tier among them: a chain of `Settings`' setters
/// (compiled once in cacher, not per cache type), the parts that name the value type aside.
fn settings(plan: &Plan, func: &Func) -> TokenStream {
    let names = arg_names(func);
    // The namespace, the names and the memory tier through one runtime function, not a chain
    // of calls compiled in each function; the other setters after it.
    let memory = plan.memory.is_some();
    let max_entries = option(
        (plan.memory.as_ref())
            .and_then(|memory| memory.max_entries)
            .map(Literal::usize_unsuffixed)
            .as_ref(),
    );
    let mut chain =
        quote!(::cacher::__private::settings(namespace, &[#(#names),*], #memory, #max_entries));
    if let Some(version) = &plan.version {
        chain.extend(quote!(.version(#version)));
    }
    if let Some(code) = &plan.code {
        chain.extend(quote!(.code_hash(#code)));
    }
    if let Some(keyer) = plan.keyer {
        let keyer = match keyer {
            Keyer::Readable => quote!(::cacher::ReadableKeyer),
            Keyer::Hash => quote!(::cacher::HashKeyer),
        };
        chain.extend(quote!(.keyer(#keyer)));
    }
    chain.extend(crate::fresh::time_setters(plan));
    chain
}

/// The file tier, added to `typed` under a name spanned at `span` (the return type's), where a
/// failed bound on it is then reported, once. Its directory is claimed when the readable keyer
/// names its files (`__private::claim_files`).
fn file_tier(file: &FileTier, plan: &Plan, func: &Func, span: Span) -> TokenStream {
    let configured = option(file.dir.as_ref());
    let mut dir = quote!(::cacher::__private::default_dir(#configured, ::core::env!("CARGO_PKG_NAME"), namespace));
    // Not for a `key = …` without `key_type`: its encoding's type says nothing of its value's.
    let encoded = func.key.is_some() && func.key_type.is_none();
    if file.filename_fn.is_none() && plan.keyer != Some(Keyer::Hash) && !encoded {
        let (names, extension) = (arg_names(func), file.formatter.extension());
        let (version, key) = (option(plan.version.as_ref()), key_type(func));
        let key = quote!(::core::any::type_name::<#key>());
        dir = quote!(::cacher::__private::claim_files(#dir, namespace, #version, #extension, &[#(#names),*], #key));
    }
    let formatter = formatter(file.formatter);
    let mut backend = quote!(::cacher::SeparateFileBackend::new(#dir).formatter(#formatter));
    if let Some(path) = &file.filename_fn {
        backend.extend(quote!(.filename_fn(#path)));
    }
    if let Some(n) = file.max_entries {
        let n = Literal::usize_unsuffixed(n);
        backend.extend(quote!(.max_entries(#n)));
    }
    if let Some(bytes) = file.max_size {
        let bytes = Literal::u64_unsuffixed(bytes);
        backend.extend(quote!(.max_size(#bytes)));
    }
    if let Some(durable) = file.durable {
        backend.extend(quote!(.durable(#durable)));
    }
    let tier = Ident::new("file_tier", span);
    // The call spanned as the tier (the return type): a value no tier can store is the one
    // error of `require_stored_value` there.
    let add = quote_spanned!(span=> ::cacher::__private::add_tier(typed, #tier));
    quote!(let #tier = #backend; let typed = #add;)
}

/// The embedded store tier, spanned as the file tier.
fn store_tier(store: &StoreTier, span: Span) -> TokenStream {
    let configured = option(store.dir.as_ref());
    let mut backend = quote! {
        ::cacher::StoreBackend::new(::cacher::__private::default_dir(
            #configured,
            ::core::env!("CARGO_PKG_NAME"),
            namespace,
        ))
    };
    if let Some(chosen) = store.formatter {
        let chosen = formatter(chosen);
        backend.extend(quote!(.formatter(#chosen)));
    }
    if let Some(n) = store.max_entries {
        let n = Literal::usize_unsuffixed(n);
        backend.extend(quote!(.max_entries(#n)));
    }
    if let Some(bytes) = store.max_size {
        let bytes = Literal::u64_unsuffixed(bytes);
        backend.extend(quote!(.max_size(#bytes)));
    }
    if let Some(durable) = store.durable {
        backend.extend(quote!(.durable(#durable)));
    }
    let tier = Ident::new("store_tier", span);
    // The call spanned as the tier (the return type): a value no tier can store is the one
    // error of `require_stored_value` there.
    let add = quote_spanned!(span=> ::cacher::__private::add_tier(typed, #tier));
    quote!(let #tier = #backend; let typed = #add;)
}

/// The Redis tier and the cross-process lock on the same server, spanned as the file tier. The
/// URL is the `redis_url` option, else `$CACHER_REDIS_URL` at run time, else
/// `redis://127.0.0.1:6379/`.
fn redis_tier(redis: &RedisTier, span: Span) -> TokenStream {
    let url = option(redis.url.as_ref());
    let formatter = formatter(redis.formatter);
    let tier = Ident::new("redis_tier", span);
    let add = quote_spanned!(span=> ::cacher::__private::with_tier(typed, #tier));
    // Without cacher's `redis` feature, `require_redis!` makes all of it one error that names
    // the feature (rather than that, and one more for each function the feature leaves out).
    quote! {
        ::cacher::__private::require_redis! {
            let #tier = ::cacher::__private::redis_tier(#url, #formatter);
            let typed = #add;
            // Of all the processes missing one key, only one computes it.
            let settings = ::cacher::__private::with_redis_lock(settings, #url);
        }
    }
}

/// `Some(value)` or `None`, as an expression.
fn option(value: Option<&impl ToTokens>) -> TokenStream {
    match value {
        Some(value) => quote!(::core::option::Option::Some(#value)),
        None => quote!(::core::option::Option::None),
    }
}

/// The formatter of a persistent tier.
fn formatter(formatter: Formatter) -> TokenStream {
    match formatter {
        Formatter::Json => quote!(::cacher::JsonFormatter),
        Formatter::Bincode => quote!(::cacher::BincodeFormatter),
        Formatter::Postcard => quote!(::cacher::PostcardFormatter),
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
