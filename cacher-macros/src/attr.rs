//! The options of `#[cached(...)]`, each kept with the tokens it was written as, so that every
//! later error points at them.

use std::time::Duration;

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, LitStr, Meta, MetaNameValue, Token, Type};

use crate::error::Errors;
use crate::suggest::closest;

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
    /// The path of a `fn() -> cacher::Clock`: a mock clock in tests.
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
    for meta in metas {
        if let Meta::NameValue(nv) = meta {
            if nv.path.is_ident("key") {
                expr.get_or_insert(nv.value);
            } else if nv.path.is_ident("key_type") {
                ty = ty.or_else(|| key_type(&nv).ok());
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
    /// Parses the attribute's arguments, each option on its own: `None` when any is wrong,
    /// with every mistake in `errors`.
    pub(crate) fn parse(args: TokenStream, errors: &mut Errors) -> Option<Self> {
        let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args) {
            Ok(metas) => metas,
            Err(e) => {
                errors.push(e);
                return None;
            }
        };
        let found = errors.len();
        let mut options = Options::default();
        for meta in metas {
            if let Err(e) = options.set(meta) {
                errors.push(e);
            }
        }
        (errors.len() == found).then_some(options)
    }

    fn set(&mut self, meta: Meta) -> syn::Result<()> {
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
            "key" => put(&mut self.key, (), meta),
            "key_type" => put(&mut self.key_type, key_type(&meta)?, meta),
            _ => Err(unknown_option(&meta.path)),
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
        return Err(unknown_option(&path));
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

fn unknown_option(path: &syn::Path) -> syn::Error {
    let name = quote::quote!(#path).to_string().replace(' ', "");
    let names: Vec<&str> = OPTIONS.iter().map(|(name, _)| *name).collect();
    let hint = match renamed(&name) {
        Some(hint) => format!("{hint}; "),
        None => match closest(&name, &names) {
            Some(near) => format!("did you mean `{near}`? "),
            None => String::new(),
        },
    };
    syn::Error::new_spanned(
        path,
        format!(
            "unknown option `{name}`: {hint}the options are {}",
            names.join(", ")
        ),
    )
}

/// Names that other caching libraries use, and what `#[cached]` calls them.
fn renamed(name: &str) -> Option<&'static str> {
    Some(match name {
        "time" | "time_to_live" | "expire" | "expiry" | "lifespan" => "the time to live is `ttl`",
        "expires" | "expires_fn" | "ttl_from" => "a ttl from the value is `ttl_fn`",
        "refresh" | "tti" | "idle" | "sliding" => "sliding expiry is `time_to_idle`",
        "swr" | "refresh_after" | "next_time" | "background_refresh" => {
            "serving stale while refreshing in the background is `stale_while_revalidate`"
        }
        "result_fallback" => "serving an expired entry when the function fails is `stale_if_error`",
        "size" | "capacity" | "max_capacity" => {
            "the bounds are `max_entries` (entries) and `max_size` (bytes, on disk)"
        }
        "dir" | "path" | "directory" | "cache_path" => "the directory is `cache_dir`",
        "format" | "serializer" | "codec" => "the format is `formatter`",
        "name" | "prefix" | "cache_name" | "id" => {
            "a cache's stable name is `namespace`: write `namespace = \"users::fetch\"`"
        }
        "option" => {
            "no flag is needed: a `Result` return type is detected, and `Err` is never cached; `None` is cached like any value"
        }
        "fallible" | "result_fallible" => {
            "a `Result` return type is detected; for one by another name write `result = true`"
        }
        "key" | "convert" | "ignore" => {
            "to leave an argument out of the key, put `#[cached(skip)]` on that parameter"
        }
        "sync_writes" => "no flag is needed: concurrent callers of one key always run it once",
        _ => return None,
    })
}

fn lit_str(meta: &MetaNameValue, what: &str) -> syn::Result<LitStr> {
    match &meta.value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(lit.clone()),
        other => Err(syn::Error::new_spanned(
            other,
            format!(
                "`{}` takes {what}: write `{}`",
                option_name(meta),
                example(meta)
            ),
        )),
    }
}

fn non_empty_string(meta: &MetaNameValue) -> syn::Result<String> {
    let lit = lit_str(meta, "a string")?;
    let value = lit.value();
    if value.is_empty() {
        return Err(syn::Error::new_spanned(
            lit,
            format!(
                "`{}` cannot be empty: write `{}`, or leave the option out",
                option_name(meta),
                example(meta)
            ),
        ));
    }
    Ok(value)
}

/// A string literal, or a macro that gives one: `concat!(env!("CARGO_MANIFEST_DIR"), "/.cache")`.
fn cache_dir(meta: &MetaNameValue) -> syn::Result<Expr> {
    match &meta.value {
        Expr::Macro(mac) => Ok(Expr::Macro(mac.clone())),
        Expr::Lit(ExprLit {
            lit: Lit::Str(_), ..
        }) => {
            non_empty_string(meta)?;
            Ok(meta.value.clone())
        }
        other => Err(syn::Error::new_spanned(
            other,
            "`cache_dir` takes a path string: write `cache_dir = \".cache/api\"`, or a macro that gives one, like `concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/.cache\")`",
        )),
    }
}

/// Looks `lit`'s value up in `table`, or lists the valid names.
fn choice<T: Copy>(lit: &LitStr, what: &str, table: &[(&str, T)]) -> syn::Result<T> {
    let value = lit.value();
    if let Some((_, meant)) = table.iter().find(|(name, _)| *name == value) {
        return Ok(*meant);
    }
    let valid: Vec<&str> = table.iter().map(|(name, _)| *name).collect();
    let hint =
        closest(&value, &valid).map_or_else(String::new, |v| format!("did you mean \"{v}\"? "));
    let listed: Vec<String> = valid.iter().map(|v| format!("\"{v}\"")).collect();
    Err(syn::Error::new_spanned(
        lit,
        format!(
            "unknown {what} \"{value}\": {hint}the {what}s are {}",
            listed.join(", ")
        ),
    ))
}

fn backend(lit: LitStr) -> syn::Result<Tier> {
    let backend = choice(&lit, "backend", BACKENDS)?;
    Ok(Tier { backend, lit })
}

/// `"file"` or `["memory", "file"]`.
fn tiers(meta: &MetaNameValue) -> syn::Result<Vec<Tier>> {
    let Expr::Array(array) = &meta.value else {
        let lit = lit_str(meta, "a backend name or a list of them")?;
        return Ok(vec![backend(lit)?]);
    };
    let mut tiers = Vec::new();
    for element in &array.elems {
        match element {
            Expr::Lit(ExprLit {
                lit: Lit::Str(lit), ..
            }) => tiers.push(backend(lit.clone())?),
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "a backend tier is a string: write `backend = [\"memory\", \"file\"]`",
                ));
            }
        }
    }
    if tiers.is_empty() {
        return Err(syn::Error::new_spanned(
            array,
            "`backend` needs at least one tier: write `backend = [\"memory\", \"file\"]`, or leave it out for memory",
        ));
    }
    Ok(tiers)
}

