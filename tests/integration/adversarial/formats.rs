//! Formatters and the entry envelope under attack: values a format cannot hold, layouts that
//! changed under the same type name, entries nested to overflow the reader's stack or claiming
//! more elements than exist, and decode errors that would quote a secret into the logs.
//! Last, the property: every formatter reads back exactly what it wrote, over a rich family of
//! values, or refused to write it.

use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use cacher::entry::{self, Entry, EntryKey};
use cacher::format::{BincodeFormatter, Formatter, JsonFormatter, PostcardFormatter};
use cacher::{Cache, Error, SeparateFileBackend};
use serde::de::{DeserializeOwned, Unexpected};
use serde::{Deserialize, Deserializer, Serialize};

/// The identity a backend would ask for, under a type name the test chooses: a type changed
/// between two builds of a program keeps its name.
fn key(type_name: &'static str) -> EntryKey<'static> {
    EntryKey {
        namespace: "app::fetch",
        version: None,
        key: "id=1",
        args: None,
        type_name,
        code: None,
    }
}

fn encode<F: Formatter, V: Serialize + DeserializeOwned>(
    formatter: &F,
    type_name: &'static str,
    value: V,
) -> Vec<u8> {
    let entry = Entry::new(value, 1_764_000_000_000);
    entry::encode(formatter, &key(type_name), &entry).expect("encodes")
}

fn decode<F: Formatter, V: DeserializeOwned>(
    formatter: &F,
    type_name: &'static str,
    bytes: &[u8],
) -> cacher::Result<V> {
    entry::decode::<F, V>(formatter, &key(type_name), bytes, &"test").map(|e| e.value)
}

fn file_cache<V, F>(dir: &Path, formatter: F) -> Cache<u32, V>
where
    V: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
    F: Formatter,
{
    Cache::builder()
        .namespace("tests::adversarial::formats")
        .backend(SeparateFileBackend::new(dir).formatter(formatter))
        .build()
        .unwrap()
}

/// Runs `f` on a thread with a tokio worker's stack (2 MiB).
fn on_a_2_mib_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .expect("the reader survives")
}

#[test]
fn json_never_turns_nan_or_infinity_into_null() {
    let dir = tempfile::tempdir().unwrap();
    let runs = AtomicUsize::new(0);
    let compute = |v: Option<f64>| {
        runs.fetch_add(1, Ordering::Relaxed);
        v
    };
    let cache = file_cache::<Option<f64>, _>(dir.path(), JsonFormatter);
    // The value is returned every time, never stored as `null` for the next process to read as
    // `None`: the cache treats it as a failed write.
    for _ in 0..2 {
        assert!(
            cache
                .get_or_compute(&1, || compute(Some(f64::NAN)))
                .unwrap()
                .is_nan()
        );
    }
    assert_eq!(runs.load(Ordering::Relaxed), 2);
    let next_process = file_cache::<Option<f64>, _>(dir.path(), JsonFormatter);
    assert_eq!(next_process.get(&1), None::<Option<f64>>);
    assert!(next_process.insert(&1, Some(f64::NAN)).is_err());

    let vectors = file_cache::<Vec<f64>, _>(dir.path(), JsonFormatter);
    let value = vec![1.5, f64::INFINITY, f64::NEG_INFINITY];
    assert_eq!(vectors.get_or_compute(&2, || value.clone()), value);
    assert!(
        cache.stats().errors >= 2,
        "a refused write counts as an error"
    );
    // What JSON can hold exactly is still cached, `-0.0` and `Some(None)`'s neighbours included.
    let finite = file_cache::<Vec<f64>, _>(dir.path(), JsonFormatter);
    finite
        .insert(&3, vec![-0.0, f64::MIN_POSITIVE, 0.1])
        .unwrap();
    let back = file_cache::<Vec<f64>, _>(dir.path(), JsonFormatter)
        .get(&3)
        .unwrap();
    assert_eq!(back[0].to_bits(), (-0.0f64).to_bits());
    assert_eq!(back[1..], [f64::MIN_POSITIVE, 0.1]);
}

