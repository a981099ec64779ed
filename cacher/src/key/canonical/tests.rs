//! The canonical text, pinned: each rule of the module documentation of [`crate::key`], and
//! its promises (injectivity, ASCII output, a `HashMap`'s order never leaking).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::canonical;

fn c<K: Serialize + ?Sized>(args: &K) -> String {
    canonical(args, &[]).unwrap()
}

#[test]
fn pinned_example_with_names() {
    let text = canonical(&("/posts", 1u32, "asc"), &["endpoint", "user_id", "sort"]).unwrap();
    assert_eq!(text, "endpoint=%2Fposts_user_id=1_sort=asc");
}

#[test]
fn names_are_ignored_when_their_count_differs() {
    assert_eq!(canonical(&(1u8, 2u8), &["a"]).unwrap(), "1_2");
    assert_eq!(canonical(&(1u8, 2u8), &[]).unwrap(), "1_2");
}

#[test]
fn odd_names_are_escaped() {
    assert_eq!(canonical(&(1u8,), &["r#type"]).unwrap(), "r%23type=1");
}

#[test]
fn zero_arguments() {
    assert_eq!(c(&()), "()");
    assert_eq!(canonical(&(), &["ignored"]).unwrap(), "()");
}

#[test]
fn single_value_is_one_argument() {
    assert_eq!(c(&"asc"), "asc");
    assert_eq!(canonical(&7u8, &["n"]).unwrap(), "n=7");
    assert_eq!(c(&vec![1u8, 2]), "[1,2]");
}

#[test]
fn scalars() {
    assert_eq!(c(&(true, false)), "true_false");
    assert_eq!(
        c(&(-5i8, u128::MAX)),
        "-5_340282366920938463463374607431768211455"
    );
    assert_eq!(c(&i128::MIN), "-170141183460469231731687303715884105728");
    assert_eq!(
        c(&(0.1f64, 1e300f64, 1.5f32)),
        format!("0.1_{}_1.5", 1e300f64)
    );
    assert_eq!(
        c(&(f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0f64)),
        "NaN_inf_-inf_-0"
    );
}

#[test]
fn bare_strings_that_look_like_other_values_are_marked() {
    assert_eq!(c(&""), "'");
    assert_eq!(c(&"42"), "'42");
    assert_eq!(c(&"true"), "'true");
    assert_eq!(c(&"null"), "'null");
    assert_eq!(c(&"'x"), "''x");
    assert_eq!(c(&"[1]"), "'[1]");
    assert_eq!(c(&"nullable"), "nullable");
    // `Option<String>`: `None` and `Some("null")` stay apart.
    assert_eq!(c(&None::<String>), "null");
    assert_eq!(c(&Some("null")), "%22null%22");
}

#[test]
fn chars_are_strings() {
    assert_eq!(c(&('a', vec!['"'])), "a_[%22%5C%22%22]");
}

#[test]
fn nested_strings_are_quoted_and_escaped() {
    assert_eq!(c(&(vec!["a b", "c"],)), "[%22a%20b%22,%22c%22]");
    // `["a\",\"b"]` (one element) differs from `["a","b"]` (two).
    assert_ne!(c(&vec!["a\",\"b"]), c(&vec!["a", "b"]));
    assert_eq!(c(&vec!["a\\"]), "[%22a%5C%5C%22]");
}

#[test]
fn options() {
    assert_eq!(c(&Some(3u8)), "3");
    assert_eq!(c(&None::<u8>), "null");
    assert_eq!(c(&Some(None::<u8>)), "%3Fnull");
    assert_eq!(c(&Some(Some(3u8))), "%3F3");
    assert_eq!(c(&Some(Some(None::<u8>))), "%3F%3Fnull");
}

#[test]
fn option_of_newtype_around_option_stays_injective() {
    #[derive(Serialize)]
    struct Wrap(Option<u8>);
    assert_ne!(c(&Some(Wrap(None))), c(&None::<Wrap>));
    assert_eq!(c(&Some(Wrap(None))), "%3Fnull");
}

#[test]
fn units_bytes_and_newtypes() {
    #[derive(Serialize)]
    struct Unit;
    #[derive(Serialize)]
    struct Name(String);
    #[derive(Serialize)]
    struct Bytes<'a>(#[serde(with = "serde_bytes_like")] &'a [u8]);
    mod serde_bytes_like {
        pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(v)
        }
    }
    assert_eq!(c(&((), Unit)), "()_()");
    assert_eq!(c(&Name("bob".into())), "bob");
    assert_eq!(c(&vec![Name("bob".into())]), "[%22bob%22]");
    assert_eq!(c(&Bytes(&[0, 0xab, 0xff])), "0x00abff");
}

