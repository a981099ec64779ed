//! The short way against postcard's own decode of the same bytes (attack 20): random values and
//! times, then random damage (a byte changed, cut, added or dropped, most in the times and value
//! that the short way parses by hand). Whatever [`decode_current`] serves, postcard reads from
//! those bytes with every identity check passing; whatever postcard reads so, it serves.

use proptest::prelude::*;
use serde::{Deserialize, Serialize};

use super::read;
use crate::entry::{self, Entry, EntryKey, LAYOUT, bounded_args, decode_current, same_type, shape};
use crate::format::{Formatter, MAX_DEPTH, PostcardFormatter};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Value {
    id: u64,
    text: String,
    tags: Vec<u32>,
    note: Option<Option<String>>,
}

/// The envelope as postcard alone decodes it: the oracle.
#[derive(Debug, Deserialize)]
struct Mirror<V> {
    cacher: u32,
    namespace: String,
    version: Option<String>,
    key: String,
    args: Option<String>,
    type_name: String,
    shape: Option<String>,
    code: Option<String>,
    created_ms: u64,
    ttl_ms: Option<u64>,
    touched_ms: u64,
    value: V,
}

fn key() -> EntryKey<'static> {
    key_of::<Value>()
}

/// The lookup's key of a `V`.
fn key_of<V>() -> EntryKey<'static> {
    EntryKey {
        namespace: "app::f",
        version: Some("v1"),
        key: "7",
        args: Some("(7)"),
        type_name: std::any::type_name::<V>(),
        code: Some("c0de"),
    }
}

/// What postcard alone reads from `bytes` and the checks accept for [`key`], if anything.
fn oracle<V: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Option<Entry<V>> {
    let key = key_of::<V>();
    let (m, rest) = postcard::take_from_bytes::<Mirror<V>>(bytes).ok()?;
    let shape = shape::of::<V>().fingerprint.clone();
    let args_agree = match (&m.args, key.args) {
        (Some(stored), Some(asked)) => stored.as_str() == bounded_args(asked),
        _ => true,
    };
    let identity = m.cacher == LAYOUT
        && m.namespace == key.namespace
        && m.version.as_deref() == key.version
        && m.key == key.key
        && args_agree
        && m.code.as_deref() == key.code
        && same_type(&m.type_name, key.type_name, shape.is_some())
        && m.shape == shape;
    (rest.is_empty() && identity).then_some(Entry {
        value: m.value,
        created_ms: m.created_ms,
        ttl_ms: m.ttl_ms,
        touched_ms: m.touched_ms,
        expires_ms: None,
    })
}

/// One change to stored bytes, at a place given as a fraction of the length.
#[derive(Debug, Clone)]
enum Damage {
    Xor(prop::sample::Index, u8),
    Set(prop::sample::Index, u8),
    Cut(prop::sample::Index),
    Insert(prop::sample::Index, u8),
    Drop(prop::sample::Index),
}

fn damage() -> impl Strategy<Value = Damage> {
    let (at, byte) = (any::<prop::sample::Index>, any::<u8>);
    let edge = prop::sample::select(vec![0x00, 0x01, 0x7f, 0x80, 0x81, 0xc0, 0xed, 0xf4, 0xff]);
    prop_oneof![
        (at(), byte()).prop_map(|(i, b)| Damage::Xor(i, b)),
        (at(), prop_oneof![byte(), edge]).prop_map(|(i, b)| Damage::Set(i, b)),
        at().prop_map(Damage::Cut),
        (at(), byte()).prop_map(|(i, b)| Damage::Insert(i, b)),
        at().prop_map(Damage::Drop),
    ]
}

/// Applies `damage` to `bytes`, within `bytes[from..]` (the times and value: the header's
/// damage mostly sends the read the long way).
fn apply(bytes: &mut Vec<u8>, from: usize, damage: &Damage) {
    let len = bytes.len() - from;
    let at = |i: &prop::sample::Index, extra: usize| from + i.index(len + extra);
    match damage {
        Damage::Xor(i, b) => bytes[at(i, 0)] ^= b,
        Damage::Set(i, b) => bytes[at(i, 0)] = *b,
        Damage::Cut(i) => bytes.truncate(at(i, 1)),
        Damage::Insert(i, b) => bytes.insert(at(i, 1), *b),
        Damage::Drop(i) => drop(bytes.remove(at(i, 0))),
    }
}