#[test]
fn json_never_turns_some_none_into_none() {
    assert!(JsonFormatter.encode(&Some(None::<u8>)).is_err());
    assert!(JsonFormatter.encode(&Some(Some(None::<u8>))).is_err());
    assert!(JsonFormatter.encode(&Some(())).is_err());
    // Binary formats tag `Some`: they hold it exactly.
    let bytes = encode(&PostcardFormatter, "t", Some(None::<u8>));
    assert_eq!(
        decode::<_, Option<Option<u8>>>(&PostcardFormatter, "t", &bytes).unwrap(),
        Some(None)
    );
}

mod v1 {
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub enum Status {
        Pending,
        Active,
    }

    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub struct User {
        pub first: String,
        pub last: String,
    }
}

mod v2 {
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub enum Status {
        Invited,
        Pending,
        Active,
    }

    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub struct User {
        pub last: String,
        pub first: String,
    }
}

#[test]
fn a_changed_layout_under_the_same_type_name_is_a_miss_never_a_misread() {
    fn check<F: Formatter>(formatter: F) {
        let name = formatter.name();
        let bytes = encode(&formatter, "app::Status", v1::Status::Active);
        let read = decode::<_, v2::Status>(&formatter, "app::Status", &bytes);
        assert!(
            matches!(read, Err(Error::Corrupt { .. })),
            "{name}: a stored Active read as {read:?}"
        );
        let user = v1::User {
            first: "Ada".into(),
            last: "Lovelace".into(),
        };
        let bytes = encode(&formatter, "app::User", user);
        let read = decode::<_, v2::User>(&formatter, "app::User", &bytes);
        assert!(
            matches!(&read, Err(Error::Corrupt { reason, .. }) if reason.contains("shape")),
            "{name}: swapped fields read as {read:?}"
        );
        // The same layout still reads.
        let bytes = encode(&formatter, "app::Status", v1::Status::Active);
        let read = decode::<_, v1::Status>(&formatter, "app::Status", &bytes).unwrap();
        assert_eq!(read, v1::Status::Active);
    }
    check(PostcardFormatter);
    check(BincodeFormatter);
    check(JsonFormatter);
}

/// The same, one level down (helper-107): a type nested in another of its own serde name
/// (`github::User` in a `User`), and one serde name for two Rust types (`Result<u32, String>`
/// beside `Result<u32, u32>`). The tracer took the inner `User` for a recursion and the two
/// `Result`s for one: the swap and the retype kept the fingerprint, and postcard and bincode
/// read `followers: 1000, following: 3` back swapped, `Ok(10)` as `Ok(5)`.
mod nested {
    pub mod github_v1 {
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct User {
            pub followers: u32,
            pub following: u32,
        }
    }

    pub mod github_v2 {
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct User {
            pub following: u32,
            pub followers: u32,
        }
    }

    pub mod v1 {
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct User {
            pub name: String,
            pub github: super::github_v1::User,
            pub dns: Result<u32, String>,
            pub tcp: Result<u32, u32>,
        }
    }

    pub mod v2 {
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct User {
            pub name: String,
            pub github: super::github_v2::User,
            pub dns: Result<u32, String>,
            pub tcp: Result<u32, u32>,
        }
    }

    pub mod v3 {
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct User {
            pub name: String,
            pub github: super::github_v1::User,
            pub dns: Result<u32, String>,
            pub tcp: Result<i32, u32>,
        }
    }
}

