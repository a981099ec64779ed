//! Options of other caching libraries — the `cached` crate's above all — and what `#[cached]`
//! calls them. An unknown option that another library has gets, in its one error, what to write
//! here, with the value it was given where that value carries over (`time = 60` is
//! `ttl = "1m"`, `size = 100` is `max_entries = 100`, `convert = r#"{ … }"#` is `key = …`).

use std::time::Duration;

use proc_macro2::{Ident, TokenStream, TokenTree};
use syn::{Expr, ExprLit, Lit, Meta, MetaNameValue, Stmt};

/// What the user wrote that a hint reads beyond its option: `cached`'s key type, its
/// `key = "String"`, which `convert` turns into `key_type`.
#[derive(Default)]
pub(super) struct Written {
    cached_key_type: Option<String>,
    /// `cached`'s `time_refresh = true` (before 4.0) or `refresh = true` (4.x), which make its
    /// time to live an idle time: the two options are one error, at the refresh, with the
    /// ttl's name and value (`None`: not given, or not a duration it can read).
    refresh: Option<Refresh>,
    /// The cache type was written `type = …`, as `cached` before 0.50 did: its errors name it so.
    pub(super) type_keyword: bool,
}

/// `cached`'s ttl beside its refresh-on-hit flag.
struct Refresh {
    /// The flag as written: `time_refresh` or `refresh`.
    flag: &'static str,
    /// The ttl option as written (`time`, `ttl_secs`, `ttl_millis`, `ttl`) and its duration.
    ttl: Option<(String, Option<Duration>)>,
}

/// The names of a time to live in `cached`, before 4.0 (`time`) and in 4.x; cacher's `ttl` is
/// one of them, so that `ttl = "10m", refresh = true` is told as one mistake too.
const CACHED_TTLS: &[&str] = &["time", "ttl_secs", "ttl_millis", "ttl"];

impl Written {
    pub(super) fn of<'a>(metas: impl IntoIterator<Item = &'a Meta>) -> Self {
        let metas: Vec<&Meta> = metas.into_iter().collect();
        let converts = metas.iter().any(|meta| meta.path().is_ident("convert"));
        let cached_key_type = metas
            .iter()
            .filter_map(|meta| match meta {
                Meta::NameValue(nv) if converts && nv.path.is_ident("key") => string(&nv.value),
                _ => None,
            })
            .next();
        let ttl = metas.iter().find_map(|meta| match meta {
            Meta::NameValue(nv) => CACHED_TTLS
                .iter()
                .find(|name| nv.path.is_ident(name))
                .map(|name| (name.to_string(), cached_ttl(name, &nv.value))),
            _ => None,
        });
        // `refresh = true`, not another library's `refresh = "10m"` (a refresh interval).
        let flag = ["time_refresh", "refresh"].into_iter().find(|flag| {
            metas.iter().any(|meta| match meta {
                Meta::NameValue(nv) if nv.path.is_ident(flag) => is_true(&nv.value),
                Meta::Path(path) => path.is_ident(flag),
                _ => false,
            })
        });
        Self {
            cached_key_type,
            refresh: flag.map(|flag| Refresh { flag, ttl }),
            type_keyword: false,
        }
    }

    /// Whether the option `name`'s mistake is told, with another option's, at that one:
    /// `cached`'s ttl beside its `time_refresh = true` or `refresh = true`.
    pub(super) fn told_elsewhere(&self, name: &str) -> bool {
        self.refresh
            .as_ref()
            .and_then(|refresh| refresh.ttl.as_ref())
            .is_some_and(|(ttl, _)| ttl == name)
    }
}