#[test]
fn structs_and_enums() {
    #[derive(Serialize)]
    struct User {
        id: u32,
        name: String,
    }
    #[derive(Serialize)]
    enum E {
        Unit,
        New(u8),
        Tup(u8, u8),
        Named { x: i8 },
    }
    let user = User {
        id: 7,
        name: "ann".into(),
    };
    assert_eq!(c(&user), "{id%3A7,name%3A%22ann%22}");
    assert_eq!(
        c(&vec![E::Unit, E::New(1), E::Tup(1, 2), E::Named { x: -1 }]),
        "[Unit,New(1),Tup[1,2],Named{x%3A-1}]"
    );
    assert_eq!(c(&((1u8, "a"), [2u8; 2])), "[1,%22a%22]_[2,2]");
}

#[test]
fn maps_are_sorted() {
    let btree: BTreeMap<&str, u8> = [("b", 1), ("a", 2)].into();
    assert_eq!(c(&btree), "{%22a%22%3A2,%22b%22%3A1}");
    let hash: HashMap<&str, u8> = [("b", 1), ("a", 2)].into();
    assert_eq!(c(&hash), c(&btree));
}

#[test]
fn hashmap_order_never_leaks() {
    let pairs: Vec<(String, u32)> = (0..200).map(|i| (format!("k{i}"), i)).collect();
    let forward: HashMap<_, _> = pairs.iter().cloned().collect();
    let mut backward = HashMap::new();
    for (k, v) in pairs.iter().rev() {
        backward.insert(k.clone(), *v);
    }
    // Many distinct hash seeds: a fresh map each time.
    let expected = c(&forward);
    assert_eq!(c(&backward), expected);
    for _ in 0..20 {
        let again: HashMap<_, _> = pairs.iter().cloned().collect();
        assert_eq!(c(&again), expected);
    }
}

#[test]
fn output_is_ascii_with_escaped_separators() {
    let text = c(&("é_=%~:/\\ \"?*<>|\n\0",));
    assert!(text.is_ascii());
    assert_eq!(
        text,
        "%C3%A9%5F%3D%25%7E%3A%2F%5C%20%22%3F%2A%3C%3E%7C%0A%00"
    );
}

#[test]
fn module_doc_examples_hold() {
    #[derive(Serialize)]
    struct User {
        id: u32,
        name: String,
    }
    let args = ("/posts", 1u32, "asc");
    let names = ["endpoint", "user_id", "sort"];
    assert_eq!(
        canonical(&args, &names).unwrap(),
        "endpoint=%2Fposts_user_id=1_sort=asc"
    );
    assert_eq!(c(&args), "%2Fposts_1_asc");
    assert_eq!(
        canonical(&(vec!["a b", "c"],), &["xs"]).unwrap(),
        "xs=[%22a%20b%22,%22c%22]"
    );
    let user = User {
        id: 7,
        name: "ann".into(),
    };
    assert_eq!(c(&user), "{id%3A7,name%3A%22ann%22}");
}

#[test]
fn untagged_values_mixing_strings_and_others_stay_apart() {
    #[derive(Serialize)]
    #[serde(untagged)]
    enum Loose {
        S(String),
        N(i64),
        F(f64),
        B(bool),
        O(Option<String>),
        L(Vec<u8>),
        U(()),
    }
    let values = [
        Loose::S("1".into()),
        Loose::N(1),
        Loose::S("-1".into()),
        Loose::N(-1),
        Loose::S("NaN".into()),
        Loose::F(f64::NAN),
        Loose::S("true".into()),
        Loose::B(true),
        Loose::S("null".into()),
        Loose::O(None),
        Loose::O(Some("null".into())),
        Loose::S("\"null\"".into()),
        Loose::S("[1]".into()),
        Loose::L(vec![1]),
        Loose::S("()".into()),
        Loose::U(()),
        Loose::S(String::new()),
        Loose::S("'".into()),
    ];
    let texts: Vec<String> = values.iter().map(|v| c(&(v,))).collect();
    let unique: std::collections::BTreeSet<&String> = texts.iter().collect();
    assert_eq!(unique.len(), texts.len(), "{texts:?}");
}

#[test]
fn serialize_errors_become_key_errors() {
    struct Fails;
    impl Serialize for Fails {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("no way"))
        }
    }
    let err = canonical(&(1u8, Fails), &[]).unwrap_err();
    assert_eq!(err.to_string(), "cannot encode the cache key: no way");
}