#[test]
fn a_changed_layout_inside_a_type_of_the_same_name_is_a_miss_never_a_misread() {
    fn check<F: Formatter>(formatter: F) {
        let name = formatter.name();
        let user = nested::v1::User {
            name: "ada".into(),
            github: nested::github_v1::User {
                followers: 1000,
                following: 3,
            },
            dns: Ok(1),
            tcp: Ok(10),
        };
        let bytes = encode(&formatter, "app::User", user.clone());
        let read = decode::<_, nested::v2::User>(&formatter, "app::User", &bytes);
        assert!(
            matches!(&read, Err(Error::Corrupt { reason, .. }) if reason.contains("shape")),
            "{name}: the inner User's swapped fields read as {read:?}"
        );
        let read = decode::<_, nested::v3::User>(&formatter, "app::User", &bytes);
        assert!(
            matches!(&read, Err(Error::Corrupt { reason, .. }) if reason.contains("shape")),
            "{name}: a retyped Result beside another read as {read:?}"
        );
        let read = decode::<_, nested::v1::User>(&formatter, "app::User", &bytes).unwrap();
        assert_eq!(read, user, "{name}: the same layout still reads");
    }
    check(PostcardFormatter);
    check(BincodeFormatter);
}

/// A field left out when empty: fine in JSON, which names fields; a binary format would read the
/// next field in its place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Sparse {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    nickname: Option<u32>,
    id: u32,
}

#[test]
fn a_struct_that_skips_a_field_is_refused_by_formats_that_read_by_position() {
    let sparse = Sparse {
        nickname: None,
        id: 7,
    };
    assert!(PostcardFormatter.encode(&sparse).is_err());
    assert!(BincodeFormatter.encode(&sparse).is_err());
    let bytes = encode(&JsonFormatter, "app::Sparse", sparse.clone());
    assert_eq!(
        decode::<_, Sparse>(&JsonFormatter, "app::Sparse", &bytes).unwrap(),
        sparse
    );
    // Not skipped: every format holds it.
    let full = Sparse {
        nickname: Some(3),
        id: 7,
    };
    let bytes = encode(&PostcardFormatter, "app::Sparse", full.clone());
    assert_eq!(
        decode::<_, Sparse>(&PostcardFormatter, "app::Sparse", &bytes).unwrap(),
        full
    );
}

/// An email address that validates itself: serde-reflection's placeholder (an empty string) is
/// refused, so its shape cannot be traced.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct Email(String);

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let text = String::deserialize(de)?;
        if !text.contains('@') {
            let unexpected = Unexpected::Str(&text);
            return Err(serde::de::Error::invalid_value(
                unexpected,
                &"an email address",
            ));
        }
        Ok(Email(text))
    }
}