/// `cached` before 0.50 named its cache type `type = "…"` (`ty` since), a keyword that no option
/// parses as: the arguments with that `type` written `ty`, at its place, so that it is told as
/// `ty` is (rather than as syn's "expected identifier"), and whether there was one.
pub(crate) fn type_as_ty(args: TokenStream) -> (TokenStream, bool) {
    let mut tokens: Vec<TokenTree> = args.into_iter().collect();
    let mut found = false;
    for i in 0..tokens.len() {
        let starts = i == 0 || matches!(&tokens[i - 1], TokenTree::Punct(p) if p.as_char() == ',');
        let assigned = matches!(tokens.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '=');
        if let TokenTree::Ident(ident) = &tokens[i]
            && ident == "type"
            && starts
            && assigned
        {
            tokens[i] = TokenTree::Ident(Ident::new("ty", ident.span()));
            found = true;
        }
    }
    (tokens.into_iter().collect(), found)
}

/// Whether `key = …` is `cached`'s key type, written with its `convert`: the one mistake is then
/// told once, at `convert`, which says what to write for both.
pub(super) fn is_cached_key_type(key: &Expr, metas: &[&Meta]) -> bool {
    string(key).is_some() && metas.iter().any(|meta| meta.path().is_ident("convert"))
}

/// The hint for `name`, another library's option, given as `meta` (`None`: without a value).
pub(super) fn hint(name: &str, meta: Option<&MetaNameValue>, written: &Written) -> Option<String> {
    let value = meta.map(|meta| &meta.value);
    let tailored = match (name, value) {
        ("time" | "time_to_live" | "ttl_secs", Some(value)) => {
            integer(value).map(|secs| {
                let ttl = humantime::format_duration(Duration::from_secs(secs));
                format!("the time to live is `ttl`: write `ttl = \"{ttl}\"`")
            })
        }
        ("size" | "capacity" | "max_capacity", Some(value)) => integer(value).map(|n| {
            format!("the number of entries is bounded by `max_entries`: write `max_entries = {n}` (`max_size` bounds the bytes of the file and store tiers)")
        }),
        ("convert", Some(value)) => code(value).map(|code| convert(&code, written)),
        ("ttl_millis", Some(value)) => integer(value).map(|ms| {
            let ttl = humantime::format_duration(Duration::from_millis(ms));
            format!("the time to live is `ttl`: write `ttl = \"{ttl}\"`")
        }),
        ("time_refresh" | "refresh", _) => written.refresh.as_ref().and_then(refresh),
        _ => None,
    };
    tailored.or_else(|| renamed(name).map(str::to_owned))
}

/// `time = 600, time_refresh = true` or `ttl_secs = 600, refresh = true`: each hit restarts the
/// time, which is an idle time (`None`: the flag without a ttl, told as a plain rename).
fn refresh(refresh: &Refresh) -> Option<String> {
    let (ttl, duration) = refresh.ttl.as_ref()?;
    let idle = duration.map_or_else(
        || "10m".to_string(),
        |d| humantime::format_duration(d).to_string(),
    );
    Some(format!(
        "`cached`'s `{ttl} = …, {} = true` (each hit restarts the time) is an idle time here: write `time_to_idle = \"{idle}\"` in place of both",
        refresh.flag
    ))
}

/// The duration of `cached`'s ttl option `name`: seconds (`time`, `ttl_secs`, and `ttl = 60`,
/// `cached` 1.x and 2.x's `ttl`), milliseconds (`ttl_millis`), or a string: cacher's (`"10m"`)
/// or a `Duration` expression (`cached` 4's `ttl`).
pub(crate) fn cached_ttl(name: &str, value: &Expr) -> Option<Duration> {
    match name {
        "ttl_millis" => integer(value).map(Duration::from_millis),
        "ttl" => match string(value) {
            Some(text) => humantime::parse_duration(&text)
                .ok()
                .or_else(|| rust_duration(&text)),
            None => integer(value).map(Duration::from_secs),
        },
        _ => integer(value).map(Duration::from_secs),
    }
}

