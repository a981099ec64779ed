//! The `cached` crate's other attributes, `#[once]` and `#[io_cached]`, which `#[cached]`
//! covers: code ported from `cached` that imports them gets one error, at the attribute, that
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
    let metas = parse(args);
    // `redis = true`, or a cache type of `cached`'s Redis family (`AsyncRedisCache<K, V>`).
    let redis = metas.iter().any(|meta| match meta {
        Meta::NameValue(nv) if nv.path.is_ident("ty") => {
            text(&nv.value).is_some_and(|ty| ty.contains("Redis"))
        }
        Meta::NameValue(nv) => nv.path.is_ident("redis") && !is_false(&nv.value),
        Meta::Path(path) => path.is_ident("redis"),
        Meta::List(_) => false,
    });
    let backend = match redis {
        true => "backend = \"redis\"",
        false => "backend = \"file\"",
    };
    let mut options = vec![backend.to_string()];
    options.extend(carried_over(&metas));
    let note = match redis {
        true => "(cacher's `redis` feature)",
        false => "(`backend = \"store\"`: one embedded database; `\"redis\"`: Redis)",
    };
    refuse(
        &format!(
            "cacher has no `#[io_cached]`: `#[cached]` caches on disk and in Redis too: write `#[cached{}]` {note}. The function's `Err` is returned as it is and never cached, so `map_error` has no counterpart",
            list(&options)
        ),
        item,
    )
}

/// The attribute's arguments, or none if they do not parse as options.
fn parse(args: &TokenStream) -> Vec<Meta> {
    Punctuated::<Meta, Token![,]>::parse_terminated
        .parse2(args.clone())
        .map(|metas| metas.into_iter().collect())
        .unwrap_or_default()
}

/// The options of `cached` whose values `#[cached]` takes under another name: `time = 60` as
/// `ttl = "1m"`, `disk_dir = "…"` as `cache_dir = "…"`.
fn carried_over(metas: &[Meta]) -> Vec<String> {
    let mut options = Vec::new();
    for meta in metas {
        let Meta::NameValue(nv) = meta else { continue };
        if nv.path.is_ident("time")
            && let Expr::Lit(ExprLit {
                lit: Lit::Int(int), ..
            }) = &nv.value
            && let Ok(secs @ 1..) = int.base10_parse::<u64>()
        {
            let ttl = humantime::format_duration(std::time::Duration::from_secs(secs));
            options.push(format!("ttl = \"{ttl}\""));
        } else if nv.path.is_ident("disk_dir")
            && let Some(dir) = text(&nv.value)
        {
            options.push(format!("cache_dir = {dir:?}"));
        }
    }
    options
}

/// `(a, b)`, or nothing for no options: `#[cached]`.
fn list(options: &[String]) -> String {
    match options.is_empty() {
        true => String::new(),
        false => format!("({})", options.join(", ")),
    }
}

fn text(value: &Expr) -> Option<String> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Some(lit.value()),
        _ => None,
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
