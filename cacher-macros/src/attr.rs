//! The options of `#[cached(...)]`, each kept with the tokens it was written as, so that every
//! later error points at them.

use std::time::Duration;

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, LitStr, Meta, MetaNameValue, Token, Type};

use crate::error::Errors;
use crate::suggest::closest;

mod foreign;
mod value;

pub(crate) use self::foreign::{cached_ttl, integer, string, type_as_ty};

use self::value::{
    boolean, cache_dir, duration, duration_or_zero, formatter, keyer, lit_str, max_entries,
    max_size, namespace, non_empty_string, path, tiers, version,
};

/// Every option, with the example its errors suggest. The names are part of the public API.
const OPTIONS: &[(&str, &str)] = &[
    ("backend", "backend = \"file\""),
    ("formatter", "formatter = \"json\""),
    ("keyer", "keyer = \"hash\""),
    ("cache_dir", "cache_dir = \".cache/api\""),
    ("filename_fn", "filename_fn = shard_by_prefix"),
    ("ttl", "ttl = \"1h\""),
    ("stale_if_error", "stale_if_error = \"10m\""),
    ("ttl_fn", "ttl_fn = token_ttl"),
    ("stale_while_revalidate", "stale_while_revalidate = \"10m\""),
    ("time_to_idle", "time_to_idle = \"30m\""),
    ("error_backoff", "error_backoff = \"30s\""),
    ("clock", "clock = test_clock"),
    ("rate_limit", "rate_limit = \"1s\""),
    ("max_entries", "max_entries = 1000"),
    ("max_size", "max_size = \"1GiB\""),
    ("version", "version = 2"),
    ("namespace", "namespace = \"users::fetch\""),
    ("durable", "durable = true"),
    ("redis_url", "redis_url = \"redis://127.0.0.1/\""),
    ("result", "result = true"),
    ("companion", "companion = false"),
    ("send", "send = false"),
    ("key", "key = (self.base_url.as_str(), endpoint)"),
    ("key_type", "key_type = \"(String, String)\""),
];

/// The values of `backend`, `formatter` and `keyer`, as written and as meant. The names are part
/// of the public API; errors list them in this order.
const BACKENDS: &[(&str, Backend)] = &[
    ("memory", Backend::Memory),
    ("file", Backend::File),
    ("store", Backend::Store),
    ("redis", Backend::Redis),
];
const FORMATTERS: &[(&str, Formatter)] = &[
    ("json", Formatter::Json),
    ("bincode", Formatter::Bincode),
    ("postcard", Formatter::Postcard),
];
const KEYERS: &[(&str, Keyer)] = &[("readable", Keyer::Readable), ("hash", Keyer::Hash)];

/// One option's value, and the `name = value` it came from.
pub(crate) struct Opt<T> {
    pub value: T,
    pub meta: MetaNameValue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Memory,
    File,
    /// The embedded store (`StoreBackend`).
    Store,
    Redis,
}

