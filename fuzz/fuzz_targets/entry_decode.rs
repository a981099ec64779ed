//! Entry decoding over arbitrary bytes, with each formatter.
//!
//! Properties:
//! - `cacher::entry::decode` never panics, overflows the stack or spins, whatever the bytes:
//!   recursive types (a comment tree, an enum tree) stay within the formatters' depth limit and
//!   zero-sized elements (`Vec<()>`) within their item limit, through every formatter;
//! - bytes that decode for one identity (namespace, version, key, value type) are refused for
//!   every other identity: a value is never served for a key it was not stored for;
//! - a decoded entry that encodes again decodes back to itself (encoding may refuse what a
//!   hand-made entry holds: JSON read up to serde_json's depth of 128, written up to 100).
//!
//! The first byte picks the formatter and the mode: raw bytes, or a valid entry (a string, or a
//! comment thread up to 48 deep) built from the input and then damaged by the input (truncated,
//! bytes overwritten, bytes inserted), which keeps the fuzzer near entries that almost decode.

#![no_main]

use std::fmt::Debug;

use cacher::entry::{self, Entry, EntryKey};
use cacher::format::{BincodeFormatter, Formatter, JsonFormatter, PostcardFormatter};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Record {
    id: u64,
    name: String,
    tags: Vec<String>,
    score: Option<i32>,
}

/// Recursive: a deep thread must be a refused entry, not a stack overflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Comment {
    text: String,
    replies: Vec<Comment>,
}

/// Recursive through an enum whose first variant holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Tree {
    Node(Box<Tree>, Vec<Tree>),
    Leaf(Option<u8>),
}

fn key_for<V>() -> EntryKey<'static> {
    EntryKey {
        namespace: "fuzz::entry",
        version: Some("v1"),
        key: "id=1_name=%22x%22",
        type_name: std::any::type_name::<V>(),
        code: Some("c1"),
    }
}

/// Identities that differ from `key` in exactly one part.
fn others<'a>(key: &EntryKey<'a>) -> Vec<EntryKey<'a>> {
    let mut out = Vec::new();
    for namespace in ["fuzz::entr", "fuzz::entry2", "", "fuzz::Entry"] {
        out.push(EntryKey { namespace, ..*key });
    }
    for version in [None, Some(""), Some("v2"), Some("v1 ")] {
        out.push(EntryKey { version, ..*key });
    }
    for k in ["id=1_name=%22y%22", "", "id=1_name=%22x%22 ", "id=1"] {
        out.push(EntryKey { key: k, ..*key });
    }
    for code in [None, Some(""), Some("c2")] {
        out.push(EntryKey { code, ..*key });
    }
    // Module paths aside: a traced type moved to another module keeps its entries.
    for type_name in ["alloc::string::String", "u64", "", "other::Type"] {
        if type_name != key.type_name {
            out.push(EntryKey { type_name, ..*key });
        }
    }
    out
}

fn check_bytes<F, V>(formatter: &F, bytes: &[u8])
where
    F: Formatter,
    V: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let key = key_for::<V>();
    let Ok(decoded) = entry::decode::<F, V>(formatter, &key, bytes, &"fuzz") else {
        return;
    };
    for other in others(&key) {
        let served = entry::decode::<F, V>(formatter, &other, bytes, &"fuzz");
        assert!(
            served.is_err(),
            "{}: bytes stored for {key:?} were decoded for {other:?}",
            formatter.name()
        );
    }
    let Ok(again) = entry::encode(formatter, &key, &decoded) else {
        return;
    };
    let back: Entry<V> =
        entry::decode(formatter, &key, &again, &"fuzz").expect("re-encoded entry decodes");
    assert_eq!(
        back,
        decoded,
        "{}: encode/decode is not stable",
        formatter.name()
    );
}

fn check_all_types<F: Formatter>(formatter: &F, bytes: &[u8]) {
    check_bytes::<F, String>(formatter, bytes);
    check_bytes::<F, Vec<u32>>(formatter, bytes);
    check_bytes::<F, Record>(formatter, bytes);
    check_bytes::<F, (u8, Option<Vec<u8>>)>(formatter, bytes);
    check_bytes::<F, Comment>(formatter, bytes);
    check_bytes::<F, Tree>(formatter, bytes);
    check_bytes::<F, Vec<()>>(formatter, bytes);
    check_bytes::<F, Vec<Vec<()>>>(formatter, bytes);
}

/// A comment thread as deep as `text` is long (within the depth limit), its text at each level.
fn thread(text: &str) -> Comment {
    let mut comment = Comment {
        text: text.to_owned(),
        replies: vec![],
    };
    for _ in 0..text.len() % 48 {
        comment = Comment {
            text: text.to_owned(),
            replies: vec![comment],
        };
    }
    comment
}

/// A valid entry built from the start of `data` (a `String`, or a comment thread when
/// `comments`), then damaged by the rest of it.
fn damaged_entry<F: Formatter>(formatter: &F, comments: bool, data: &[u8]) -> Vec<u8> {
    let split = data
        .first()
        .map_or(0, |&n| usize::from(n) % (data.len().max(1)));
    let (value, edits) = data.split_at(split.min(data.len()));
    let value = String::from_utf8_lossy(value).into_owned();
    let created_ms = 1_764_000_000_000;
    let mut bytes = if comments {
        let entry = Entry::new(thread(&value), created_ms);
        entry::encode(formatter, &key_for::<Comment>(), &entry).expect("encodes")
    } else {
        let entry = Entry::new(value, created_ms);
        entry::encode(formatter, &key_for::<String>(), &entry).expect("encodes")
    };
    // Each edit is three bytes: an operation, a position, a byte.
    for edit in edits.chunks_exact(3) {
        let at = usize::from(edit[1]) % (bytes.len() + 1);
        match edit[0] % 4 {
            0 => bytes.truncate(at),
            1 if at < bytes.len() => bytes[at] = edit[2],
            2 => bytes.insert(at, edit[2]),
            _ if at < bytes.len() => {
                bytes.remove(at);
            }
            _ => {}
        }
    }
    bytes
}

fn run<F: Formatter>(formatter: F, damage: bool, comments: bool, data: &[u8]) {
    if damage {
        let bytes = damaged_entry(&formatter, comments, data);
        check_all_types(&formatter, &bytes);
    } else {
        check_all_types(&formatter, data);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let damage = selector & 0x80 != 0;
    let comments = selector & 0x40 != 0;
    match selector % 3 {
        0 => run(JsonFormatter, damage, comments, rest),
        1 => run(BincodeFormatter, damage, comments, rest),
        _ => run(PostcardFormatter, damage, comments, rest),
    }
});