#[test]
fn a_type_whose_shape_cannot_be_traced_is_checked_by_its_type_name() {
    // serde_json::Value asks the format what comes next (deserialize_any): only JSON holds it,
    // and its entry records no shape.
    let value = serde_json::json!({"a": [1, 2.5, "x", null]});
    let bytes = encode(&JsonFormatter, "serde_json::Value", value.clone());
    let stored: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(stored["shape"], serde_json::Value::Null);
    let read = decode::<_, serde_json::Value>(&JsonFormatter, "serde_json::Value", &bytes);
    assert_eq!(read.unwrap(), value);
    // A validating type in a binary format: cached, checked by name only.
    let email = Email("ada@example.org".into());
    let bytes = encode(&PostcardFormatter, "app::Email", email.clone());
    assert_eq!(
        decode::<_, Email>(&PostcardFormatter, "app::Email", &bytes).unwrap(),
        email
    );
    // A reader whose type can be traced never takes an entry that recorded no shape.
    let read = decode::<_, String>(&PostcardFormatter, "app::Email", &bytes);
    assert!(matches!(read, Err(Error::Corrupt { .. })), "{read:?}");
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Comment {
    text: String,
    replies: Vec<Comment>,
}

/// A valid entry of a one-comment thread with its value replaced by a thread `depth` deep. In
/// postcard and bincode a comment is its text's length, its text and its replies' count (each
/// one byte here), and the value comes last in the entry.
fn deep_thread_entry<F: Formatter>(formatter: &F, depth: usize) -> Vec<u8> {
    let leaf = Comment {
        text: String::new(),
        replies: vec![],
    };
    let mut bytes = encode(formatter, "app::Comment", leaf);
    assert_eq!(bytes.split_off(bytes.len() - 2), [0, 0]);
    for _ in 1..depth {
        bytes.extend([0, 1]);
    }
    bytes.extend([0, 0]);
    bytes
}

#[test]
fn a_comment_thread_nested_10_000_deep_is_a_miss_not_a_stack_overflow() {
    fn check<F: Formatter>(formatter: F) {
        let dir = tempfile::tempdir().unwrap();
        let cache = file_cache::<Comment, _>(dir.path(), formatter.clone());
        cache
            .insert(
                &1,
                Comment {
                    text: "hi".into(),
                    replies: vec![],
                },
            )
            .unwrap();
        let path = cache.path_of(&1).unwrap();
        std::fs::write(&path, deep_thread_entry(&formatter, 10_000)).unwrap();
        let read = on_a_2_mib_stack(move || {
            let bytes = std::fs::read(&path).unwrap();
            decode::<_, Comment>(&formatter, "app::Comment", &bytes).map(|_| ())
        });
        assert!(
            matches!(&read, Err(Error::Corrupt { reason, .. }) if reason.contains("deep")),
            "{read:?}"
        );
    }
    check(PostcardFormatter);
    check(BincodeFormatter);
}

#[test]
fn a_value_nested_deeper_than_the_limit_is_refused_on_write_and_returned() {
    let mut thread = Comment {
        text: "leaf".into(),
        replies: vec![],
    };
    for _ in 0..cacher::format::MAX_DEPTH {
        thread = Comment {
            text: "re:".into(),
            replies: vec![thread],
        };
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = file_cache::<Comment, _>(dir.path(), PostcardFormatter);
    assert_eq!(cache.get_or_compute(&1, || thread.clone()), thread);
    assert_eq!(cache.get(&1), None);
}

/// A zero-sized element that counts how often it is decoded.
struct Counted;

static DECODED: AtomicU64 = AtomicU64::new(0);

impl<'de> Deserialize<'de> for Counted {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        DECODED.fetch_add(1, Ordering::Relaxed);
        <()>::deserialize(de).map(|()| Counted)
    }
}

impl Serialize for Counted {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_unit()
    }
}

/// A `Vec<Counted>` entry whose length prefix says `len`; the empty vector's prefix (one zero
/// byte) is the entry's last byte.
fn zero_sized_entry<F: Formatter>(formatter: &F, prefix: &[u8]) -> Vec<u8> {
    let mut bytes = encode(formatter, "app::Units", Vec::<Counted>::new());
    assert_eq!(bytes.pop(), Some(0));
    bytes.extend(prefix);
    bytes
}

#[test]
fn a_length_prefix_of_zero_sized_elements_beyond_the_entry_is_refused_before_reading_them() {
    let postcard = |len: u64| {
        let mut out = Vec::new();
        let mut n = len;
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
        out
    };
    let bincode = |len: u64| [&[253u8][..], &len.to_le_bytes()].concat();
    for len in [1 << 21, 1 << 40] {
        for (name, bytes) in [
            (
                "postcard",
                zero_sized_entry(&PostcardFormatter, &postcard(len)),
            ),
            (
                "bincode",
                zero_sized_entry(&BincodeFormatter, &bincode(len)),
            ),
        ] {
            DECODED.store(0, Ordering::Relaxed);
            let read = match name {
                "postcard" => decode::<_, Vec<Counted>>(&PostcardFormatter, "app::Units", &bytes),
                _ => decode::<_, Vec<Counted>>(&BincodeFormatter, "app::Units", &bytes),
            };
            let decoded = DECODED.load(Ordering::Relaxed);
            assert!(read.is_err(), "{name}: a prefix of {len} elements was read");
            // bincode tells the length ahead: refused before the first element. postcard hides
            // a length longer than what is left: counted against the cap, then refused.
            let cap = cacher::format::ZERO_SIZED_ITEMS + bytes.len() as u64;
            assert!(
                decoded <= cap,
                "{name}: {decoded} elements read before refusing"
            );
            if name == "bincode" {
                assert_eq!(decoded, 0);
            }
        }
    }
    // A vector the entry can hold still round-trips; one it could not is refused on write.
    let units = vec![(); 1000];
    let bytes = encode(&PostcardFormatter, "app::Units", units.clone());
    assert_eq!(
        decode::<_, Vec<()>>(&PostcardFormatter, "app::Units", &bytes).unwrap(),
        units
    );
    let too_many = vec![(); 1 << 21];
    assert!(PostcardFormatter.encode(&too_many).is_err());
    assert!(BincodeFormatter.encode(&too_many).is_err());
}