/// One tier of `backend = [...]`, with its string literal.
pub(crate) struct Tier {
    pub backend: Backend,
    pub lit: LitStr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Formatter {
    Json,
    Bincode,
    Postcard,
}

impl Formatter {
    /// The extension of its files, as the runtime's formatter names them.
    pub(crate) fn extension(self) -> &'static str {
        match self {
            Formatter::Json => "json",
            Formatter::Bincode => "bin",
            Formatter::Postcard => "postcard",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keyer {
    Readable,
    Hash,
}

/// Everything `#[cached(...)]` was given; `None` for an option left out.
#[derive(Default)]
pub(crate) struct Options {
    pub backend: Option<Opt<Vec<Tier>>>,
    pub formatter: Option<Opt<Formatter>>,
    pub keyer: Option<Opt<Keyer>>,
    pub cache_dir: Option<Opt<Expr>>,
    pub filename_fn: Option<Opt<syn::Path>>,
    pub ttl: Option<Opt<Duration>>,
    pub stale_if_error: Option<Opt<Duration>>,
    /// The path of a `fn(&T) -> Option<Duration>`: the value's own ttl.
    pub ttl_fn: Option<Opt<syn::Path>>,
    pub stale_while_revalidate: Option<Opt<Duration>>,
    pub time_to_idle: Option<Opt<Duration>>,
    pub error_backoff: Option<Opt<Duration>>,
    /// The path of a `fn() -> cacher::Clock` (a function, or a `const` or `static` holding one):
    /// a mock clock in tests.
    pub clock: Option<Opt<syn::Path>>,
    pub rate_limit: Option<Opt<Duration>>,
    pub max_entries: Option<Opt<usize>>,
    /// Bytes, from `"1GiB"`.
    pub max_size: Option<Opt<u64>>,
    pub version: Option<Opt<String>>,
    /// The cache's pinned name, below the package's.
    pub namespace: Option<Opt<String>>,
    pub durable: Option<Opt<bool>>,
    pub redis_url: Option<Opt<String>>,
    /// Whether the return type is a `Result` (only `Ok` cached): for one by another name.
    pub result: Option<Opt<bool>>,
    /// Whether to generate `<name>_cache()`, which a trait impl cannot hold.
    pub companion: Option<Opt<bool>>,
    /// Whether an async body's future is `Send` (`false`: a body run on a `LocalSet`).
    pub send: Option<Opt<bool>>,
    /// The `key = …` expression; the function reads it (`key_expr`), this catches a repeat.
    pub key: Option<Opt<()>>,
    /// The owned type of the `key = …` expression's value, checked here; the function reads it.
    pub key_type: Option<Opt<Type>>,
}

/// The `key = …` expression and its `key_type`, among the attribute's arguments, which the
/// function needs before the options are checked: they decide which arguments are keys.
pub(crate) fn key_options(args: &TokenStream) -> (Option<Expr>, Option<Type>) {
    let Ok(metas) = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args.clone()) else {
        return (None, None);
    };
    let (mut expr, mut ty) = (None, None);
    let all: Vec<&Meta> = metas.iter().collect();
    for meta in &metas {
        if let Meta::NameValue(nv) = meta {
            // `cached`'s `key = "String", convert = …`: one error, at `convert`.
            if nv.path.is_ident("key") && !foreign::is_cached_key_type(&nv.value, &all) {
                expr.get_or_insert_with(|| nv.value.clone());
            } else if nv.path.is_ident("key_type") {
                ty = ty.or_else(|| key_type(nv).ok());
            }
        }
    }
    (expr, ty)
}

/// `key_type = "(String, u32)"`: a type, in a string (a bare `Vec<String>` is no expression).
fn key_type(meta: &MetaNameValue) -> syn::Result<Type> {
    let lit = lit_str(
        meta,
        "the owned type of the `key` expression's value, in a string",
    )?;
    lit.parse::<Type>().map_err(|e| {
        syn::Error::new(
            lit.span(),
            format!("`key_type` is not a type ({e}): write `key_type = \"(String, u32)\"`"),
        )
    })
}

impl Options {
    /// Parses the attribute's arguments, each option on its own: the options that could be
    /// read, with every mistake in `errors` (when there is one, the function is expanded with
    /// their [`fallback`](Self::fallback)).
    pub(crate) fn parse(args: TokenStream, errors: &mut Errors) -> Self {
        let (args, type_keyword) = foreign::type_as_ty(args);
        let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args) {
            Ok(metas) => metas,
            Err(e) => {
                errors.push(e);
                return Options::default();
            }
        };
        let mut options = Options::default();
        let mut written = foreign::Written::of(&metas);
        written.type_keyword = type_keyword;
        // Another library's options that mean one thing (`ty` and `create`) get one error.
        let mut hinted = Vec::new();
        for meta in metas {
            let name = meta.path().get_ident().map(ToString::to_string);
            if name
                .as_deref()
                .is_some_and(|name| written.told_elsewhere(name))
            {
                continue;
            }
            if let Some(hint) = name.as_deref().and_then(foreign::renamed) {
                if hinted.contains(&hint) {
                    continue;
                }
                hinted.push(hint);
            }
            if let Err(e) = options.set(meta, &written) {
                errors.push(e);
            }
        }
        options
    }