/// `Duration::from_secs(60)` (`cached` 4's `ttl = "Duration::from_secs(60)"`), from seconds,
/// milliseconds, minutes or hours, with any path before `Duration`: `None` for anything else.
pub(crate) fn rust_duration(text: &str) -> Option<Duration> {
    let Ok(Expr::Call(call)) = syn::parse_str::<Expr>(text) else {
        return None;
    };
    let Expr::Path(path) = &*call.func else {
        return None;
    };
    let segments: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    let [.., ty, unit] = segments.as_slice() else {
        return None;
    };
    let [arg] = call.args.iter().collect::<Vec<_>>()[..] else {
        return None;
    };
    let n = integer(arg)?;
    let secs = match (ty.as_str(), unit.as_str()) {
        ("Duration", "from_millis") => return Some(Duration::from_millis(n)),
        ("Duration", "from_secs") => n,
        ("Duration", "from_mins") => n.checked_mul(60)?,
        ("Duration", "from_hours") => n.checked_mul(3600)?,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

/// `convert = r#"{ format!("{}", a) }"#` (with `key = "String"`): the expression is the key.
fn convert(code: &str, written: &Written) -> String {
    let expr = unblock(code);
    match &written.cached_key_type {
        Some(ty) => format!(
            "`cached`'s `key = \"{ty}\", convert = …` is one key expression here: write `key = {expr}, key_type = \"{ty}\"` (the expression itself, not in a string)"
        ),
        None => format!(
            "a key made from the arguments is `key = <expression>`: write `key = {expr}` (the expression itself, not in a string; `key_type = \"…\"` names its type)"
        ),
    }
}

/// `{ format!("{}", a) }` is `format!("{}", a)`: a block of one expression, without its braces.
fn unblock(code: &str) -> &str {
    let code = code.trim();
    let single = match syn::parse_str::<syn::Block>(code) {
        Ok(block) => matches!(
            block.stmts.as_slice(),
            [Stmt::Expr(_, None)]
                | [Stmt::Macro(syn::StmtMacro {
                    semi_token: None,
                    ..
                })]
        ),
        Err(_) => false,
    };
    match single {
        true => code[1..code.len() - 1].trim(),
        false => code,
    }
}

/// `cached`'s code in a string (`r#"{ a.len() }"#`), or as a block (`{ a.len() }`, `cached` 4),
/// as written.
fn code(value: &Expr) -> Option<String> {
    match value {
        Expr::Block(block) => Some(
            syn::spanned::Spanned::span(block)
                .source_text()
                .unwrap_or_else(|| quote::ToTokens::to_token_stream(block).to_string()),
        ),
        _ => string(value),
    }
}

/// A string literal's value.
pub(crate) fn string(value: &Expr) -> Option<String> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Some(lit.value()),
        _ => None,
    }
}

fn is_true(value: &Expr) -> bool {
    matches!(value, Expr::Lit(ExprLit { lit: Lit::Bool(b), .. }) if b.value)
}

/// An integer literal's value.
pub(crate) fn integer(value: &Expr) -> Option<u64> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => lit.base10_parse().ok(),
        _ => None,
    }
}

