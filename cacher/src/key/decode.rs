//! Test-only decoder of the canonical text back into the data-model [`Value`]s of its arguments.
//! That the text decodes back to the value it came from is what proves the encoding injective:
//! two values with one text would have to decode to the same value.
//!
//! It also reads [`ReadableKeyer`](super::ReadableKeyer) keys (without the `~` fallback): their
//! extra `%XX` escapes decode like any other.

use super::canonical::{PREFIX, is_lead, needs_mark};
use super::model::{Name, Value, intern};

/// The arguments of `text`, as the canonical text of `names` wrote them.
pub(crate) fn decode_args(text: &str, names: &[&str]) -> Option<Vec<Value>> {
    let raw = raw_args(text.strip_prefix(PREFIX)?, names)?;
    raw.iter().map(|raw| arg(raw)).collect()
}

/// Decodes a canonical text (or readable key) of string arguments with these names.
pub(crate) fn decode_strings(text: &str, names: &[&str]) -> Option<Vec<String>> {
    let args = decode_args(text, names)?;
    args.into_iter()
        .map(|arg| match arg {
            Value::Str(s) => Some(s),
            _ => None,
        })
        .collect()
}

/// Decodes the canonical text (or readable key) of a single string argument.
pub(crate) fn decode_string(text: &str) -> Option<String> {
    let mut args = decode_strings(text, &[])?;
    (args.len() == 1).then(|| args.remove(0))
}

/// Each argument of the text after the prefix, percent-decoded to its raw text. With names, each
/// argument must be `name=value`; values never contain `_`, so a value ends at the next `_`.
fn raw_args(text: &str, names: &[&str]) -> Option<Vec<String>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
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

/// One argument's raw text: strings are bare there, and `Some(…)` and newtypes keep that level.
fn arg(raw: &str) -> Option<Value> {
    if let Some(inner) = raw.strip_prefix("Some(").and_then(|r| r.strip_suffix(')')) {
        return Some(Value::Some(Box::new(arg(inner)?)));
    }
    if let Some(rest) = raw.strip_prefix('@') {
        let (name, body) = label(rest)?;
        if let Some(inner) = body.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
            return Some(newtype(name, arg(inner)?));
        }
    }
    if let Some(rest) = raw.strip_prefix('\'') {
        if let Some((c, "")) = char_body(rest) {
            return Some(Value::Char(c));
        }
        // A mark on a string that needs none is not canonical.
        return needs_mark(rest).then(|| Value::Str(rest.to_owned()));
    }
    if !needs_mark(raw) {
        return Some(Value::Str(raw.to_owned()));
    }
    let (value, rest) = nested(raw)?;
    rest.is_empty().then_some(value)
}

/// A value inside another one, and the text after it.
fn nested(s: &str) -> Option<(Value, &str)> {
    if let Some(rest) = s.strip_prefix("Some(") {
        let (value, rest) = nested(rest)?;
        return Some((Value::Some(Box::new(value)), rest.strip_prefix(')')?));
    }
    match s.chars().next()? {
        '"' => quoted(s).map(|(text, rest)| (Value::Str(text), rest)),
        '\'' => char_body(&s[1..]).map(|(c, rest)| (Value::Char(c), rest)),
        '@' => named(&s[1..]),
        '(' => tuple(&s[1..]),
        '[' => list(&s[1..], ']').map(|(items, rest)| (Value::Seq(items), rest)),
        '{' => map(&s[1..]),
        _ => {
            let end = s.find([',', ')', ']', '}', ':']).unwrap_or(s.len());
            Some((scalar(&s[..end])?, &s[end..]))
        }
    }
}

