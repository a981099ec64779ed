//! `CACHER_DIR=/tmp/cacher-demo cargo run --example see_into`, then `cacher ls /tmp/cacher-demo`
//!
//! Fills two caches for the `cacher` command to look into (README, "See into a cache"): one with
//! readable keys and JSON entries, one with hashed keys and postcard entries — whose entries
//! still say which arguments they are for.

use cacher::cached;

/// A readable key per word; JSON entries a person can open.
#[cached(backend = "file")]
fn word_length(word: &str) -> usize {
    word.chars().count()
}

/// Hashed keys (the arguments could be long, or private), compact binary entries.
#[cached(backend = "file", keyer = "hash", formatter = "postcard")]
fn checksum(text: String, rounds: u32) -> u64 {
    (0..rounds).fold(0u64, |sum, round| {
        text.bytes().fold(sum ^ u64::from(round), |s, b| {
            s.rotate_left(5) ^ u64::from(b)
        })
    })
}

fn main() {
    for word in ["cache", "listing", "histogram"] {
        println!("word_length({word:?}) = {}", word_length(word));
    }
    for (text, rounds) in [("hello", 3), ("world", 7)] {
        println!(
            "checksum({text:?}, {rounds}) = {}",
            checksum(text.to_owned(), rounds)
        );
    }
}