fn value() -> impl Strategy<Value = Value> {
    let time_like = prop_oneof![any::<u64>(), Just(u64::MAX), 0..300u64];
    let text = prop_oneof![".{0,40}", ".{250,260}", "[a-z]{250,258}", "é{127,129}"];
    let note = prop::option::of(prop::option::of(".{0,8}"));
    (
        time_like,
        text,
        prop::collection::vec(any::<u32>(), 0..6),
        note,
    )
        .prop_map(|(id, text, tags, note)| Value {
            id,
            text,
            tags,
            note,
        })
}

fn time() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        Just(u64::MAX),
        Just(u64::MAX - 1),
        1u64 << 56..1u64 << 63
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn a_damaged_entry_is_served_exactly_when_postcard_reads_it_as_this_keys(
        value in value(),
        (created_ms, ttl_ms, touched_ms) in (time(), prop::option::of(time()), time()),
        damages in prop::collection::vec(damage(), 0..3),
        in_header in any::<bool>(),
    ) {
        let entry = Entry { value, created_ms, ttl_ms, touched_ms, expires_ms: None };
        let mut bytes = entry::encode(&PostcardFormatter, &key(), &entry).unwrap();
        let shape = shape::of::<Value>().fingerprint.clone();
        let whole = read::<_, Value>(&PostcardFormatter, &key(), &bytes, shape.as_deref());
        prop_assert_eq!(whole.map(Result::ok), Some(Some(entry.clone())));
        // Where the times start: the header is what is left once they and the value are cut.
        let tail = PostcardFormatter.encode(&(created_ms, ttl_ms, touched_ms, &entry.value));
        let from = if in_header { 0 } else { bytes.len() - tail.unwrap().len() };
        for damage in &damages {
            if bytes.len() > from {
                apply(&mut bytes, from, damage);
            }
        }
        let served = decode_current::<_, Value>(&PostcardFormatter, &key(), &bytes, &"test");
        let served = served.ok().flatten();
        prop_assert_eq!(&served, &oracle::<Value>(&bytes), "{:?}", bytes);
        let short = read::<_, Value>(&PostcardFormatter, &key(), &bytes, shape.as_deref());
        if let Some(short) = short {
            prop_assert_eq!(short.ok(), served);
        }
    }
}

/// `struct Deep(Option<Box<Deep>>)`: postcard writes `n` levels as `n` ones and a zero, so that
/// entries of any depth can be made by hand, past what the encoder writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Deep(Option<Box<Deep>>);

/// Values nested around the depth limit, read alone by the short way and whole by the long way:
/// the same depths are read, the same refused, and neither overflows the stack.
#[test]
fn the_short_way_refuses_the_depths_the_long_way_refuses() {
    let key = EntryKey {
        type_name: std::any::type_name::<Deep>(),
        ..key()
    };
    let shape = shape::of::<Deep>().fingerprint.clone();
    let leaf = entry::encode(&PostcardFormatter, &key, &Entry::new(Deep(None), 5)).unwrap();
    let head = &leaf[..leaf.len() - 1];
    let (mut read_back, mut refused) = (0, 0);
    for n in (MAX_DEPTH / 2 - 3..MAX_DEPTH / 2 + 3).chain([MAX_DEPTH, 10_000]) {
        let bytes = [head, &vec![1; n], &[0]].concat();
        let long =
            entry::decode_checked::<_, Deep>(&PostcardFormatter, &key, &bytes, shape.as_deref());
        let long = long.map(|read| read.is_some());
        let short = read::<_, Deep>(&PostcardFormatter, &key, &bytes, shape.as_deref());
        let short = short.expect("this key's header").map(|_| true);
        assert_eq!(short.is_ok(), long.is_ok(), "{n}");
        if short.is_ok() {
            read_back += 1;
        } else {
            refused += 1;
        }
    }
    assert!(read_back > 0 && refused > 0, "{read_back} {refused}");
}

/// The header and times that `key` writes for a `V` (its value cut off: `V::default()`).
fn head<V: Serialize + for<'de> Deserialize<'de> + Default>(key: &EntryKey<'_>) -> Vec<u8> {
    let entry = entry::encode(&PostcardFormatter, key, &Entry::new(V::default(), 5)).unwrap();
    let value = PostcardFormatter.encode(&V::default()).unwrap();
    entry[..entry.len() - value.len()].to_vec()
}

