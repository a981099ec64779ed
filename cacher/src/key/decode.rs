//! Test-only decoder of the canonical text, for strings, tuples of strings, `Vec<u8>` and
//! `Vec<String>`. That the text decodes back to the value it came from is what proves the
//! encoding injective: two values with one text would have to decode to the same value.
//!
//! It also reads [`ReadableKeyer`](super::ReadableKeyer) keys (without the `~` fallback): their
//! extra `%XX` escapes decode like any other.

/// The arguments of `text`, each percent-decoded to its raw text. With names, each argument must
/// be `name=value`; values never contain `_`, so a value ends at the next `_`.
fn raw_args(text: &str, names: &[&str]) -> Option<Vec<String>> {
    if names.is_empty() {
        return text.split('_').map(percent_decode).collect();
    }
    // A name may contain `_` itself: rejoin the pieces by walking the expected names.
    let mut rest = text;
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        rest = rest.strip_prefix(name)?.strip_prefix('=')?;
        let end = rest.find('_').unwrap_or(rest.len());
        out.push(percent_decode(&rest[..end])?);
        rest = &rest[end..];
        if i + 1 < names.len() {
            rest = rest.strip_prefix('_')?;
        }
    }
    rest.is_empty().then_some(out)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A bare string argument: drops the `'` marker, and refuses a text that should have had one.
fn bare(raw: &str) -> Option<String> {
    if let Some(s) = raw.strip_prefix('\'') {
        return Some(s.to_owned());
    }
    let ambiguous = matches!(raw, "" | "true" | "false" | "null" | "NaN" | "inf")
        || raw.starts_with(|c: char| c.is_ascii_digit() || "-([{\"?".contains(c));
    (!ambiguous).then(|| raw.to_owned())
}

/// Decodes a canonical text (or readable key) of string arguments with these names.
pub(crate) fn decode_strings(text: &str, names: &[&str]) -> Option<Vec<String>> {
    raw_args(text, names)?.iter().map(|raw| bare(raw)).collect()
}

/// Decodes the canonical text (or readable key) of a single string argument.
pub(crate) fn decode_string(text: &str) -> Option<String> {
    let mut args = decode_strings(text, &[])?;
    (args.len() == 1).then(|| args.remove(0))
}

/// The elements of `[a,b,…]`, each parsed by `element`, which returns the rest of the input.
fn seq<T>(raw: &str, element: impl Fn(&str) -> Option<(T, &str)>) -> Option<Vec<T>> {
    let mut rest = raw.strip_prefix('[')?;
    let mut out = Vec::new();
    if let Some(end) = rest.strip_prefix(']') {
        return end.is_empty().then_some(out);
    }
    loop {
        let (value, after) = element(rest)?;
        out.push(value);
        if let Some(after) = after.strip_prefix(',') {
            rest = after;
        } else {
            return after.strip_prefix(']')?.is_empty().then_some(out);
        }
    }
}

fn byte(raw: &str) -> Option<(u8, &str)> {
    let end = raw.find([',', ']']).unwrap_or(raw.len());
    Some((raw[..end].parse().ok()?, &raw[end..]))
}

/// A quoted nested string: `"` … `"`, with `\"` and `\\` inside.
fn quoted(raw: &str) -> Option<(String, &str)> {
    let mut chars = raw.strip_prefix('"')?.char_indices();
    let body = &raw[1..];
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &body[i + 1..])),
            '\\' => out.push(chars.next()?.1),
            c => out.push(c),
        }
    }
    None
}

/// Decodes the canonical text of a `Vec<u8>` argument.
pub(crate) fn decode_byte_vec(text: &str) -> Option<Vec<u8>> {
    seq(&percent_decode(text)?, byte)
}

/// Decodes the canonical text of a `Vec<String>` argument.
pub(crate) fn decode_string_vec(text: &str) -> Option<Vec<String>> {
    seq(&percent_decode(text)?, quoted)
}

/// Decodes the canonical text of an `Option<String>` argument.
pub(crate) fn decode_option_string(text: &str) -> Option<Option<String>> {
    let raw = percent_decode(text)?;
    if raw == "null" {
        return Some(None);
    }
    let (s, rest) = quoted(&raw)?;
    rest.is_empty().then_some(Some(s))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::key::canonical;

    #[test]
    fn decoder_reads_the_pinned_example() {
        let text = canonical(&("/posts", "asc"), &["end_point", "sort"]).unwrap();
        assert_eq!(text, "end_point=%2Fposts_sort=asc");
        assert_eq!(
            decode_strings(&text, &["end_point", "sort"]),
            Some(vec!["/posts".to_owned(), "asc".to_owned()])
        );
    }

    #[test]
    fn decoder_refuses_what_canonical_never_writes() {
        assert_eq!(decode_string("42"), None);
        assert_eq!(decode_string("a_b"), None);
        assert_eq!(decode_string_vec("[%22a]"), None);
    }

    proptest! {
        #[test]
        fn strings_decode_back(s in ".*") {
            prop_assert_eq!(decode_string(&canonical(&s, &[]).unwrap()), Some(s.clone()));
            prop_assert_eq!(decode_string(&canonical(&(s.clone(),), &[]).unwrap()), Some(s));
        }

        #[test]
        fn string_pairs_decode_back(a in ".*", b in ".*") {
            let want = Some(vec![a.clone(), b.clone()]);
            let pair = (a, b);
            prop_assert_eq!(decode_strings(&canonical(&pair, &[]).unwrap(), &[]), want.clone());
            let names = ["user_id", "sort"];
            prop_assert_eq!(decode_strings(&canonical(&pair, &names).unwrap(), &names), want);
        }

        #[test]
        fn byte_vecs_decode_back(v in proptest::collection::vec(any::<u8>(), 0..40)) {
            prop_assert_eq!(decode_byte_vec(&canonical(&v, &[]).unwrap()), Some(v));
        }

        #[test]
        fn string_vecs_decode_back(v in proptest::collection::vec(".*", 0..6)) {
            prop_assert_eq!(decode_string_vec(&canonical(&v, &[]).unwrap()), Some(v));
        }

        #[test]
        fn option_strings_decode_back(o in proptest::option::of(".*")) {
            prop_assert_eq!(decode_option_string(&canonical(&o, &[]).unwrap()), Some(o));
        }

        #[test]
        fn strings_with_structural_characters_decode_back(
            s in proptest::collection::vec(prop_oneof![
                Just('"'), Just('\\'), Just(','), Just('['), Just(']'), Just('_'), Just('='),
                Just('%'), Just('\''), Just('?'), Just('~'), Just('.'), Just('a'), Just('1'),
            ], 0..12).prop_map(|cs| cs.into_iter().collect::<String>())
        ) {
            prop_assert_eq!(decode_string(&canonical(&s, &[]).unwrap()), Some(s.clone()));
            let v = vec![s.clone(), s];
            prop_assert_eq!(decode_string_vec(&canonical(&v, &[]).unwrap()), Some(v));
        }
    }
}
