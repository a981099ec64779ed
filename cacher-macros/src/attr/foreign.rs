//! Options of other caching libraries — the `cached` crate's above all — and what `#[cached]`
//! calls them. An unknown option that another library has gets, in its one error, what to write
//! here, with the value it was given where that value carries over (`time = 60` is
//! `ttl = "1m"`, `size = 100` is `max_entries = 100`, `convert = r#"{ … }"#` is `key = …`).

use syn::{Expr, ExprLit, Lit, Meta, MetaNameValue, Stmt};

/// What the user wrote that a hint reads beyond its option: `cached`'s key type, its
/// `key = "String"`, which `convert` turns into `key_type`.
#[derive(Default)]
pub(super) struct Written {
    cached_key_type: Option<String>,
    /// `cached`'s `time_refresh = true`, which makes its `time` an idle time: the two options
    /// are one error, at `time_refresh`, with `time`'s value (`None`: not an integer, or absent).
    time_refresh: Option<Option<u64>>,
}

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
        let time = metas.iter().find_map(|meta| match meta {
            Meta::NameValue(nv) if nv.path.is_ident("time") => integer(&nv.value),
            _ => None,
        });
        let time_refresh = metas
            .iter()
            .any(|meta| match meta {
                Meta::NameValue(nv) if nv.path.is_ident("time_refresh") => {
                    !matches!(&nv.value, Expr::Lit(ExprLit { lit: Lit::Bool(b), .. }) if !b.value)
                }
                _ => false,
            })
            .then_some(time);
        Self {
            cached_key_type,
            time_refresh,
        }
    }

    /// Whether the option `name`'s mistake is told, with another option's, at that one:
    /// `time` beside `time_refresh = true`.
    pub(super) fn told_elsewhere(&self, name: &str) -> bool {
        name == "time" && self.time_refresh.is_some()
    }
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
                let ttl = humantime::format_duration(std::time::Duration::from_secs(secs));
                format!("the time to live is `ttl`: write `ttl = \"{ttl}\"`")
            })
        }
        ("size" | "capacity" | "max_capacity", Some(value)) => integer(value).map(|n| {
            format!("the number of entries is bounded by `max_entries`: write `max_entries = {n}` (`max_size` bounds the bytes of the file and store tiers)")
        }),
        ("convert", Some(value)) => string(value).map(|code| convert(&code, written)),
        ("time_refresh", Some(_)) => written.time_refresh.map(|time| {
            let idle = time.map_or_else(
                || "60s".to_string(),
                |secs| humantime::format_duration(std::time::Duration::from_secs(secs)).to_string(),
            );
            format!(
                "`cached`'s `time = …, time_refresh = true` (each hit restarts the time) is an idle time here: write `time_to_idle = \"{idle}\"` in place of both"
            )
        }),
        _ => None,
    };
    tailored.or_else(|| renamed(name).map(str::to_owned))
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

fn string(value: &Expr) -> Option<String> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Some(lit.value()),
        _ => None,
    }
}

fn integer(value: &Expr) -> Option<u64> {
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
        "result_fallback" => "serving an expired entry when the function fails is `stale_if_error`",
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
        _ => return None,
    })
}
