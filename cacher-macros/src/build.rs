//! How a function's cache is built, given its `namespace` and its site's names and options
//! ([`site_parts`]): for a memory-only function whose options are all data, cacher's
//! `memory_build` of its cache type ([`memory_init`]); else the body of a function (or closure)
//! that builds it: its options (a chain of `Settings`' setters, untyped, then the site's), the
//! parts that name the value type, its persistent tiers in order, and the build ([`init`]).

use std::time::Duration;

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::attr::{Formatter, Keyer};
use crate::expand::{Named, option};
use crate::func::Func;
use crate::key::key_type;
use crate::plan::{FileTier, Plan, RedisTier, StoreTier};
use crate::types::{respan, static_type};

/// The body of the closure that builds the cache, given its `namespace` and its site's names and
/// options: its options (untyped, set by code compiled once in cacher), the parts that name the
/// value type, and the build.
pub(crate) fn init(plan: &Plan, func: &Func) -> TokenStream {
    let settings = settings(plan);
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

/// How a function with the memory tier alone and no option but its site's (no `ttl_fn`,
/// `version`, `keyer`) builds its cache at its first use: by `memory_build` of its cache type,
/// from its site's names and options, with no build of its own per function (a function and,
/// in the companion, a closure less; compile time). `None` for any other, whose build is
/// [`init`]'s.
pub(crate) fn memory_init(plan: &Plan, named: &Named) -> Option<TokenStream> {
    let plain = plan.memory.is_some()
        && !plan.persistent()
        && plan.ttl_fn.is_none()
        && plan.version.is_none()
        && plan.code.is_none()
        && plan.keyer.is_none();
    if !plain {
        return None;
    }
    // The cache's types written out, as the build function of another function's expansion
    // names them in its return type: a key type that is refused is then that error alone, not
    // one more of a lookup form of an unknown key.
    let (timed, key, value) = (plan.timed(), &named.key, &named.value);
    Some(quote!(::cacher::__private::Init(
        ::cacher::__private::memory_build::<#key, #value, #timed>
    )))
}

/// What the function's site lists for its build: the names of its key's arguments, and the
/// options that are data or a function (the memory tier's bound first, then [`options`]) as a
/// constant `&[Opt]` — cacher's `NO_OPTIONS` when there are none (most functions), not a
/// constant of the function's own to promote.
pub(crate) fn site_parts(plan: &Plan, func: &Func) -> (TokenStream, TokenStream) {
    let names = arg_names(func);
    let mut given = Vec::new();
    if let Some(n) = plan.memory.as_ref().and_then(|memory| memory.max_entries) {
        let n = Literal::usize_unsuffixed(n);
        given.push(quote!(::cacher::__private::Opt::MaxEntries(#n)));
    }
    given.extend(options(plan));
    let given = match given.is_empty() {
        true => quote!(::cacher::__private::NO_OPTIONS),
        false => quote!(&[#(#given),*]),
    };
    (quote!(&[#(#names),*]), given)
}

/// The options that are data or a function (`__private::Opt`), those given, in the order of
/// `Settings`' setters: the durations, then the clock, then the rate limiter (which goes on the
/// clock just set). Set by `with_options` from the site whatever builds the cache: one mapping
/// to the setters.
fn options(plan: &Plan) -> Vec<TokenStream> {
    let duration = |option: TokenStream, given: Duration| {
        let (secs, nanos) = (
            Literal::u64_unsuffixed(given.as_secs()),
            Literal::u32_unsuffixed(given.subsec_nanos()),
        );
        quote!(::cacher::__private::Opt::#option(#secs, #nanos))
    };
    let mut options = Vec::new();
    for (option, given) in [
        (quote!(Ttl), plan.ttl),
        (quote!(StaleIfError), plan.stale_if_error),
        (quote!(StaleWhileRevalidate), plan.stale_while_revalidate),
        (quote!(TimeToIdle), plan.time_to_idle),
        (quote!(ErrorBackoff), plan.error_backoff),
    ] {
        options.extend(given.map(|given| duration(option, given)));
    }
    if let Some(path) = &plan.clock {
        // Called in a closure (a constant that captures nothing, promoted with the site), so that
        // the path may name a function, a `const` or a `static` holding one: a `static` read
        // in the constant itself could not be promoted. Spanned at the path, where a function
        // of the wrong type is reported ("expected `Clock`"); clippy's `redundant_closure`,
        // which would point there too, allowed.
        options.push(quote_spanned!(path.span()=>
            ::cacher::__private::Opt::Clock(#[allow(clippy::redundant_closure)] || #path())
        ));
    }
    options.extend(
        plan.rate_limit
            .map(|given| duration(quote!(RateLimit), given)),
    );
    options
}

/// The names of the key's arguments, without `r#`.
fn arg_names(func: &Func) -> impl Iterator<Item = String> + '_ {
    func.key_params().map(|p| {
        let name = p.ident.to_string();
        name.strip_prefix("r#").unwrap_or(&name).to_owned()
    })
}

/// The options the plan describes, the memory tier among them: a chain of `Settings`' setters
/// (compiled once in cacher, not per cache type), the parts that name the value type aside. The
/// names and the options that are data come from the site, given to the build as
/// `__cacher_names` and `__cacher_options` (`site_parts`).
fn settings(plan: &Plan) -> TokenStream {
    // The namespace, the names and the memory tier (bounded by the site's `MaxEntries`) through
    // one runtime function, not a chain of calls compiled in each function; the other setters
    // after it.
    let memory = plan.memory.is_some();
    let mut chain = quote!(::cacher::__private::settings(
        namespace,
        __cacher_names,
        #memory,
        __cacher_options
    ));
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
    quote!(::cacher::__private::with_options(#chain, __cacher_options))
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
    backend.extend(bounds(file.max_entries, file.max_size, file.durable));
    added("file_tier", &backend, span)
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
    backend.extend(bounds(store.max_entries, store.max_size, store.durable));
    added("store_tier", &backend, span)
}

/// The setters of a file or store tier's bounds and durability, those given.
fn bounds(max_entries: Option<usize>, max_size: Option<u64>, durable: Option<bool>) -> TokenStream {
    let mut setters = TokenStream::new();
    if let Some(n) = max_entries {
        let n = Literal::usize_unsuffixed(n);
        setters.extend(quote!(.max_entries(#n)));
    }
    if let Some(bytes) = max_size {
        let bytes = Literal::u64_unsuffixed(bytes);
        setters.extend(quote!(.max_size(#bytes)));
    }
    if let Some(durable) = durable {
        setters.extend(quote!(.durable(#durable)));
    }
    setters
}

/// `backend` added to the value's parts as the tier `name`: the call spanned as the tier (the
/// return type), where a value no tier can store is the one error of `require_stored_value`.
fn added(name: &str, backend: &TokenStream, span: Span) -> TokenStream {
    let tier = Ident::new(name, span);
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

/// The formatter of a persistent tier.
fn formatter(formatter: Formatter) -> TokenStream {
    match formatter {
        Formatter::Json => quote!(::cacher::JsonFormatter),
        Formatter::Bincode => quote!(::cacher::BincodeFormatter),
        Formatter::Postcard => quote!(::cacher::PostcardFormatter),
    }
}
