//! The leaves of the canonical text: strings (bare or quoted), chars, names of fields and
//! variants, numbers and bytes — each written so that no two kinds of the serde data model can
//! meet in one text.

use std::fmt::{Display, Write as _};

/// Whether a bare string starting with `c` could be taken for another kind of value: the first
/// characters of every other kind's text (digits, `-`, `(`, `[`, `{`, `@`, `'`), and the
/// punctuation the encoding keeps for new kinds (`. , + ! ) ] }`).
pub(crate) fn is_lead(c: char) -> bool {
    c.is_ascii_digit() || "-.,+@()[]{}!'".contains(c)
}

/// The texts of values that start with a letter: a bare string equal to one of them is marked.
pub(crate) const WORDS: [&str; 7] = ["true", "false", "None", "NaN", "inf", "NaNf32", "inff32"];

/// Whether a string argument needs the `'` mark to be read as a string: it is empty, is one of
/// [`WORDS`], starts like `Some(x)`, or starts with a [lead](is_lead) character.
pub(crate) fn needs_mark(s: &str) -> bool {
    s.is_empty() || WORDS.contains(&s) || s.starts_with("Some(") || s.starts_with(is_lead)
}

/// A string that is an argument (or wrapped in `Some`/newtypes that are): as it is, with `'` in
/// front when [it needs one](needs_mark).
pub(super) fn write_bare(s: &str, out: &mut String) {
    if needs_mark(s) {
        out.push('\'');
    }
    out.push_str(s);
}

/// A string inside another value: `"…"`, with `\` before every `"` and `\`.
pub(super) fn write_quoted(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// The name of a field or a variant: as it is when it is made of `A-Z a-z 0-9 _` (and not
/// empty), else quoted. Names are `#[serde(rename)]`-able to any string, so they need both.
pub(super) fn write_label(name: &str, out: &mut String) {
    let plain = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if plain {
        out.push_str(name);
    } else {
        write_quoted(name, out);
    }
}

/// A char: `'c'`, with `\` before `c` when it is `\` or a [lead](is_lead) character — so that a
/// char never reads as a marked string (`'1'` would be the string `1'`).
pub(super) fn write_char(c: char, out: &mut String) {
    out.push('\'');
    if c == '\\' || is_lead(c) {
        out.push('\\');
    }
    out.push(c);
    out.push('\'');
}

/// An integer, as its sign and magnitude: decimal, then its type unless it is a `u32`. Written
/// digit by digit, not through `Display`: every persistent lookup makes its key, and the
/// formatting machinery cost more than the rest of a small key's text.
pub(super) fn write_int(negative: bool, magnitude: u128, suffix: &str, out: &mut String) {
    let mut digits = [0u8; 39];
    let mut start = digits.len();
    let mut push = |digit: u8| {
        start -= 1;
        digits[start] = b'0' + digit;
    };
    if let Ok(mut n) = u64::try_from(magnitude) {
        // The common case, without 128-bit divisions.
        loop {
            push((n % 10) as u8);
            n /= 10;
            if n == 0 {
                break;
            }
        }
    } else {
        let mut n = magnitude;
        while n > 0 {
            push((n % 10) as u8);
            n /= 10;
        }
    }
    if negative {
        out.push('-');
    }
    out.extend(digits[start..].iter().map(|&d| char::from(d)));
    out.push_str(suffix);
}

/// A float: Rust's `Display` (the shortest text that reads back as the same float, never an
/// exponent; `NaN`, `inf`, `-inf`), `.0` added when a finite value printed without a `.` (so a
/// float never reads as an integer), then `suffix`.
pub(super) fn write_float(v: impl Display, finite: bool, suffix: &str, out: &mut String) {
    let start = out.len();
    let _ = write!(out, "{v}");
    if finite && !out[start..].contains('.') {
        out.push_str(".0");
    }
    out.push_str(suffix);
}

/// Bytes: `0x` and two lowercase hex digits per byte.
pub(super) fn write_bytes(v: &[u8], out: &mut String) {
    out.push_str("0x");
    for b in v {
        let _ = write!(out, "{b:02x}");
    }
}
