//! The `cached` crate's other attributes, `#[once]` and `#[io_cached]` (`#[concurrent_cached]`
//! in `cached` 4), which `#[cached]` covers: code ported from `cached` that imports them gets one error, at the attribute, that
//! says what to write — rather than rustc's unresolved import, which suggests importing
//! `cached` twice — with the values it was given where they carry over (`time = 60` is
//! `ttl = "1m"`, `disk_dir = "…"` is `cache_dir = "…"`). The function is kept as written, so
//! that its calls add no error.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, Meta, Token};

/// `#[once]`: one value for every call.
pub(crate) fn once(args: &TokenStream, item: TokenStream) -> TokenStream {
    let options = carried_over(&parse(args));
    refuse(
        &format!(
            "cacher has no `#[once]`: write `#[cached{}]`. A function without arguments is computed once (its key is `()`); for one whose first value should serve every call, mark its arguments `#[cached(skip)]`",
            list(&options)
        ),
        item,
    )
}

/// `#[io_cached]`: a cache on disk or in Redis.
pub(crate) fn io_cached(args: &TokenStream, item: TokenStream) -> TokenStream {
    refuse_io("io_cached", args, item)
}

/// `#[concurrent_cached]`, `cached` 4's name of `#[io_cached]`: a sharded cache in memory, or
/// one on disk or in Redis.
pub(crate) fn concurrent_cached(args: &TokenStream, item: TokenStream) -> TokenStream {
    refuse_io("concurrent_cached", args, item)
}

/// Where the entries of `cached`'s `#[io_cached]` or `#[concurrent_cached]` live.
#[derive(Clone, Copy, PartialEq)]
enum Place {
    Memory,
    File,
    Redis,
}

fn place(metas: &[Meta]) -> Place {
    let flag = |name: &str| {
        metas.iter().any(|meta| match meta {
            Meta::NameValue(nv) => nv.path.is_ident(name) && !is_false(&nv.value),
            Meta::Path(path) => path.is_ident(name),
            Meta::List(_) => false,
        })
    };
    // A cache type of `cached`'s Redis family (`AsyncRedisCache<K, V>`), or its disk store.
    let ty = metas.iter().find_map(|meta| match meta {
        Meta::NameValue(nv) if nv.path.is_ident("ty") => crate::attr::string(&nv.value),
        _ => None,
    });
    let ty_has = |part: &str| ty.as_deref().is_some_and(|ty| ty.contains(part));
    match () {
        _ if flag("redis") || ty_has("Redis") => Place::Redis,
        _ if flag("disk") || ty_has("Redb") || ty_has("Disk") => Place::File,
        // `#[io_cached]` had no store of its own in memory: a file, as before.
        _ if ty.is_some() => Place::File,
        _ => Place::Memory,
    }
}

/// One error for `cached`'s cache of `attribute`, that says what to write with `#[cached]`.
fn refuse_io(attribute: &str, args: &TokenStream, item: TokenStream) -> TokenStream {
    let metas = parse(args);
    let place = match place(&metas) {
        Place::Memory if attribute == "io_cached" => Place::File,
        place => place,
    };
    let mut options = match place {
        Place::Memory => vec![],
        Place::File => vec!["backend = \"file\"".to_string()],
        Place::Redis => vec!["backend = \"redis\"".to_string()],
    };
    options.extend(carried_over(&metas));
    let note = match place {
        Place::Memory => "(its memory tier answers hits without a lock, whatever the key)",
        Place::File => "(`backend = \"store\"`: one embedded database; `\"redis\"`: Redis)",
        Place::Redis => "(cacher's `redis` feature)",
    };
    refuse(
        &format!(
            "cacher has no `#[{attribute}]`: `#[cached]` caches in memory, on disk and in Redis: write `#[cached{}]` {note}. The function's `Err` is returned as it is and never cached, so `map_error` has no counterpart",
            list(&options)
        ),
        item,
    )
}

/// The attribute's arguments, or none if they do not parse as options.
fn parse(args: &TokenStream) -> Vec<Meta> {
    // `type = "AsyncRedisCache<…>"`, `cached`'s name of `ty` before 0.50, read as `ty`.
    let (args, _) = crate::attr::type_as_ty(args.clone());
    Punctuated::<Meta, Token![,]>::parse_terminated
        .parse2(args)
        .map(|metas| metas.into_iter().collect())
        .unwrap_or_default()
}

/// The options of `cached` whose values `#[cached]` takes under another name: `time = 60` or
/// `ttl_secs = 60` as `ttl = "1m"` (`time_to_idle`, with `refresh = true`), `disk_dir = "…"` as
/// `cache_dir = "…"`, an in-memory `max_size = 100` as `max_entries = 100`.
fn carried_over(metas: &[Meta]) -> Vec<String> {
    let refresh = metas.iter().any(|meta| match meta {
        Meta::NameValue(nv) => {
            (nv.path.is_ident("refresh") || nv.path.is_ident("time_refresh"))
                && !is_false(&nv.value)
        }
        _ => false,
    });
    let mut options = Vec::new();
    for meta in metas {
        let Meta::NameValue(nv) = meta else { continue };
        let name = nv
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        if let Some(ttl) = ttl_of(&name, &nv.value).filter(|ttl| !ttl.is_zero()) {
            let ttl = humantime::format_duration(ttl);
            match refresh {
                true => options.push(format!("time_to_idle = \"{ttl}\"")),
                false => options.push(format!("ttl = \"{ttl}\"")),
            }
        } else if name == "disk_dir"
            && let Some(dir) = crate::attr::string(&nv.value)
        {
            options.push(format!("cache_dir = {dir:?}"));
        } else if name == "max_size"
            && let Some(n) = crate::attr::integer(&nv.value)
        {
            options.push(format!("max_entries = {n}"));
        }
    }
    options
}

/// `cached`'s time to live, by its names before 4.0 (`time`) and in 4.x.
fn ttl_of(name: &str, value: &Expr) -> Option<std::time::Duration> {
    match name {
        "time" | "ttl_secs" | "ttl_millis" | "ttl" => crate::attr::cached_ttl(name, value),
        _ => None,
    }
}

/// `(a, b)`, or nothing for no options: `#[cached]`.
fn list(options: &[String]) -> String {
    match options.is_empty() {
        true => String::new(),
        false => format!("({})", options.join(", ")),
    }
}

fn is_false(value: &Expr) -> bool {
    matches!(value, Expr::Lit(ExprLit { lit: Lit::Bool(b), .. }) if !b.value)
}

/// One error at the attribute, and the item unchanged.
fn refuse(message: &str, item: TokenStream) -> TokenStream {
    let error = syn::Error::new(Span::call_site(), message).to_compile_error();
    quote!(#error #item)
}
