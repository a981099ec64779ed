//! Keys: distinct arguments never share an entry, however alike their values are written — an
//! integer and a float, a unit variant and a string, a char and a string, `x` and `Some(x)`, a
//! newtype and its field, a sequence and a tuple, two integer types — through real file caches,
//! with the values read back by a fresh cache as another process would. And entries written by
//! the first key encoding are misses, never values of other arguments.
//!
//! The encoding's own proofs (every value of the data model decodes back from its text; random
//! pairs and look-alike twins of another kind get distinct texts) are the property tests of
//! `cacher/src/key/canonical/props.rs`.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::hash::{Hash, Hasher};
use std::path::Path;

use cacher::{Cache, Keyer, ReadableKeyer, SeparateFileBackend, cached};
use cacher_tests::Calls;
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

/// A file cache (no memory tier) of a one-argument function named `arg`, whose value is the
/// `Debug` text of its argument.
fn file_cache<K>(dir: &Path) -> Cache<K, String>
where
    K: Hash + Eq + Clone + Serialize + Send + Sync + 'static,
{
    Cache::builder()
        .namespace("adversarial::keys::describe")
        .arg_names(&["arg"])
        .backend(SeparateFileBackend::new(dir))
        .build()
        .unwrap()
}

/// Every pair of `values` is apart: each computes its own value in a cache that holds the
/// others, gets its own key, and a fresh cache on the same directory reads each one's value.
fn assert_apart<K>(values: &[K])
where
    K: Hash + Eq + Clone + Serialize + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let dir = tempfile::tempdir().unwrap();
    let cache = file_cache::<K>(dir.path());
    let calls = Calls::default();
    for value in values {
        let got = cache.get_or_compute(value, || {
            calls.hit();
            format!("{value:?}")
        });
        assert_eq!(
            got,
            format!("{value:?}"),
            "{value:?} got another argument's value"
        );
    }
    assert_eq!(calls.count(), values.len(), "one computation per argument");
    let keys: std::collections::HashSet<String> =
        values.iter().map(|v| cache.key_of(v).unwrap()).collect();
    assert_eq!(keys.len(), values.len(), "shared keys among {values:?}");
    let fresh = file_cache::<K>(dir.path());
    for value in values {
        assert_eq!(fresh.get(value), Some(format!("{value:?}")));
    }
}

/// Equality and hashing by the `Debug` text, for test keys that hold floats.
macro_rules! eq_by_debug {
    ($($t:ty),*) => {$(
        impl PartialEq for $t {
            fn eq(&self, other: &Self) -> bool {
                format!("{self:?}") == format!("{other:?}")
            }
        }
        impl Eq for $t {}
        impl Hash for $t {
            fn hash<H: Hasher>(&self, state: &mut H) {
                format!("{self:?}").hash(state);
            }
        }
    )*};
}

#[cached(backend = "file", cache_dir = concat!(env!("CARGO_TARGET_TMPDIR"), "/adversarial_keys/json"))]
fn describe_json(v: serde_json::Value) -> String {
    v.to_string()
}

