//! Durations (`90s`, `30m`, `12h`, `7d`) and sizes (`500K`, `100MB`, `1GiB`) on the command line.

use std::time::Duration;

/// `90s`, `30m`, `12h`, `7d`, `2w`, or a number of seconds.
pub fn duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration: write e.g. 90s, 30m, 12h, 7d"))?;
    let seconds = match unit.trim() {
        "" | "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        other => return Err(format!("unknown unit {other:?}: use s, m, h, d or w")),
    };
    Ok(Duration::from_secs(number.saturating_mul(seconds)))
}

/// `500K`, `100MB`, `1GiB`, `2G`, or a number of bytes; K, M, G are powers of 1024.
pub fn size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size: write e.g. 500K, 100MB, 1GiB"))?;
    let shift = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        other => return Err(format!("unknown unit {other:?}: use B, K, M, G or T")),
    };
    Ok(number.saturating_mul(1 << shift))
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
        assert!(duration("soon").is_err() && duration("3y").is_err());
        assert_eq!(size("100MB"), Ok(100 << 20));
        assert_eq!(size("1GiB"), Ok(1 << 30));
        assert_eq!(size("512"), Ok(512));
        assert!(size("big").is_err());
    }
}
