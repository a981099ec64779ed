//! Decode errors without stored data: they end up in warning logs, and a cached value may be a
//! secret (`invalid type: string "sk_live_…", expected u32`).
//!
//! serde's messages that quote the stored value keep what kind of error it was and lose the value;
//! messages of a type's own `Deserialize` (`Error::custom`) may interpolate anything, and are
//! replaced whole.

/// serde's own messages, by their start: where they quote a value, the quote and the rest go.
const SERDE_MESSAGES: [&str; 6] = [
    "invalid type: ",
    "invalid value: ",
    "invalid length ",
    "unknown variant ",
    "unknown field ",
    "duplicate field ",
];

/// What replaces a custom message.
const CUSTOM: &str =
    "the value's Deserialize refused it (message withheld: it may quote stored data)";

/// `message` (one of serde's `de::Error` messages) without the stored data it may quote.
pub(crate) fn redact(message: &str) -> String {
    // "missing field `x`" names the reader's field, never stored data.
    if message.starts_with("missing field ") {
        return message.to_owned();
    }
    if !SERDE_MESSAGES
        .iter()
        .any(|start| message.starts_with(start))
    {
        return CUSTOM.to_owned();
    }
    match message.find(['"', '`', '\'']) {
        Some(at) => format!("{}…", &message[..at]),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn a_quoted_value_is_dropped_and_the_kind_kept() {
        assert_eq!(
            redact(r#"invalid type: string "sk_live_secret", expected u32"#),
            "invalid type: string …"
        );
        assert_eq!(
            redact("unknown variant `se`cret`, expected `A` or `B`"),
            "unknown variant …"
        );
        assert_eq!(
            redact("invalid length 3, expected a tuple of size 4"),
            "invalid length 3, expected a tuple of size 4"
        );
        assert_eq!(redact("missing field `name`"), "missing field `name`");
    }

    #[test]
    fn a_custom_message_is_withheld_whole() {
        assert!(!redact("bad id sk_live_secret").contains("secret"));
    }
}