#[test]
fn a_float_and_an_integer_never_share_a_key() {
    describe_json_cache().clear().unwrap();
    assert_eq!(describe_json(json!(1)), "1");
    assert_eq!(describe_json(json!(1.0)), "1.0");
    assert_eq!(describe_json(json!([10, {"p": 2}])), r#"[10,{"p":2}]"#);
    assert_eq!(
        describe_json(json!([10.0, {"p": 2.0}])),
        r#"[10.0,{"p":2.0}]"#
    );
    assert_eq!(describe_json_cache().stats().misses, 4);
    assert_apart(&[
        json!(1),
        json!(1.0),
        json!("1"),
        json!(-1),
        json!(-1.0),
        json!(null),
    ]);
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
enum Order {
    Asc,
    Desc,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(untagged)]
enum Sort {
    Known(Order),
    Custom(String),
}

#[test]
fn an_untagged_unit_variant_and_a_string_never_share_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let cache: Cache<(Sort,), String> = Cache::builder()
        .arg_names(&["sort"])
        .backend(SeparateFileBackend::new(dir.path()))
        .build()
        .unwrap();
    let known = (Sort::Known(Order::Asc),);
    let custom = (Sort::Custom("Asc".into()),);
    assert_eq!(cache.get_or_compute(&known, || "known".into()), "known");
    assert_eq!(cache.get_or_compute(&custom, || "custom".into()), "custom");
    assert_eq!(cache.key_of(&known).unwrap(), "(v2)sort=@Asc");
    assert_eq!(cache.key_of(&custom).unwrap(), "(v2)sort=Asc");
    assert_apart(&[Sort::Known(Order::Desc), Sort::Custom("Desc".into())]);
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(untagged)]
enum Number {
    Single(f32),
    Double(f64),
    Whole(u32),
}
eq_by_debug!(Number);

#[test]
fn an_f32_and_an_f64_never_share_a_key() {
    assert_apart(&[
        Number::Single(0.1),
        Number::Double(0.1),
        Number::Single(1.0),
        Number::Double(1.0),
        Number::Whole(1),
    ]);
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(untagged)]
enum Letter {
    Char(char),
    Text(String),
}

#[test]
fn a_char_and_a_string_never_share_a_key() {
    assert_apart(&[
        Letter::Char('a'),
        Letter::Text("a".into()),
        Letter::Char('1'),
        Letter::Text("1'".into()),
        Letter::Text("'1'".into()),
    ]);
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(untagged)]
enum Id {
    Small(u8),
    Big(u64),
    Signed(i64),
    Default(u32),
}

#[test]
fn integers_of_different_types_never_share_a_key() {
    assert_apart(&[Id::Small(1), Id::Big(1), Id::Signed(1), Id::Default(1)]);
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(untagged)]
enum Maybe {
    Optional(Option<u32>),
    Plain(u32),
    Nothing(()),
    Text(String),
    Nested(Option<Option<u32>>),
}

#[test]
fn an_option_never_shares_a_key_with_its_content_nor_with_unit() {
    assert_apart(&[
        Maybe::Optional(Some(1)),
        Maybe::Plain(1),
        Maybe::Optional(None),
        Maybe::Nothing(()),
        Maybe::Text("None".into()),
        Maybe::Text("null".into()),
        Maybe::Nested(Some(None)),
    ]);
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
struct UserId(u32);

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(untagged)]
enum Who {
    User(UserId),
    Raw(u32),
}

#[test]
fn a_newtype_never_shares_a_key_with_its_field() {
    assert_apart(&[Who::User(UserId(7)), Who::Raw(7)]);
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
struct Point(u8, u8);

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(untagged)]
enum Shape {
    List(Vec<u8>),
    Pair((u8, u8)),
    Point(Point),
}

#[test]
fn a_sequence_a_tuple_and_a_tuple_struct_never_share_a_key() {
    assert_apart(&[
        Shape::List(vec![1, 2]),
        Shape::Pair((1, 2)),
        Shape::Point(Point(1, 2)),
    ]);
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(untagged)]
enum Amount {
    Whole(u32),
    Fraction(f64),
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(tag = "unit")]
enum Length {
    Px { v: Amount },
    Em { v: Amount },
}
eq_by_debug!(Length);

#[test]
fn an_internally_tagged_enum_keeps_its_contents_apart() {
    assert_apart(&[
        Length::Px {
            v: Amount::Whole(2),
        },
        Length::Px {
            v: Amount::Fraction(2.0),
        },
        Length::Em {
            v: Amount::Whole(2),
        },
    ]);
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
struct Counts {
    #[serde(rename = "Asc")]
    asc: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(untagged)]
enum Tally {
    ByOrder(BTreeMap<Order, u32>),
    Fields(Counts),
}

#[test]
fn a_map_and_a_struct_never_share_a_key() {
    assert_apart(&[
        Tally::ByOrder([(Order::Asc, 1)].into()),
        Tally::Fields(Counts { asc: 1 }),
    ]);
}

/// Gives the readable key the first encoding gave: the text without its version.
#[derive(Debug)]
struct FirstEncoding;

impl Keyer for FirstEncoding {
    fn key(&self, namespace: &str, version: Option<&str>, canonical: &str) -> String {
        // For these arguments, version 1's texts were version 2's without `(v2)` and `@`.
        let v1 = canonical.trim_start_matches("(v2)").replace('@', "");
        ReadableKeyer.key(namespace, version, &v1)
    }
}

fn list_cache(dir: &Path, keyer: impl Keyer) -> Cache<(Sort,), String> {
    Cache::builder()
        .namespace("app::list")
        .arg_names(&["sort"])
        .keyer(keyer)
        .backend(SeparateFileBackend::new(dir))
        .build()
        .unwrap()
}

#[test]
fn entries_of_the_first_key_encoding_are_misses() {
    let dir = tempfile::tempdir().unwrap();
    let known = (Sort::Known(Order::Asc),);
    let custom = (Sort::Custom("Asc".into()),);
    let old = list_cache(dir.path(), FirstEncoding);
    // Version 1 stored `Custom("Asc")`'s value under `sort=Asc`, the key `Known(Asc)` also had.
    old.insert(&custom, "custom".into()).unwrap();
    assert_eq!(old.key_of(&known).unwrap(), "sort=Asc");

    let new = list_cache(dir.path(), ReadableKeyer);
    assert_eq!(new.get(&known), None);
    assert_eq!(new.get(&custom), None);
    let calls = Calls::default();
    let value = new.get_or_compute(&known, || {
        calls.hit();
        "known".into()
    });
    assert_eq!((value.as_str(), calls.count()), ("known", 1));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn json_values_never_share_an_entry(
        values in proptest::collection::hash_set(json_value(), 1..5),
    ) {
        // Each value, and its look-alikes: integers as floats, numbers as strings.
        let mut all: Vec<serde_json::Value> = Vec::new();
        for v in values {
            for candidate in [floated(&v), quoted(&v), v] {
                if !all.contains(&candidate) {
                    all.push(candidate);
                }
            }
        }
        assert_apart(&all);
    }
}

/// `v` with every integer written as a float.
fn floated(v: &serde_json::Value) -> serde_json::Value {
    map_numbers(v, &|n| n.as_f64().map_or_else(|| json!(n), |f| json!(f)))
}

/// `v` with every number written as a string.
fn quoted(v: &serde_json::Value) -> serde_json::Value {
    map_numbers(v, &|n| json!(n.to_string()))
}

fn map_numbers(
    v: &serde_json::Value,
    f: &dyn Fn(&serde_json::Number) -> serde_json::Value,
) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        J::Number(n) => f(n),
        J::Array(items) => J::Array(items.iter().map(|v| map_numbers(v, f)).collect()),
        J::Object(map) => J::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), map_numbers(v, f)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Small JSON values, where integers, floats and strings of the same digits meet.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(json!(null)),
        (0u64..3).prop_map(|n| json!(n)),
        (-2i64..0).prop_map(|n| json!(n)),
        (0u32..3).prop_map(|n| json!(f64::from(n))),
        prop_oneof![Just("1"), Just("1.0"), Just("null"), Just("a")].prop_map(|s| json!(s)),
        any::<bool>().prop_map(|b| json!(b)),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(serde_json::Value::Array),
            proptest::collection::btree_map("[p1]", inner, 0..2)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}