/// Names that other caching libraries use, and what `#[cached]` calls them.
pub(super) fn renamed(name: &str) -> Option<&'static str> {
    Some(match name {
        "time" | "time_to_live" | "expire" | "expiry" | "lifespan" | "ttl_secs" => {
            "the time to live is `ttl`: write `ttl = \"60s\"`"
        }
        "expires" | "expires_fn" | "ttl_from" => "a ttl from the value is `ttl_fn`",
        "refresh" | "tti" | "idle" | "sliding" | "time_refresh" => {
            "sliding expiry is `time_to_idle`"
        }
        "disk" | "redis" | "io_cached" | "store" | "in_memory" => {
            "where entries live is `backend`: write `backend = \"file\"` (or \"memory\", \"store\", \"redis\", or a list of them)"
        }
        "disk_dir" => "the directory is `cache_dir`",
        "with_cached_flag" => {
            "whether a value was cached is told by `lookup(|| f(…))`, which returns the value and its `Origin`"
        }
        "ty" | "create" => {
            "a cache of another type or built by hand is `Cache::builder()` (the attribute's runtime form)"
        }
        "swr" | "refresh_after" | "next_time" | "background_refresh" => {
            "serving stale while refreshing in the background is `stale_while_revalidate`"
        }
        "result_fallback" => {
            "serving an expired entry when the function fails is `stale_if_error`, how long past its ttl: write `stale_if_error = \"1h\"` (with a `ttl`)"
        }
        "size" | "capacity" | "max_capacity" => {
            "the bounds are `max_entries` (entries) and `max_size` (bytes, on disk)"
        }
        "dir" | "path" | "directory" | "cache_path" => "the directory is `cache_dir`",
        "format" | "serializer" | "codec" => "the format is `formatter`",
        "name" | "cache_name" => {
            "the cache needs no name to be reached: every cached function has its companion, `<function>_cache()` (stats, clear, remove, …); remove `name` (a file, store or Redis cache's stable name is `namespace = \"users::fetch\"`)"
        }
        "prefix" | "id" => {
            "a cache's stable name is `namespace`: write `namespace = \"users::fetch\"`"
        }
        "option" => {
            "no flag is needed: `None` is cached like any value, as an answer; `cached`'s `option = true` does not cache `None`: here, return a `Result` and turn `None` into an `Err`, which is never cached"
        }
        "fallible" | "result_fallible" => {
            "a `Result` return type is detected; for one by another name write `result = true`"
        }
        "convert" => {
            "a key made from the arguments is `key = <expression>` (e.g. `key = (a.to_lowercase(), b)`), with `key_type = \"…\"` when its type is not inferred"
        }
        "ignore" => "to leave an argument out of the key, put `#[cached(skip)]` on that parameter",
        "sync_writes" => "no flag is needed: concurrent callers of one key always run it once",
        "unbound" | "unbounded" => {
            "no flag is needed: a cache is unbounded unless it has `max_entries` or `max_size`"
        }
        "map_error" | "map_err" => {
            "no mapping is needed: the function's own error is returned as it is, and a tier's failure is logged, never returned"
        }
        _ => return renamed_in_cached4(name),
    })
}

/// The options `cached` 4 added or renamed (`max_size` there is an entry count, `ttl` a
/// `Duration` expression: those two are cacher's names too, and their values' errors say so).
fn renamed_in_cached4(name: &str) -> Option<&'static str> {
    Some(match name {
        "cache_err" => {
            "`cached`'s `cache_err = true` (cache `Err` values too) is `result = false` here: write `result = false`; without either, an `Err` is returned and never cached"
        }
        "cache_none" => {
            "no flag is needed: `None` is cached like any value, as an answer (`cached` 4 caches only `Some` unless `cache_none = true`); remove it. To not cache `None`, return a `Result` and turn `None` into an `Err`, which is never cached"
        }
        "in_impl" => {
            "no flag is needed: `#[cached]` works on methods as it is; remove it. As in `cached`, `self` is not part of the key (one cache serves every instance): `key = (self.id, …)` keys by the instance"
        }
        "force_refresh" => {
            "a forced recompute is a per-call control: `<function>_cache().refresh(|| <function>(…))` runs the body and stores its value even over a fresh entry; remove `force_refresh`"
        }
        "companions_vis" => {
            "the companion `<function>_cache()` has the function's visibility, and holds what `cached`'s companions do (`bypass(|| f(…))` for `f_no_cache`, `refresh(|| f(…))` for `f_prime_cache`); remove `companions_vis`"
        }
        "sync_lock" | "unsync_reads" | "sync_writes_buckets" => {
            "no flag is needed: a hit takes no lock, and concurrent callers of one key always run it once"
        }
        _ => return None,
    })
}