/// Whether the short way and the long way agree on `value` after `V`'s header; whether read.
fn agree<V>(value: &[u8]) -> bool
where
    V: Serialize + for<'de> Deserialize<'de> + Default + PartialEq + std::fmt::Debug,
{
    let key = EntryKey {
        type_name: std::any::type_name::<V>(),
        ..key()
    };
    let shape = shape::of::<V>().fingerprint.clone();
    let bytes = [&head::<V>(&key)[..], value].concat();
    let long = entry::decode_checked::<_, V>(&PostcardFormatter, &key, &bytes, shape.as_deref());
    let short = read::<_, V>(&PostcardFormatter, &key, &bytes, shape.as_deref());
    let short = short.expect("this key's header").map(Some);
    let read = short.is_ok();
    assert_eq!(read, long.is_ok(), "{}", std::any::type_name::<V>());
    assert_eq!(short.ok(), long.ok());
    read
}

/// Reads `items(n)` after `V`'s header for `n` around the item budget; both ways must agree,
/// and read some and refuse some.
fn sweep<V>(items: impl Fn(u64) -> Vec<u8>)
where
    V: Serialize + for<'de> Deserialize<'de> + Default + PartialEq + std::fmt::Debug,
{
    let key = EntryKey {
        type_name: std::any::type_name::<V>(),
        ..key()
    };
    let around = crate::format::ZERO_SIZED_ITEMS + head::<V>(&key).len() as u64;
    let (mut read_back, mut refused) = (0, 0);
    for n in around - 16..around + 8 {
        if agree::<V>(&items(n)) {
            read_back += 1;
        } else {
            refused += 1;
        }
    }
    assert!(read_back > 0 && refused > 0, "{read_back} {refused}");
}

/// Nested sequences and tuples of zero-sized items around the item budget (each level counts
/// its elements, each tuple its fields): the short way, which reads the value alone, reads and
/// refuses exactly what the long way does.
#[test]
fn nested_zero_sized_items_at_the_budget_are_counted_alike() {
    let varint = |n: u64| PostcardFormatter.encode(&n).unwrap();
    sweep::<Vec<Vec<()>>>(|n| [varint(2), varint(n / 2), varint(n - n / 2 - 2)].concat());
    sweep::<Option<Vec<((), ())>>>(|n| [&[1][..], &varint(n / 3)].concat());
}

/// Every byte of a small entry's times and value set to every value, every cut, a byte more:
/// served exactly when postcard reads the bytes as this key's, as what it reads. Times of one
/// byte and of ten (a tenth byte of 1: `u64::MAX`), values of no byte and of a few.
#[test]
fn every_change_to_a_small_entrys_tail_is_read_as_postcard_reads_it() {
    check_every_change(());
    check_every_change(7u8);
    check_every_change(Some(u64::MAX));
    check_every_change((true, 'é', ()));
}

fn check_every_change<V>(value: V)
where
    V: Serialize + for<'de> Deserialize<'de> + Clone + PartialEq + std::fmt::Debug,
{
    let key = key_of::<V>();
    for (created_ms, ttl_ms, touched_ms) in [(u64::MAX, Some(1 << 63), 0), (5, None, 127)] {
        let entry = Entry {
            ttl_ms,
            touched_ms,
            ..Entry::new(value.clone(), created_ms)
        };
        let bytes = entry::encode(&PostcardFormatter, &key, &entry).unwrap();
        let tail = PostcardFormatter.encode(&(created_ms, ttl_ms, touched_ms, &value));
        let from = bytes.len() - tail.unwrap().len();
        let mut damaged = vec![[&bytes[..], &[0]].concat()];
        for at in from..bytes.len() {
            damaged.push(bytes[..at].to_vec());
            for byte in 0..=255 {
                let mut changed = bytes.clone();
                changed[at] = byte;
                damaged.push(changed);
            }
        }
        for bytes in &damaged {
            let served = decode_current::<_, V>(&PostcardFormatter, &key, bytes, &"test");
            assert_eq!(served.ok().flatten(), oracle::<V>(bytes), "{bytes:?}");
        }
    }
}
