//! The rules a file name must follow to mean the same file on Linux, macOS and Windows, shared
//! by the keyers (which make keys safe names) and the file backend (which checks the paths it
//! is given).

// Public as `cacher::backend::InvalidPath`; here, beside the rules it reports, so that the
// crate's `Error` wraps it without depending on a backend.
/// Why a `filename_fn` output was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("filename_fn returned {path:?}: {reason}")]
pub struct InvalidPath {
    /// The path that `filename_fn` returned.
    pub path: String,
    /// What is wrong with it, e.g. `"has a '.' or '..' component"`.
    pub reason: &'static str,
}

/// The longest file or directory name, in bytes, that Linux, macOS and Windows all accept.
pub(crate) const MAX_NAME_LEN: usize = 255;

/// Why `name` — one file or directory name, without separators — would not name the same file on
/// Linux, macOS and Windows, or `None` when it would.
///
/// Refused: an empty name; `.` and `..`; more than [`MAX_NAME_LEN`] bytes; a trailing `.` or
/// space (Windows drops them: `a.` and `a` are one file there, and `...` is no name at all);
/// NUL and other control characters; the characters Windows refuses in names (`< > : " | ? *`)
/// and `\` (a separator on Windows only, so `a\b.json` would be a file here and a directory
/// there); bidirectional control characters (U+061C, U+200E, U+200F, U+202A–U+202E,
/// U+2066–U+2069), which make a listing show a name other than the real one; and Windows device
/// names ([`is_windows_device_name`]). The keyers' names never have any of these; the file
/// backend refuses a `filename_fn` output that does. Allocates nothing: asked on every lookup.
pub(crate) fn name_problem(name: &str) -> Option<&'static str> {
    let bytes = name.as_bytes();
    let Some(&last) = bytes.last() else {
        return Some("has an empty component");
    };
    let problem = if bytes.len() > MAX_NAME_LEN {
        Some("has a component longer than 255 bytes")
    } else if name == "." || name == ".." {
        Some("has a '.' or '..' component")
    } else if last == b'.' || last == b' ' {
        Some("has a component ending in '.' or ' ', which windows drops")
    } else if name.is_ascii() {
        bytes.iter().find_map(|&b| char_problem(char::from(b)))
    } else {
        name.chars().find_map(char_problem)
    };
    problem.or_else(|| {
        is_windows_device_name(name)
            .then_some("has a windows device name (con, nul, com1, …) as a component")
    })
}

/// Why the character `c` may not appear in a portable name (see [`name_problem`]).
fn char_problem(c: char) -> Option<&'static str> {
    match c {
        'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '_' | '-' | '=' | '%' | '~' => None,
        '\0' => Some("contains a NUL byte"),
        c if c.is_control() => Some("contains a control character"),
        '\\' => Some("contains '\\', which windows reads as a separator (use '/')"),
        ':' => Some("contains ':', which windows reads as a drive or stream separator"),
        '<' | '>' | '"' | '|' | '?' | '*' => {
            Some("contains a character windows refuses in names (< > \" | ? *)")
        }
        '\u{061C}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}' => Some("contains a bidirectional control character (U+202E, …)"),
        _ => None,
    }
}

/// Whether Windows opens a device instead of a file for the name `name`, whatever its
/// extension: the part before the first `.`, without trailing spaces, is `CON`, `PRN`, `AUX`,
/// `NUL`, or `COM` or `LPT` followed by one digit (`0`–`9`, or the superscripts `¹ ² ³`, which
/// Windows also reads as port numbers), ignoring ASCII case.
///
/// `con`, `NUL.json`, `Com1.a.b`, `lpt²` and `aux .txt` are device names; `console`, `comx`
/// and `com10` are not. Allocates nothing: the file backend asks it on every lookup.
pub(crate) fn is_windows_device_name(name: &str) -> bool {
    // Every device name starts with one of these letters: most names stop here.
    let first = name.as_bytes().first().map(u8::to_ascii_lowercase);
    if !matches!(first, Some(b'a' | b'c' | b'l' | b'n' | b'p')) {
        return false;
    }
    let stem = name.split('.').next().unwrap_or_default();
    let stem = stem.trim_end_matches(' ').as_bytes();
    let Some((prefix, number)) = stem.split_at_checked(3) else {
        return false;
    };
    let is = |word: &[u8]| prefix.eq_ignore_ascii_case(word);
    if number.is_empty() {
        return is(b"CON") || is(b"PRN") || is(b"AUX") || is(b"NUL");
    }
    let digit = matches!(number, [d] if d.is_ascii_digit())
        || ["¹", "²", "³"].iter().any(|d| number == d.as_bytes());
    digit && (is(b"COM") || is(b"LPT"))
}

#[cfg(test)]
mod tests {
    use super::{is_windows_device_name, name_problem};

    #[test]
    fn portable_names_are_accepted() {
        for name in [
            "a",
            "a.json",
            "..a",
            ".hidden",
            "a b",
            "é.json",
            "user_id=1_n=2",
            "%2Fposts",
            "x~0f",
            "console",
            "日本語",
            "a.b.c",
            " lead",
        ] {
            assert_eq!(name_problem(name), None, "{name:?}");
        }
        assert_eq!(name_problem(&"é".repeat(127)), None); // 254 bytes
    }

    #[test]
    fn names_that_break_elsewhere_are_refused_with_their_reason() {
        const TRAILING: &str = "has a component ending in '.' or ' ', which windows drops";
        const REFUSED: &str = "contains a character windows refuses in names (< > \" | ? *)";
        const BIDI: &str = "contains a bidirectional control character (U+202E, …)";
        let cases: [(&[&str], &str); 10] = [
            (&[""], "has an empty component"),
            (&[".", ".."], "has a '.' or '..' component"),
            (&["...", "a.", "a "], TRAILING),
            (
                &["a\\b.json"],
                "contains '\\', which windows reads as a separator (use '/')",
            ),
            (
                &["a:b"],
                "contains ':', which windows reads as a drive or stream separator",
            ),
            (&["a?b", "a*", "<a>", "a\"b|c"], REFUSED),
            (&["a\0b"], "contains a NUL byte"),
            (&["a\tb", "a\u{85}"], "contains a control character"),
            (&["abc\u{202E}nosj.exe", "a\u{2067}b", "a\u{200F}"], BIDI),
            (
                &["NUL.json"],
                "has a windows device name (con, nul, com1, …) as a component",
            ),
        ];
        for (names, want) in cases {
            for name in names {
                assert_eq!(name_problem(name), Some(want), "{name:?}");
            }
        }
        assert_eq!(
            name_problem(&"a".repeat(256)),
            Some("has a component longer than 255 bytes")
        );
    }

    #[test]
    fn device_names_whatever_the_case_and_extension() {
        for name in [
            "con", "CON", "prn", "Aux", "nul", "NUL.json", "com0", "COM9", "Com1.a.b", "lpt1",
            "lpt²", "COM¹", "LPT³", "aux .txt", "nul  ", "con.",
        ] {
            assert!(is_windows_device_name(name), "{name:?}");
        }
    }

    #[test]
    fn other_names_are_not_devices() {
        for name in [
            "", "co", "console", "comx", "com10", "lpt", "com", "com⁴", "xcon", ".con", "aux_data",
            "nul_", "%63on", "con%2E",
        ] {
            assert!(!is_windows_device_name(name), "{name:?}");
        }
    }
}