/// `"…"` with `\` escapes, and the text after it.
fn quoted(s: &str) -> Option<(String, &str)> {
    let body = s.strip_prefix('"')?;
    let mut chars = body.char_indices();
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

/// The rest of a char after its opening `'`: `c'` or `\c'`.
fn char_body(s: &str) -> Option<(char, &str)> {
    let (escaped, s) = match s.strip_prefix('\\') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let c = s.chars().next()?;
    // The encoder escapes exactly `\` and the lead characters: `'''` is the marked string `''`.
    (escaped == (c == '\\' || is_lead(c))).then_some(())?;
    Some((c, s[c.len_utf8()..].strip_prefix('\'')?))
}

/// The name after `@`: a quoted one, or a run of `A-Z a-z 0-9 _` (`None` when that is empty: a
/// struct, not a variant).
fn label(s: &str) -> Option<(Option<Name>, &str)> {
    if s.starts_with('"') {
        let (name, rest) = quoted(s)?;
        return Some((Some(intern(name)), rest));
    }
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    let name = (end > 0).then(|| intern(s[..end].to_owned()));
    Some((name, &s[end..]))
}

/// A struct or a variant, after its `@`.
fn named(s: &str) -> Option<(Value, &str)> {
    let (name, rest) = label(s)?;
    if let Some(rest) = rest.strip_prefix('(') {
        let (inner, rest) = nested(rest)?;
        return Some((newtype(name, inner), rest.strip_prefix(')')?));
    }
    if let Some(rest) = rest.strip_prefix('[') {
        let (items, rest) = list(rest, ']')?;
        return Some((
            match name {
                Some(name) => Value::TupleVariant(name, items),
                None => Value::TupleStruct(items),
            },
            rest,
        ));
    }
    if let Some(rest) = rest.strip_prefix('{') {
        let (fields, rest) = fields(rest)?;
        return Some((
            match name {
                Some(name) => Value::StructVariant(name, fields),
                None => Value::Struct(fields),
            },
            rest,
        ));
    }
    Some((name.map_or(Value::UnitStruct, Value::UnitVariant), rest))
}

fn newtype(name: Option<Name>, inner: Value) -> Value {
    match name {
        Some(name) => Value::NewtypeVariant(name, Box::new(inner)),
        None => Value::NewtypeStruct(Box::new(inner)),
    }
}

/// After `(`: unit `()`, a tuple `(,)`, `(a,)`, `(a,b)`.
fn tuple(s: &str) -> Option<(Value, &str)> {
    if let Some(rest) = s.strip_prefix(')') {
        return Some((Value::Unit, rest));
    }
    if let Some(rest) = s.strip_prefix(",)") {
        return Some((Value::Tuple(Vec::new()), rest));
    }
    let (items, rest) = list(s, ')')?;
    Some((Value::Tuple(items), rest))
}

/// Values separated by `,` up to `close` (a `,` may end a one-element tuple), and what follows.
fn list(mut s: &str, close: char) -> Option<(Vec<Value>, &str)> {
    let mut items = Vec::new();
    if let Some(rest) = s.strip_prefix(close) {
        return Some((items, rest));
    }
    loop {
        let (value, rest) = nested(s)?;
        items.push(value);
        if let Some(rest) = rest.strip_prefix(close) {
            return Some((items, rest));
        }
        s = rest.strip_prefix(',')?;
        if close == ')'
            && items.len() == 1
            && let Some(rest) = s.strip_prefix(close)
        {
            return Some((items, rest));
        }
    }
}

/// After `{` of a struct: `name:value` pairs up to `}`.
fn fields(mut s: &str) -> Option<(Vec<(Name, Value)>, &str)> {
    let mut fields = Vec::new();
    if let Some(rest) = s.strip_prefix('}') {
        return Some((fields, rest));
    }
    loop {
        let (name, rest) = label(s)?;
        let (value, rest) = nested(rest.strip_prefix(':')?)?;
        fields.push((name.unwrap_or(""), value));
        if let Some(rest) = rest.strip_prefix('}') {
            return Some((fields, rest));
        }
        s = rest.strip_prefix(',')?;
    }
}

/// After `{` of a map: `key:value` pairs up to `}`.
fn map(mut s: &str) -> Option<(Value, &str)> {
    let mut entries = Vec::new();
    if let Some(rest) = s.strip_prefix('}') {
        return Some((Value::Map(entries), rest));
    }
    loop {
        let (key, rest) = nested(s)?;
        let (value, rest) = nested(rest.strip_prefix(':')?)?;
        entries.push((key, value));
        if let Some(rest) = rest.strip_prefix('}') {
            return Some((Value::Map(entries), rest));
        }
        s = rest.strip_prefix(',')?;
    }
}

/// A value written as one token: a bool, `None`, bytes, or a number and its type.
fn scalar(token: &str) -> Option<Value> {
    match token {
        "true" => return Some(Value::Bool(true)),
        "false" => return Some(Value::Bool(false)),
        "None" => return Some(Value::None),
        _ => {}
    }
    if let Some(hex) = token.strip_prefix("0x") {
        return bytes(hex).map(Value::Bytes);
    }
    macro_rules! suffixed {
        ($($suffix:literal => $variant:ident),*) => {$(
            if let Some(body) = token.strip_suffix($suffix) {
                return body.parse().ok().map(Value::$variant);
            }
        )*};
    }
    suffixed!(
        "u128" => U128, "i128" => I128, "u16" => U16, "i16" => I16, "u64" => U64,
        "i64" => I64, "i32" => I32, "u8" => U8, "i8" => I8, "f32" => F32
    );
    if token.contains('.') || matches!(token, "NaN" | "inf" | "-inf") {
        return token.parse().ok().map(Value::F64);
    }
    token.parse().ok().map(Value::U32)
}

fn bytes(hex: &str) -> Option<Vec<u8>> {
    hex.len().is_multiple_of(2).then_some(())?;
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::key::canonical;

    #[test]
    fn decoder_reads_the_pinned_example() {
        let text = canonical(&("/posts", "asc"), &["end_point", "sort"]).unwrap();
        assert_eq!(text, "(v2)end_point=%2Fposts_sort=asc");
        assert_eq!(
            decode_strings(&text, &["end_point", "sort"]),
            Some(vec!["/posts".to_owned(), "asc".to_owned()])
        );
        assert_eq!(decode_args("(v2)", &[]), Some(Vec::new()));
    }

    #[test]
    fn decoder_refuses_what_canonical_never_writes() {
        assert_eq!(decode_string("(v2)a_b"), None);
        for text in [
            "42",
            "(v2)'a",
            "(v2)'\\a'",
            "(v2)[%22a]",
            "(v2)1x",
            "(v2)-1",
            "(v2)0x0",
            "(v2)@a(",
            "(v2)Some(",
        ] {
            assert_eq!(decode_args(text, &[]), None, "{text}");
        }
        // `'''` is the string `''`: the char `'` is `'\''`.
        assert_eq!(decode_string("(v2)'''"), Some("''".to_owned()));
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
        fn strings_with_structural_characters_decode_back(
            s in proptest::collection::vec(prop_oneof![
                Just('"'), Just('\\'), Just(','), Just('['), Just(']'), Just('_'), Just('='),
                Just('%'), Just('\''), Just('?'), Just('~'), Just('.'), Just('a'), Just('1'),
                Just('@'), Just('('), Just(')'),
            ], 0..12).prop_map(|cs| cs.into_iter().collect::<String>())
        ) {
            prop_assert_eq!(decode_string(&canonical(&s, &[]).unwrap()), Some(s.clone()));
            let v = vec![s.clone(), s];
            let model: Vec<Value> = v.iter().cloned().map(Value::Str).collect();
            let text = canonical(&(v,), &[]).unwrap();
            prop_assert_eq!(decode_args(&text, &[]), Some(vec![Value::Seq(model)]));
        }
    }
}
