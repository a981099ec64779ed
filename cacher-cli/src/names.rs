//! NAMESPACE and KEY arguments, read as `ls` and `show` print names ([`print::escape`]: `\\` a
//! backslash, `\u{1b}` an ESC) or as typed. A name holding an ESC is printed in a form no one
//! need type an ESC for, and taken back in that form; an argument that reads as two names that
//! are both there is refused, saying how to name each: `clear` never guesses.

use std::borrow::Cow;

use cacher::backend::Listed;
use clap::Args;

use crate::print;

/// How NAMESPACE and KEY are read: as typed or as printed, whichever names something, by
/// default.
#[derive(Debug, Clone, Copy, Args)]
pub struct Reading {
    /// Take the namespace (and key) given exactly as typed, as `--json` prints names, not as
    /// `ls` prints them (nor a key cut with …)
    #[arg(long, conflicts_with = "escaped")]
    exact: bool,
    /// Read the namespace (and key) given only as `ls` prints names: `\\` a backslash,
    /// `\u{1b}` a character by its hexadecimal number
    #[arg(long)]
    escaped: bool,
}

impl Reading {
    /// Whether arguments are taken exactly as typed (`--exact`).
    pub fn exact(self) -> bool {
        self.exact
    }

    /// The names `arg` may stand for: as typed, then as `ls` prints names when that reads to
    /// another; only one of them with `--exact` or `--escaped`.
    pub fn of<'a>(self, arg: &'a str) -> Result<Vec<Cow<'a, str>>, String> {
        if self.exact {
            return Ok(vec![Cow::Borrowed(arg)]);
        }
        match (print::unescape(arg), self.escaped) {
            (Some(name), true) => Ok(vec![Cow::Owned(name)]),
            (None, true) => Err(format!(
                "{} is not a name as `ls` prints it (--escaped): there a backslash is written \
                 `\\\\`, and starts only `\\\\` or `\\u{{1b}}` (a character by its hexadecimal \
                 number)",
                typed(arg)
            )),
            (Some(name), false) if name != arg => Ok(vec![Cow::Borrowed(arg), Cow::Owned(name)]),
            (_, false) => Ok(vec![Cow::Borrowed(arg)]),
        }
    }
}

/// `arg` as the user typed it, quoted for a message (what a terminal acts on written out).
pub fn typed(arg: &str) -> String {
    format!("\"{}\"", print::clean(arg))
}

/// What the first of `readings` (of `arg`) that `find` finds is, with that reading; refused
/// when two readings find two different things (`what`, plural: "namespaces").
pub fn pick<'r, T: PartialEq>(
    what: &str,
    arg: &str,
    readings: &'r [Cow<'_, str>],
    find: impl Fn(&str) -> Option<T>,
) -> Result<Option<(&'r str, T)>, String> {
    let mut found = readings
        .iter()
        .filter_map(|reading| find(reading).map(|t| (reading.as_ref(), t)));
    let Some(first) = found.next() else {
        return Ok(None);
    };
    match found.next() {
        Some(second) if second.1 != first.1 => Err(format!(
            "{} may name two {what}, which `ls` prints as {} (the argument as typed) and {} (the \
             argument read as `ls` prints names): nothing was done. Pass --exact for the first, \
             --escaped for the second",
            typed(arg),
            print::quoted(first.0),
            print::quoted(second.0),
        )),
        _ => Ok(Some(first)),
    }
}

/// The namespace NAMESPACE (`arg`) names among the entries `listed`: the reading of it that one
/// is there under; the first reading when none is (nothing of it to find, or a namespace
/// without entries to clear).
pub fn namespace(listed: &[Listed], arg: &str, how: Reading) -> Result<String, String> {
    let readings = how.of(arg)?;
    let there = |name: &str| {
        let mut all = listed.iter().filter_map(Listed::meta);
        all.any(|meta| meta.namespace == name)
            .then(|| name.to_owned())
    };
    Ok(match pick("namespaces", arg, &readings, there)? {
        Some((_, name)) => name,
        None => readings[0].clone().into_owned(),
    })
}

/// For a namespace NAMESPACE (`arg`) with no entries: the one namespace listed that ends with
/// the same function name, as a hint (helper-106 guessed `port::file_plain` for a binary's
/// `extra4::file_plain`); empty when there is none, or more than one.
pub fn near_namespace(listed: &[Listed], arg: &str) -> String {
    let function = arg.rsplit("::").next().unwrap_or(arg);
    let mut near: Vec<&str> = (listed.iter().filter_map(Listed::meta))
        .map(|meta| meta.namespace.as_str())
        .filter(|name| *name != arg && name.rsplit("::").next() == Some(function))
        .collect();
    near.sort_unstable();
    near.dedup();
    match near.as_slice() {
        [one] => format!(" (did you mean {}?)", crate::print::quoted(one)),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::{Reading, pick};

    const BOTH: Reading = Reading {
        exact: false,
        escaped: false,
    };

    #[test]
    fn an_argument_is_read_as_typed_then_as_printed() {
        assert_eq!(BOTH.of("a::b").unwrap(), ["a::b"]);
        assert_eq!(BOTH.of("a\\u{1b}").unwrap(), ["a\\u{1b}", "a\u{1b}"]);
        // A backslash that starts no escape: as typed only.
        assert_eq!(BOTH.of("C:\\temp").unwrap(), ["C:\\temp"]);
        let exact = Reading {
            exact: true,
            ..BOTH
        };
        assert_eq!(exact.of("a\\\\b").unwrap(), ["a\\\\b"]);
        let escaped = Reading {
            escaped: true,
            ..BOTH
        };
        assert_eq!(escaped.of("a\\\\b").unwrap(), ["a\\b"]);
        assert!(escaped.of("C:\\temp").is_err());
    }

    #[test]
    fn two_readings_that_find_one_thing_are_not_two() {
        let readings = BOTH.of("k\\\\").unwrap();
        let same = pick("entries", "k\\\\", &readings, |_| Some(1));
        assert_eq!(same, Ok(Some(("k\\\\", 1))));
        let two = pick("entries", "k\\\\", &readings, |r| Some(r.len()));
        assert!(
            two.unwrap_err()
                .contains("\"k\\\\\\\\\" (the argument as typed)")
        );
    }
}
