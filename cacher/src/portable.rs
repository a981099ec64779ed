//! The rules a file name must follow to mean the same file on Linux, macOS and Windows, shared
//! by the keyers (which make keys safe names) and the file backend (which checks the paths it
//! is given).

/// The longest file or directory name, in bytes, that Linux, macOS and Windows all accept.
pub(crate) const MAX_NAME_LEN: usize = 255;

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
    use super::is_windows_device_name;

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
