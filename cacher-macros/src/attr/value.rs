//! Each option's value, parsed and checked on its own: a string, a path, a duration, a size, a
//! choice among names (backends, formatters, keyers), a namespace, a version, a boolean.

use std::time::Duration;

use syn::{Expr, ExprLit, Lit, LitStr, MetaNameValue};

use super::foreign::rust_duration;
use super::{BACKENDS, FORMATTERS, Formatter, KEYERS, Keyer, Tier, example, option_name};
use crate::suggest::closest;

pub(super) fn lit_str(meta: &MetaNameValue, what: &str) -> syn::Result<LitStr> {
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

pub(super) fn non_empty_string(meta: &MetaNameValue) -> syn::Result<String> {
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
pub(super) fn cache_dir(meta: &MetaNameValue) -> syn::Result<Expr> {
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
pub(super) fn choice<T: Copy>(lit: &LitStr, what: &str, table: &[(&str, T)]) -> syn::Result<T> {
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

pub(super) fn backend(lit: LitStr) -> syn::Result<Tier> {
    let backend = choice(&lit, "backend", BACKENDS)?;
    Ok(Tier { backend, lit })
}

/// `"file"` or `["memory", "file"]`.
pub(super) fn tiers(meta: &MetaNameValue) -> syn::Result<Vec<Tier>> {
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

pub(super) fn formatter(meta: &MetaNameValue) -> syn::Result<Formatter> {
    let lit = lit_str(meta, "a formatter name")?;
    choice(&lit, "formatter", FORMATTERS)
}

pub(super) fn keyer(meta: &MetaNameValue) -> syn::Result<Keyer> {
    let lit = lit_str(meta, "a keyer name")?;
    choice(&lit, "keyer", KEYERS)
}

/// A path to a function, e.g. `shard_by_prefix` or `crate::paths::shard`.
pub(super) fn path(meta: &MetaNameValue) -> syn::Result<syn::Path> {
    let name = option_name(meta);
    let (function, example) = match name.as_str() {
        "ttl_fn" => (
            "a `fn(&T) -> Option<Duration>` (`T` the cached value)",
            "token_ttl",
        ),
        "clock" => ("a `fn() -> cacher::Clock`", "test_clock"),
        _ => ("a `fn(&str) -> String`", "shard_by_prefix"),
    };
    match &meta.value {
        Expr::Path(p) if p.qself.is_none() => Ok(p.path.clone()),
        // The function's name in quotes, as other options' values are written: the same name,
        // unquoted.
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) if lit.parse::<syn::Path>().is_ok() => Err(syn::Error::new_spanned(
            lit,
            format!(
                "`{name}` takes a path, not a string: write `{name} = {}` (the path of {function})",
                lit.value().trim()
            ),
        )),
        other => Err(syn::Error::new_spanned(
            other,
            format!(
                "`{name}` takes the path of {function}: define the function and write `{name} = {example}`"
            ),
        )),
    }
}

/// A duration, or `"0s"`: the error backoff may be turned off.
pub(super) fn duration_or_zero(meta: &MetaNameValue) -> syn::Result<Duration> {
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
pub(super) fn duration(meta: &MetaNameValue) -> syn::Result<Duration> {
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
    // `ttl = Duration::from_secs(60)`, unquoted.
    if let Expr::Call(call) = &meta.value {
        let code = quote::ToTokens::to_token_stream(call).to_string();
        if rust_duration(&code).is_some() {
            return Err(written_as_code(&name, call, &code));
        }
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
        // A number without its unit (`"60"`): the seconds that `time = 60` meant elsewhere.
        Err(_) if lit.value().trim().parse::<u64>().is_ok() => {
            let number = lit.value().trim().to_string();
            Err(syn::Error::new_spanned(
                lit,
                format!(
                    "`{name}` needs a unit: write `{name} = \"{number}s\"` (or \"ms\", \"m\", \"h\", \"d\")"
                ),
            ))
        }
        // `cached` 4's `ttl = "Duration::from_secs(60)"`: the same duration, as text.
        Err(_) if rust_duration(&lit.value()).is_some() => {
            Err(written_as_code(&name, &lit, &lit.value()))
        }
        Err(e) => Err(syn::Error::new_spanned(
            lit,
            format!(
                "`{name}` is not a duration ({e}): write a number and a unit, e.g. \"500ms\", \"90s\", \"10m\", \"1h\", \"1d\""
            ),
        )),
    }
}

/// A duration written as a Rust expression, `Duration::from_secs(60)`, where its text is meant.
fn written_as_code(name: &str, tokens: &dyn quote::ToTokens, code: &str) -> syn::Error {
    let text =
        rust_duration(code).map_or_else(String::new, |d| humantime::format_duration(d).to_string());
    syn::Error::new_spanned(
        tokens,
        format!(
            "`{name}` takes a duration's text, not a Rust expression: write `{name} = \"{text}\"`"
        ),
    )
}

pub(super) fn max_entries(meta: &MetaNameValue) -> syn::Result<usize> {
    let bad = |tokens: &dyn quote::ToTokens| {
        syn::Error::new_spanned(
            tokens,
            "`max_entries` takes a whole number greater than zero: write `max_entries = 1000`",
        )
    };
    // `max_entries = "100"`: the number, without its quotes.
    if let Expr::Lit(ExprLit {
        lit: Lit::Str(lit), ..
    }) = &meta.value
        && let Ok(n @ 1..) = lit.value().trim().replace('_', "").parse::<usize>()
    {
        return Err(syn::Error::new_spanned(
            lit,
            format!("`max_entries` takes a number, not a string: write `max_entries = {n}`"),
        ));
    }
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

/// Bytes, with a unit or none: `"512MiB"`, `"1GiB"`, `"10GB"`, `"1.5 GB"`, `"4096"`. The one
/// reading of a size in cacher (the `cacher` command's `--max-size` reads it the same way,
/// through the same crate): KB, MB, GB, TB are powers of 1000, KiB, MiB, GiB, TiB of 1024.
pub(super) fn max_size(meta: &MetaNameValue) -> syn::Result<u64> {
    let bad = |tokens: &dyn quote::ToTokens| {
        syn::Error::new_spanned(
            tokens,
            "`max_size` takes a size in bytes greater than zero, with a unit or none (KB = 1000 bytes, KiB = 1024; MB, MiB, GB, GiB, TB, TiB): write `max_size = \"1GiB\"`",
        )
    };
    // `cached` 4's `max_size = 1000` bounds the entries: here that is `max_entries`.
    if let Expr::Lit(ExprLit {
        lit: Lit::Int(int), ..
    }) = &meta.value
    {
        return Err(syn::Error::new_spanned(
            int,
            format!(
                "`max_size` bounds the bytes of the file and store tiers, in a string (`max_size = \"1GiB\"`); a number of entries, as `cached`'s `max_size = {n}`, is `max_entries`: write `max_entries = {n}`",
                n = int.base10_digits()
            ),
        ));
    }
    let Expr::Lit(ExprLit {
        lit: Lit::Str(lit), ..
    }) = &meta.value
    else {
        return Err(bad(&meta.value));
    };
    match parse_size::parse_size(lit.value()) {
        Ok(bytes) if bytes > 0 => Ok(bytes),
        _ => Err(bad(lit)),
    }
}

/// An integer or a string, kept as the string the cache records.
pub(super) fn version(meta: &MetaNameValue) -> syn::Result<String> {
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
pub(super) fn namespace(meta: &MetaNameValue) -> syn::Result<String> {
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

pub(super) fn boolean(meta: &MetaNameValue) -> syn::Result<bool> {
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

#[cfg(test)]
mod tests {
    use super::max_size;

    fn size(text: &str) -> Option<u64> {
        max_size(&syn::parse_quote!(max_size = #text)).ok()
    }

    #[test]
    fn sizes_read_kb_as_1000_and_kib_as_1024_bytes() {
        assert_eq!(size("1GiB"), Some(1 << 30));
        assert_eq!(size("10GB"), Some(10_000_000_000));
        assert_eq!(size("10KB"), Some(10_000));
        assert_eq!(size("1.5 GB"), Some(1_500_000_000));
        assert_eq!(size("4096"), Some(4096));
        assert_eq!(size("0"), None);
        assert_eq!(size("0KB"), None);
        assert_eq!(size("lots"), None);
        assert_eq!(max_size(&syn::parse_quote!(max_size = 1024)).ok(), None);
    }
}