#[test]
fn decode_errors_never_quote_stored_data() {
    const SECRET: &str = "sk_live_7f3a9c-secret@";
    fn check<F: Formatter>(formatter: F) {
        let name = formatter.name();
        // A value its own type refuses to read (the address lost its '@').
        let bytes = encode(&formatter, "app::Email", Email(SECRET.replace('@', "")));
        let error = decode::<_, Email>(&formatter, "app::Email", &bytes).unwrap_err();
        assert_no_secret(name, &error);
        // An entry stored under another key, or of another type.
        let other_key = EntryKey {
            key: SECRET,
            ..key("app::Email")
        };
        let entry = Entry::new(Email(SECRET.into()), 0);
        let bytes = entry::encode(&formatter, &other_key, &entry).unwrap();
        assert_no_secret(
            name,
            &decode::<_, Email>(&formatter, "app::Email", &bytes).unwrap_err(),
        );
        let bytes = encode(&formatter, SECRET, Email(SECRET.into()));
        assert_no_secret(
            name,
            &decode::<_, Email>(&formatter, "app::Email", &bytes).unwrap_err(),
        );
    }
    fn assert_no_secret(name: &str, error: &Error) {
        let Error::Corrupt { reason, .. } = error else {
            panic!("{name}: {error:?} is not Corrupt");
        };
        assert!(
            !reason.contains("sk_live"),
            "{name}: the reason quotes the entry: {reason}"
        );
        assert!(!reason.is_empty());
    }
    check(JsonFormatter);
    check(PostcardFormatter);
    check(BincodeFormatter);
    // The kind of error is kept.
    let bytes = encode(&JsonFormatter, "app::Email", Email("no-at-sign".into()));
    let error = decode::<_, Email>(&JsonFormatter, "app::Email", &bytes).unwrap_err();
    assert!(error.to_string().contains("invalid value"), "{error}");
}

/// `decode(encode(v)) == v` for every formatter, with floats compared by their bits.
mod round_trip {
    use std::collections::BTreeMap;
    use std::fmt;

    use cacher::entry::{self, Entry};
    use cacher::format::{BincodeFormatter, Formatter, JsonFormatter, PostcardFormatter};
    use proptest::prelude::*;
    use proptest::{collection, num, option};
    use serde::de::{SeqAccess, Visitor};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Bytes written as bytes (`serialize_bytes`), not as a sequence of numbers.
    #[derive(Debug, Clone, PartialEq)]
    struct Bytes(Vec<u8>);