fn formatter(meta: &MetaNameValue) -> syn::Result<Formatter> {
    let lit = lit_str(meta, "a formatter name")?;
    choice(&lit, "formatter", FORMATTERS)
}

fn keyer(meta: &MetaNameValue) -> syn::Result<Keyer> {
    let lit = lit_str(meta, "a keyer name")?;
    choice(&lit, "keyer", KEYERS)
}

/// A path to a function, e.g. `shard_by_prefix` or `crate::paths::shard`.
fn path(meta: &MetaNameValue) -> syn::Result<syn::Path> {
    let message = match option_name(meta).as_str() {
        "ttl_fn" => {
            "`ttl_fn` takes the path of a `fn(&T) -> Option<Duration>` (`T` the cached value): define the function and write `ttl_fn = token_ttl`"
        }
        "clock" => {
            "`clock` takes the path of a `fn() -> cacher::Clock`: define the function and write `clock = test_clock`"
        }
        _ => {
            "`filename_fn` takes the path of a `fn(&str) -> String`: define the function and write `filename_fn = shard_by_prefix`"
        }
    };
    match &meta.value {
        Expr::Path(p) if p.qself.is_none() => Ok(p.path.clone()),
        other => Err(syn::Error::new_spanned(other, message)),
    }
}

/// A duration, or `"0s"`: the error backoff may be turned off.
fn duration_or_zero(meta: &MetaNameValue) -> syn::Result<Duration> {
    if let Expr::Lit(ExprLit {
        lit: Lit::Str(lit), ..
    }) = &meta.value
        && matches!(lit.value().trim(), "0" | "0s" | "0ms")
    {
        return Ok(Duration::ZERO);
    }
    duration(meta)
}