    fn set(&mut self, meta: Meta, written: &foreign::Written) -> syn::Result<()> {
        let meta = name_value(meta)?;
        let name = meta.path.get_ident().map(ToString::to_string);
        match name.as_deref().unwrap_or_default() {
            "backend" => put(&mut self.backend, tiers(&meta)?, meta),
            "formatter" => put(&mut self.formatter, formatter(&meta)?, meta),
            "keyer" => put(&mut self.keyer, keyer(&meta)?, meta),
            "cache_dir" => put(&mut self.cache_dir, cache_dir(&meta)?, meta),
            "filename_fn" => put(&mut self.filename_fn, path(&meta)?, meta),
            "ttl" => put(&mut self.ttl, duration(&meta)?, meta),
            "stale_if_error" => put(&mut self.stale_if_error, duration(&meta)?, meta),
            "ttl_fn" => put(&mut self.ttl_fn, path(&meta)?, meta),
            "stale_while_revalidate" => {
                put(&mut self.stale_while_revalidate, duration(&meta)?, meta)
            }
            "time_to_idle" => put(&mut self.time_to_idle, duration(&meta)?, meta),
            "error_backoff" => put(&mut self.error_backoff, duration_or_zero(&meta)?, meta),
            "clock" => put(&mut self.clock, path(&meta)?, meta),
            "rate_limit" => put(&mut self.rate_limit, duration(&meta)?, meta),
            "max_entries" => put(&mut self.max_entries, max_entries(&meta)?, meta),
            "max_size" => put(&mut self.max_size, max_size(&meta)?, meta),
            "version" => put(&mut self.version, version(&meta)?, meta),
            "namespace" => put(&mut self.namespace, namespace(&meta)?, meta),
            "durable" => put(&mut self.durable, boolean(&meta)?, meta),
            "redis_url" => put(&mut self.redis_url, non_empty_string(&meta)?, meta),
            "result" => put(&mut self.result, boolean(&meta)?, meta),
            "companion" => put(&mut self.companion, boolean(&meta)?, meta),
            "send" => put(&mut self.send, boolean(&meta)?, meta),
            "key" => put(&mut self.key, (), meta),
            "key_type" => put(&mut self.key_type, key_type(&meta)?, meta),
            _ => Err(unknown_option(&meta.path, Some(&meta), written)),
        }
    }
}

/// Stores an option's value, refusing a second one.
fn put<T>(slot: &mut Option<Opt<T>>, value: T, meta: MetaNameValue) -> syn::Result<()> {
    if slot.is_some() {
        let name = option_name(&meta);
        return Err(syn::Error::new_spanned(
            &meta,
            format!("duplicate option `{name}`: give it once"),
        ));
    }
    *slot = Some(Opt { value, meta });
    Ok(())
}

/// Every option is `name = value`; anything else gets the example of the right form.
fn name_value(meta: Meta) -> syn::Result<MetaNameValue> {
    let path = match meta {
        Meta::NameValue(nv) => return Ok(nv),
        Meta::Path(path) => path,
        Meta::List(list) => list.path,
    };
    let Some((name, example)) = OPTIONS.iter().find(|(name, _)| path.is_ident(name)) else {
        return Err(unknown_option(&path, None, &foreign::Written::default()));
    };
    Err(syn::Error::new_spanned(
        path,
        format!("option `{name}` needs a value: write `{example}`"),
    ))
}

fn option_name(meta: &MetaNameValue) -> String {
    meta.path
        .get_ident()
        .map_or_else(String::new, ToString::to_string)
}

/// The example written in errors about `meta`'s option.
fn example(meta: &MetaNameValue) -> &'static str {
    let name = option_name(meta);
    OPTIONS
        .iter()
        .find(|(option, _)| *option == name)
        .map_or("", |(_, example)| example)
}

/// An option `#[cached]` does not have (`meta`: with its value): the closest one, or what this
/// attribute calls another library's option.
fn unknown_option(
    path: &syn::Path,
    meta: Option<&MetaNameValue>,
    written: &foreign::Written,
) -> syn::Error {
    let name = quote::quote!(#path).to_string().replace(' ', "");
    let names: Vec<&str> = OPTIONS.iter().map(|(name, _)| *name).collect();
    let hint = match foreign::hint(&name, meta, written) {
        Some(hint) => format!("{hint}; "),
        None => match closest(&name, &names) {
            Some(near) => format!("did you mean `{near}`? "),
            None => String::new(),
        },
    };
    // Named as written: `cached`'s `type = …` is read as `ty`.
    let written_name = match written.type_keyword && name == "ty" {
        true => "type",
        false => &name,
    };
    syn::Error::new_spanned(
        path,
        format!(
            "unknown option `{written_name}`: {hint}the options are {}",
            names.join(", ")
        ),
    )
}