    impl Serialize for Bytes {
        fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
            ser.serialize_bytes(&self.0)
        }
    }

    impl<'de> Deserialize<'de> for Bytes {
        fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
            struct BytesVisitor;
            impl<'de> Visitor<'de> for BytesVisitor {
                type Value = Bytes;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("bytes")
                }
                fn visit_bytes<E>(self, v: &[u8]) -> Result<Bytes, E> {
                    Ok(Bytes(v.to_vec()))
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Bytes, A::Error> {
                    let mut out = Vec::new();
                    while let Some(b) = seq.next_element()? {
                        out.push(b);
                    }
                    Ok(Bytes(out))
                }
            }
            de.deserialize_byte_buf(BytesVisitor)
        }
    }

    #[derive(Debug, Clone, Serialize, Deserialize)]
    struct Meters(f32);

    #[derive(Debug, Clone, Serialize, Deserialize)]
    enum Node {
        Leaf,
        Number(f64),
        Pair(i128, String),
        Labelled {
            label: char,
            children: Vec<Node>,
            weight: Option<f32>,
        },
    }

    #[derive(Debug, Clone, Serialize, Deserialize)]
    struct Rich {
        id: u64,
        small: i8,
        big: u128,
        negative: i128,
        ratio: f64,
        meters: Meters,
        name: String,
        initial: char,
        bytes: Bytes,
        maybe: Option<Option<u16>>,
        scores: BTreeMap<String, f64>,
        by_id: BTreeMap<i64, Vec<String>>,
        by_big: BTreeMap<u128, bool>,
        unit: (),
        pair: (bool, Option<()>),
        tree: Node,
    }

    impl Node {
        fn floats(&self, out: &mut Vec<f64>) {
            match self {
                Node::Leaf | Node::Pair(..) => {}
                Node::Number(x) => out.push(*x),
                Node::Labelled {
                    children, weight, ..
                } => {
                    out.extend(weight.map(f64::from));
                    children.iter().for_each(|c| c.floats(out));
                }
            }
        }
    }

    impl Rich {
        /// Whether JSON can hold it exactly: finite floats, no `Some` of something written null.
        fn json_can_hold(&self) -> bool {
            let mut floats = vec![self.ratio, f64::from(self.meters.0)];
            floats.extend(self.scores.values());
            self.tree.floats(&mut floats);
            floats.iter().all(|x| x.is_finite())
                && self.maybe != Some(None)
                && self.pair.1.is_none()
        }
    }

    /// Equal bit for bit: postcard writes floats' bits, NaN payloads and `-0.0` included.
    fn same(a: &Rich, b: &Rich) -> bool {
        PostcardFormatter.encode(a).unwrap() == PostcardFormatter.encode(b).unwrap()
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            Just("\u{0}\u{FEFF}\u{202E}\u{10FFFF}é\r\n\"\\\u{1F600}".to_owned()),
            Just(String::new()),
        ]
    }

    fn node() -> impl Strategy<Value = Node> {
        let leaf = prop_oneof![
            Just(Node::Leaf),
            num::f64::ANY.prop_map(Node::Number),
            (any::<i128>(), text()).prop_map(|(n, s)| Node::Pair(n, s)),
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            (
                any::<char>(),
                collection::vec(inner, 0..4),
                option::of(num::f32::ANY),
            )
                .prop_map(|(label, children, weight)| Node::Labelled {
                    label,
                    children,
                    weight,
                })
        })
    }

    prop_compose! {
        fn rich()(
            (id, small, big, negative, ratio, meters, name, initial) in (
                any::<u64>(), any::<i8>(), any::<u128>(), any::<i128>(),
                prop_oneof![num::f64::ANY, Just(-0.0), Just(f64::NAN), Just(f64::INFINITY)],
                num::f32::ANY, text(), any::<char>(),
            ),
            (bytes, maybe, scores, by_id, by_big, pair, tree) in (
                collection::vec(any::<u8>(), 0..32),
                option::of(option::of(any::<u16>())),
                collection::btree_map(text(), num::f64::ANY, 0..4),
                collection::btree_map(any::<i64>(), collection::vec(text(), 0..3), 0..4),
                collection::btree_map(any::<u128>(), any::<bool>(), 0..4),
                (any::<bool>(), option::of(Just(()))),
                node(),
            ),
        ) -> Rich {
            Rich {
                id, small, big, negative, ratio, meters: Meters(meters), name, initial,
                bytes: Bytes(bytes), maybe, scores, by_id, by_big, unit: (), pair, tree,
            }
        }
    }

    /// Through the whole entry, as a backend stores it: exact, or refused when written.
    fn check<F: Formatter>(
        formatter: &F,
        value: &Rich,
        can_hold: bool,
    ) -> Result<(), TestCaseError> {
        let key = super::key("app::Rich");
        let entry = Entry::new(value.clone(), 7);
        match entry::encode(formatter, &key, &entry) {
            Ok(bytes) => {
                let back: Entry<Rich> = entry::decode(formatter, &key, &bytes, &"test")
                    .map_err(|e| TestCaseError::fail(format!("{}: {e}", formatter.name())))?;
                prop_assert!(
                    same(&back.value, value),
                    "{}: {:?}",
                    formatter.name(),
                    back.value
                );
                prop_assert!(can_hold, "{}: stored what it cannot hold", formatter.name());
            }
            Err(e) => prop_assert!(!can_hold, "{}: refused {value:?}: {e}", formatter.name()),
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn every_formatter_reads_back_exactly_what_it_wrote_or_refused_to_write_it(value in rich()) {
            check(&JsonFormatter, &value, value.json_can_hold())?;
            check(&PostcardFormatter, &value, true)?;
            check(&BincodeFormatter, &value, true)?;
        }
    }
}