/// A positive duration in humantime's syntax: `"500ms"`, `"90s"`, `"1h 30m"`, `"1d"`.
fn duration(meta: &MetaNameValue) -> syn::Result<Duration> {
    let name = option_name(meta);
    if let Expr::Lit(ExprLit {
        lit: Lit::Int(int), ..
    }) = &meta.value
    {
        return Err(syn::Error::new_spanned(
            int,
            format!(
                "`{name}` takes a duration string with its unit: write `{name} = \"{}s\"`",
                int.base10_digits()
            ),
        ));
    }
    let lit = lit_str(meta, "a duration string")?;
    match humantime::parse_duration(&lit.value()) {
        Ok(d) if d.is_zero() => Err(syn::Error::new_spanned(
            lit,
            format!(
                "`{name}` must be longer than zero: write `{}`, or leave the option out",
                example(meta)
            ),
        )),
        Ok(d) => Ok(d),
        Err(e) => Err(syn::Error::new_spanned(
            lit,
            format!(
                "`{name}` is not a duration ({e}): write a number and a unit, e.g. \"500ms\", \"90s\", \"10m\", \"1h\", \"1d\""
            ),
        )),
    }
}

fn max_entries(meta: &MetaNameValue) -> syn::Result<usize> {
    let bad = |tokens: &dyn quote::ToTokens| {
        syn::Error::new_spanned(
            tokens,
            "`max_entries` takes a whole number greater than zero: write `max_entries = 1000`",
        )
    };
    let Expr::Lit(ExprLit {
        lit: Lit::Int(int), ..
    }) = &meta.value
    else {
        return Err(bad(&meta.value));
    };
    match int.base10_parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(bad(int)),
    }
}

/// Bytes with their unit: `"512MiB"`, `"1GiB"`, `"10GB"` (B, KB/KiB, MB/MiB, GB/GiB, TB/TiB).
fn max_size(meta: &MetaNameValue) -> syn::Result<u64> {
    const UNITS: &[(&str, u64)] = &[
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
        ("TB", 1_000_000_000_000),
        ("GB", 1_000_000_000),
        ("MB", 1_000_000),
        ("KB", 1_000),
        ("B", 1),
    ];
    let bad = |tokens: &dyn quote::ToTokens| {
        syn::Error::new_spanned(
            tokens,
            "`max_size` takes a size greater than zero with its unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB): write `max_size = \"1GiB\"`",
        )
    };
    let Expr::Lit(ExprLit {
        lit: Lit::Str(lit), ..
    }) = &meta.value
    else {
        return Err(bad(&meta.value));
    };
    let text = lit.value();
    let text = text.trim();
    let bytes = UNITS.iter().find_map(|(unit, scale)| {
        let number = text.strip_suffix(unit)?.trim_end();
        number.parse::<u64>().ok()?.checked_mul(*scale)
    });
    match bytes {
        Some(n) if n > 0 => Ok(n),
        _ => Err(bad(lit)),
    }
}

/// An integer or a string, kept as the string the cache records.
fn version(meta: &MetaNameValue) -> syn::Result<String> {
    match &meta.value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) if int.suffix().is_empty() => Ok(int.base10_digits().to_owned()),
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s.value()),
        other => Err(syn::Error::new_spanned(
            other,
            "`version` takes an integer or a string: write `version = 2` or `version = \"2024-06\"`",
        )),
    }
}

/// A pinned namespace: names of letters, digits, `_` and `-`, joined by `::` (`users::fetch`);
/// at most 200 bytes. The runtime puts the package's name in front of it.
fn namespace(meta: &MetaNameValue) -> syn::Result<String> {
    let lit = lit_str(meta, "a string")?;
    let value = lit.value();
    let problem = if value.is_empty() {
        Some("cannot be empty".to_owned())
    } else if value.len() > 200 {
        Some("is longer than 200 bytes".to_owned())
    } else {
        value.split("::").find_map(|part| {
            let bad = part
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'));
            match (part.is_empty(), bad) {
                (true, _) => Some("has an empty part (a `::` at an end, or `::::`)".to_owned()),
                (false, Some(c)) => Some(format!("has the character {c:?}")),
                (false, None) => None,
            }
        })
    };
    match problem {
        None => Ok(value),
        Some(problem) => Err(syn::Error::new_spanned(
            lit,
            format!(
                "`namespace` {problem}: write names of ASCII letters, digits, `_` and `-`, joined by `::`, e.g. `namespace = \"users::fetch\"`"
            ),
        )),
    }
}

fn boolean(meta: &MetaNameValue) -> syn::Result<bool> {
    match &meta.value {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) => Ok(b.value),
        other => Err(syn::Error::new_spanned(
            other,
            format!(
                "`{}` takes `true` or `false`: write `{}`",
                option_name(meta),
                example(meta)
            ),
        )),
    }
}
