//! Durations (`90s`, `30m`, `1h30m`, `7d`) and sizes (`500KB`, `100MB`, `1GiB`) on the command
//! line, read as the `#[cached]` attribute reads its `ttl` and `max_size`: the same crates.

use std::time::Duration;

/// `90s`, `30m`, `1h30m`, `7d`, `2w` (humantime's units). A bare number is refused, as the
/// attribute's `ttl = "60"` is: `prune --older-than 1` read as one second would remove nearly
/// every entry, where `1d` was likely meant.
pub fn duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{text:?} needs a unit: write {text}s (seconds), or {text}m, {text}h, {text}d"
        ));
    }
    humantime::parse_duration(text)
        .map_err(|e| format!("{text:?} is not a duration ({e}): write e.g. 90s, 30m, 1h30m, 7d"))
}

/// `500KB`, `100MB`, `1GiB`, `1.5GB`, or a number of bytes; KB, MB, GB, TB are powers of 1000,
/// KiB, MiB, GiB, TiB of 1024, as in the attribute's `max_size`.
pub fn size(text: &str) -> Result<u64, String> {
    parse_size::parse_size(text.trim())
        .map_err(|e| format!("{text:?} is not a size ({e}): write e.g. 500KB, 100MB, 1GiB"))
}

#[cfg(test)]
mod tests {
    use super::{duration, size};
    use std::time::Duration;

    #[test]
    fn durations_and_sizes() {
        assert_eq!(duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(duration("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(duration("1h30m"), Ok(Duration::from_secs(5400)));
        let bare = duration("1").unwrap_err();
        assert!(
            bare.contains("needs a unit") && bare.contains("1d"),
            "{bare}"
        );
        assert!(duration("soon").is_err() && duration("").is_err());
        // As the attribute's `max_size`: KB decimal, KiB binary.
        assert_eq!(size("100MB"), Ok(100_000_000));
        assert_eq!(size("100MiB"), Ok(100 << 20));
        assert_eq!(size("1GiB"), Ok(1 << 30));
        assert_eq!(size("512"), Ok(512));
        assert!(size("big").is_err());
    }
}