/// A price whose `Serialize` panics on a negative amount, and whose `Deserialize` panics on the
/// amount 13: user code that misbehaves on some values.
#[derive(Debug, Clone, PartialEq)]
struct Touchy(i64);

impl Serialize for Touchy {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        assert!(self.0 >= 0, "negative amounts cannot be written");
        serializer.serialize_i64(self.0)
    }
}

impl<'de> Deserialize<'de> for Touchy {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let amount = i64::deserialize(deserializer)?;
        assert!(amount != 13, "13 is unlucky");
        Ok(Touchy(amount))
    }
}

#[test]
fn a_serialize_that_panics_costs_a_write_never_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let cache: Cache<u32, Touchy> = file_cache(dir.path(), JsonFormatter);
    assert_eq!(cache.get_or_compute(&1, || Touchy(-5)), Touchy(-5));
    assert_eq!(cache.stats().stores, 0);
    assert!(cache.stats().errors >= 1);
    // Nothing was stored, so the next call computes again, and the cache still works.
    assert_eq!(cache.get_or_compute(&1, || Touchy(7)), Touchy(7));
    assert_eq!(cache.get(&1), Some(Touchy(7)));
}

#[test]
fn a_deserialize_that_panics_on_stored_bytes_is_a_miss() {
    let dir = tempfile::tempdir().unwrap();
    let writer: Cache<u32, Touchy> = file_cache(dir.path(), PostcardFormatter);
    writer.insert(&1, Touchy(13)).unwrap();
    // A new process (a new cache over the same files) reads it: a miss, recomputed.
    let reader: Cache<u32, Touchy> = file_cache(dir.path(), PostcardFormatter);
    assert_eq!(reader.get_or_compute(&1, || Touchy(14)), Touchy(14));
    assert_eq!(reader.stats().misses, 1);
}

/// An entry fingerprinted by the tracer before session 31's (no `2:` before its fingerprint),
/// which described the same layouts in other words: a plain miss, overwritten by the next store,
/// not "its layout changed" — warned about and counted in `stats().errors` for every entry of
/// every traced type after an upgrade (helper-108's review). Another fingerprint of this tracer
/// is still a layout change.
#[test]
fn an_entry_of_the_earlier_tracer_is_a_plain_miss_and_another_layout_still_corrupt() {
    let key = cacher::entry::EntryKey {
        namespace: "app::user",
        version: None,
        key: "7",
        args: Some("(v2)7"),
        type_name: "app::User",
        code: None,
    };
    let user = v1::User {
        first: "Ada".into(),
        last: "Lovelace".into(),
    };
    let bytes = cacher::entry::encode(&JsonFormatter, &key, &Entry::new(user, 0)).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("\"shape\":\"2:"), "{text}");
    let read = |text: String| {
        cacher::entry::decode_current::<_, v1::User>(&JsonFormatter, &key, text.as_bytes(), &"t")
    };
    let earlier = text.replace("\"shape\":\"2:", "\"shape\":\"");
    assert!(
        matches!(read(earlier), Ok(None)),
        "the earlier tracer's entry"
    );
    let other = text.replace("\"shape\":\"2:", "\"shape\":\"2:0");
    assert!(
        matches!(read(other), Err(Error::Corrupt { .. })),
        "another layout's"
    );
}
