//! The encoding is injective over the serde data model, proved by property: every value's text
//! decodes back to it (so two values with one text would be one value), distinct values — random
//! ones, and *twins* of another kind that read almost alike — get distinct texts and keys, and so
//! do values of derived enums in all four representations and of `serde_json::Value`.

use proptest::prelude::*;
use serde::Serialize;

use super::canonical;
use crate::key::decode::decode_args;
use crate::key::model::strategy::{value, with_twin};
use crate::key::model::{Value, capture};
use crate::key::{HashKeyer, Keyer, MAX_KEY_LEN, ReadableKeyer};

/// The text of `v` as the only argument, checked to decode back to `v`'s data-model value.
fn text_of<T: Serialize + std::fmt::Debug>(v: &T) -> Result<String, TestCaseError> {
    let text = canonical(&(v,), &[]).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let model = capture(v).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(
        decode_args(&text, &[]),
        Some(vec![model]),
        "{:?} -> {}",
        v,
        text
    );
    prop_assert!(text.is_ascii(), "{}", text);
    Ok(text)
}

/// Distinct in the data model implies distinct texts, and distinct keys.
fn assert_apart(a: &Value, b: &Value) -> Result<(), TestCaseError> {
    if a == b {
        return Ok(());
    }
    let (ta, tb) = (text_of(a)?, text_of(b)?);
    prop_assert_ne!(&ta, &tb, "{} and {} share a text", a, b);
    let (ka, kb) = (
        ReadableKeyer.key("ns", None, &ta),
        ReadableKeyer.key("ns", None, &tb),
    );
    prop_assert_ne!(&ka, &kb, "{} and {} share a readable key", a, b);
    prop_assert!(ka.len() <= MAX_KEY_LEN);
    prop_assert_ne!(
        HashKeyer.key("ns", None, &ta),
        HashKeyer.key("ns", None, &tb)
    );
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
enum External {
    Unit,
    New(Value),
    Tup(Value, Value),
    Rec { a: Value, b: Value },
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "t")]
enum Internal {
    Unit,
    New(Value),
    Rec { a: Value },
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "t", content = "c")]
enum Adjacent {
    Unit,
    New(Value),
    Tup(Value, Value),
    Rec { a: Value },
}

#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
enum Untagged {
    Unit,
    New(Value),
    Tup(Value, Value),
    Rec { a: Value },
}

/// The four representations meeting in one argument type (itself untagged).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
enum Repr {
    External(External),
    Internal(Internal),
    Adjacent(Adjacent),
    Untagged(Untagged),
    Plain(Value),
}

fn repr() -> impl Strategy<Value = Repr> {
    let two = (value(), value());
    prop_oneof![
        Just(Repr::External(External::Unit)),
        value().prop_map(|v| Repr::External(External::New(v))),
        two.clone()
            .prop_map(|(a, b)| Repr::External(External::Tup(a, b))),
        two.clone()
            .prop_map(|(a, b)| Repr::External(External::Rec { a, b })),
        Just(Repr::Internal(Internal::Unit)),
        value().prop_map(|v| Repr::Internal(Internal::New(v))),
        value().prop_map(|a| Repr::Internal(Internal::Rec { a })),
        Just(Repr::Adjacent(Adjacent::Unit)),
        value().prop_map(|v| Repr::Adjacent(Adjacent::New(v))),
        two.clone()
            .prop_map(|(a, b)| Repr::Adjacent(Adjacent::Tup(a, b))),
        value().prop_map(|a| Repr::Adjacent(Adjacent::Rec { a })),
        Just(Repr::Untagged(Untagged::Unit)),
        value().prop_map(|v| Repr::Untagged(Untagged::New(v))),
        two.prop_map(|(a, b)| Repr::Untagged(Untagged::Tup(a, b))),
        value().prop_map(|a| Repr::Untagged(Untagged::Rec { a })),
        value().prop_map(Repr::Plain),
    ]
}

fn json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{Value as J, json};
    let leaf = prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        (0u64..3).prop_map(|n| json!(n)),
        any::<i64>().prop_map(|n| json!(n)),
        prop_oneof![Just(0.0), Just(-0.0), Just(1.0), Just(10.0), any::<f64>()]
            .prop_filter_map("JSON has no NaN nor infinity", |f| {
                serde_json::Number::from_f64(f).map(J::Number)
            }),
        prop_oneof![Just("1".to_owned()), Just("1.0".to_owned()), ".{0,4}"].prop_map(J::String),
    ];
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(J::Array),
            proptest::collection::btree_map("[a-z\"1]{0,2}", inner, 0..3)
                .prop_map(|m| J::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_value_decodes_back(v in value(), w in value()) {
        text_of(&v)?;
        let names = ["first", "second"];
        let text = canonical(&(&v, &w), &names).unwrap();
        prop_assert_eq!(decode_args(&text, &names), Some(vec![v, w]), "{}", text);
    }

    #[test]
    fn distinct_values_get_distinct_texts_and_keys(a in value(), b in value()) {
        assert_apart(&a, &b)?;
    }

    #[test]
    fn a_value_of_another_kind_that_reads_alike_gets_another_text(
        v in value(),
        path in proptest::collection::vec(any::<usize>(), 0..4),
        pick in any::<usize>(),
    ) {
        let twin = with_twin(&v, &path, pick);
        assert_apart(&v, &twin)?;
        // In a context: as a field of a struct and an element of a map.
        let field = |x: &Value| Value::Struct(vec![("a", x.clone())]);
        assert_apart(&field(&v), &field(&twin))?;
        let entry = |x: &Value| Value::Map(vec![(x.clone(), Value::Unit)]);
        assert_apart(&entry(&v), &entry(&twin))?;
    }

    #[test]
    fn derived_enums_in_every_representation_stay_apart(a in repr(), b in repr()) {
        // An internally tagged newtype variant of a scalar is refused by serde itself.
        let (Ok(ma), Ok(mb)) = (capture(&a), capture(&b)) else {
            prop_assert!(canonical(&(&a,), &[]).is_err() || canonical(&(&b,), &[]).is_err());
            return Ok(());
        };
        let (ta, tb) = (text_of(&a)?, text_of(&b)?);
        if ma != mb {
            prop_assert_ne!(ta, tb, "{:?} and {:?}", a, b);
        }
    }

    #[test]
    fn json_values_stay_apart(a in json(), b in json()) {
        let (ta, tb) = (text_of(&a)?, text_of(&b)?);
        if a != b {
            prop_assert_ne!(ta, tb, "{} and {}", a, b);
        }
    }

    #[test]
    fn readable_keys_of_any_value_are_safe_names(v in value()) {
        let key = ReadableKeyer.key("ns", None, &canonical(&(v,), &["arg"]).unwrap());
        prop_assert!(key.is_ascii() && key.len() <= MAX_KEY_LEN, "{}", key);
        prop_assert!(!key.contains(['/', '\\', ':', '*', '?', '"', '<', '>', '|', ' ']), "{}", key);
    }
}
