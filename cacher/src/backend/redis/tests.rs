//! The Redis backend's unit tests: its key layout and its ttl, with no server.

use super::*;

/// The tier's own ttl (`RedisBackend::ttl`) is counted in whole milliseconds rounded up:
/// truncated, one under a millisecond was "already up" at the write (the tier stored
/// nothing, ever), and 1.5 ms was 1 ms.
#[test]
fn a_sub_millisecond_ttl_of_the_tier_is_never_made_shorter() {
    let tier = |micros| {
        RedisBackend::new(RedisOptions::new("redis://127.0.0.1:1/"))
            .unwrap()
            .ttl(Duration::from_micros(micros))
    };
    let entry = Entry::new(7u32, 5_000);
    assert_eq!(tier(500).time_left(&entry, 5_000), Some(1));
    assert_eq!(tier(1_500).time_left(&entry, 5_000), Some(2));
    assert_eq!(tier(1_500).time_left(&entry, 5_001), Some(1));
}

#[test]
fn keys_and_patterns() {
    assert_eq!(
        entry_redis_key("app::f", None, "a=1"),
        "cacher:{app::f}:a=1"
    );
    assert_eq!(entry_redis_key("a}b%", None, "k"), "cacher:{a%7Db%25}:k");
    assert_eq!(
        entry_redis_key("app::f", Some("2:%"), "a=1"),
        "cacher:{app::f}:v=2%3A%25:a=1"
    );
    assert_eq!(namespace_pattern("app::f"), "cacher:{app::f}:*");
    assert_eq!(namespace_pattern("a*[?]\\"), r"cacher:{a\*\[\?\]\\}:*");
}

/// What Redis's glob does for these patterns (no brackets, escapes, `*` only at the end).
fn matches(pattern: &str, key: &str) -> bool {
    let body = pattern.strip_suffix('*').unwrap();
    let mut literal = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        literal.push(if c == '\\' { chars.next().unwrap() } else { c });
    }
    key.starts_with(&literal)
}

#[test]
fn no_namespace_matches_another() {
    let namespaces = [
        "a", "a:", "a::b", "a}", "a}:x", "a%7D", "a%", "{a", "a*", "", ":",
    ];
    for ns in namespaces {
        for other in namespaces {
            let key = entry_redis_key(other, Some("v:}"), "k:}{*");
            assert_eq!(
                matches(&namespace_pattern(ns), &key),
                ns == other,
                "{ns:?} vs {other:?}"
            );
        }
    }
}
