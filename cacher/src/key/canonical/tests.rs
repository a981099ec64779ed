//! The canonical text, pinned: each rule of the module documentation of [`crate::key`], the
//! collisions of the previous encoding (issue 9), and its promises (ASCII output, a `HashMap`'s
//! order never leaking). The properties are in `props.rs`.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::json;

use super::canonical;

fn c<K: Serialize + ?Sized>(args: &K) -> String {
    canonical(args, &[]).unwrap()
}

/// The raw text of one argument: the canonical text without its prefix, percent-decoded.
fn raw<K: Serialize + ?Sized>(arg: &K) -> String {
    let text = canonical(&(arg,), &[]).unwrap();
    let escaped = text.strip_prefix("(v2)").unwrap();
    let mut out = Vec::new();
    let mut bytes = escaped.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next().unwrap(), bytes.next().unwrap()];
            out.push(u8::from_str_radix(std::str::from_utf8(&hex).unwrap(), 16).unwrap());
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn pinned_example_with_names() {
    let text = canonical(&("/posts", 1u32, "asc"), &["endpoint", "user_id", "sort"]).unwrap();
    assert_eq!(text, "(v2)endpoint=%2Fposts_user_id=1_sort=asc");
}

#[test]
fn every_text_starts_with_the_version() {
    for text in [c(&()), c(&1u32), c(&"a"), c(&("a", "b"))] {
        assert!(text.starts_with("(v2)"), "{text}");
    }
}

#[test]
fn names_are_ignored_when_their_count_differs() {
    assert_eq!(canonical(&(1u32, 2u32), &["a"]).unwrap(), "(v2)1_2");
    assert_eq!(canonical(&(1u32, 2u32), &[]).unwrap(), "(v2)1_2");
}

#[test]
fn odd_names_are_escaped() {
    assert_eq!(canonical(&(1u32,), &["r#type"]).unwrap(), "(v2)r%23type=1");
}

#[test]
fn zero_arguments() {
    assert_eq!(c(&()), "(v2)");
    assert_eq!(canonical(&(), &["ignored"]).unwrap(), "(v2)");
    // One argument that is unit is not zero arguments.
    assert_eq!(c(&((),)), "(v2)()");
}

#[test]
fn single_value_is_one_argument() {
    assert_eq!(c(&"asc"), "(v2)asc");
    assert_eq!(canonical(&7u32, &["n"]).unwrap(), "(v2)n=7");
    assert_eq!(c(&vec![1u32, 2]), "(v2)[1,2]");
}

#[test]
fn integers_carry_their_type_except_u32() {
    assert_eq!(raw(&7u32), "7");
    let others = (7u8, 7u16, 7u64, 7u128, -7i8, 7i16, -7i32, 7i64, -7i128);
    assert_eq!(
        c(&others),
        "(v2)7u8_7u16_7u64_7u128_-7i8_7i16_-7i32_7i64_-7i128"
    );
    assert_eq!(raw(&7usize), "7u64");
    assert_eq!(raw(&u128::MAX), format!("{}u128", u128::MAX));
    assert_eq!(raw(&i128::MIN), format!("{}i128", i128::MIN));
}

/// Integers are written digit by digit (not through `Display`): the same text as `Display`, at
/// the edges of each width and where the 64-bit path hands over to the 128-bit one.
#[test]
fn integers_read_as_display_writes_them() {
    assert_eq!(raw(&0u32), "0");
    assert_eq!(raw(&0i64), "0i64");
    assert_eq!(raw(&u64::MAX), format!("{}u64", u64::MAX));
    assert_eq!(raw(&i64::MIN), format!("{}i64", i64::MIN));
    let past_u64 = u128::from(u64::MAX) + 1;
    assert_eq!(raw(&past_u64), format!("{past_u64}u128"));
    assert_eq!(raw(&-(past_u64 as i128)), format!("-{past_u64}i128"));
    assert_eq!(raw(&1_000_000_007u32), "1000000007");
}

#[test]
fn floats_always_read_as_floats() {
    assert_eq!(raw(&1.0f64), "1.0");
    assert_eq!(raw(&0.1f64), "0.1");
    assert_eq!(raw(&-0.0f64), "-0.0");
    assert_eq!(raw(&1e300f64), format!("{}.0", 1e300f64));
    assert_eq!(raw(&1.5f32), "1.5f32");
    assert_eq!(raw(&1.0f32), "1.0f32");
    assert_eq!(
        c(&(
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f32::NAN,
            f32::NEG_INFINITY
        )),
        "(v2)NaN_inf_-inf_NaNf32_-inff32"
    );
    // Every NaN is one value.
    assert_eq!(raw(&-f64::NAN), "NaN");
}

#[test]
fn bare_strings_that_look_like_other_values_are_marked() {
    for (s, text) in [
        ("", "'"),
        ("42", "'42"),
        ("true", "'true"),
        ("None", "'None"),
        ("NaN", "'NaN"),
        ("inff32", "'inff32"),
        ("Some(x)", "'Some(x)"),
        ("'x", "''x"),
        ("[1]", "'[1]"),
        ("@Asc", "'@Asc"),
        (".hidden", "'.hidden"),
        ("-", "'-"),
    ] {
        assert_eq!(raw(&s), text, "{s:?}");
    }
    for s in [
        "asc", "nullable", "Nonesuch", "Some", "infinity", "/posts", "a'", "é",
    ] {
        assert_eq!(raw(&s), s, "{s:?}");
    }
}

#[test]
fn chars_are_not_strings() {
    assert_eq!(raw(&'a'), "'a'");
    assert_eq!(raw(&'é'), "'é'");
    // `\` before `\` and the characters a marked string may start with.
    assert_eq!(raw(&'1'), "'\\1'");
    assert_eq!(raw(&'\''), "'\\''");
    assert_eq!(raw(&'\\'), "'\\\\'");
    assert_eq!(raw(&vec!['"']), "['\"']");
    assert_ne!(raw(&'1'), raw(&"1'"));
}

#[test]
fn nested_strings_are_quoted_and_escaped() {
    assert_eq!(c(&(vec!["a b", "c"],)), "(v2)[%22a%20b%22,%22c%22]");
    // `["a\",\"b"]` (one element) differs from `["a","b"]` (two).
    assert_ne!(c(&vec!["a\",\"b"]), c(&vec!["a", "b"]));
    assert_eq!(raw(&vec!["a\\"]), "[\"a\\\\\"]");
}

#[test]
fn options() {
    assert_eq!(raw(&Some(3u32)), "Some(3)");
    assert_eq!(raw(&None::<u32>), "None");
    assert_eq!(raw(&Some(None::<u32>)), "Some(None)");
    assert_eq!(raw(&Some(Some(3u32))), "Some(Some(3))");
    // An argument's string stays bare inside `Some`; a nested one is quoted.
    assert_eq!(raw(&Some("asc")), "Some(asc)");
    assert_eq!(raw(&Some("None")), "Some('None)");
    assert_eq!(raw(&vec![Some("asc")]), "[Some(\"asc\")]");
}

#[test]
fn units_bytes_and_newtypes() {
    #[derive(Serialize)]
    struct Unit;
    #[derive(Serialize)]
    struct Name(String);
    #[derive(Serialize)]
    #[serde(transparent)]
    struct Plain(String);
    #[derive(Serialize)]
    struct Bytes<'a>(#[serde(with = "serde_bytes_like")] &'a [u8]);
    mod serde_bytes_like {
        pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(v)
        }
    }
    assert_eq!(c(&((), Unit)), "(v2)()_@");
    assert_eq!(raw(&Name("bob".into())), "@(bob)");
    assert_eq!(raw(&Plain("bob".into())), "bob");
    assert_eq!(raw(&vec![Name("bob".into())]), "[@(\"bob\")]");
    assert_eq!(raw(&Bytes(&[0, 0xab, 0xff])), "@(0x00abff)");
    assert_eq!(raw(&[0u8; 0]), "(,)");
    assert_eq!(raw(&(1u32,)), "(1,)");
    assert_eq!(raw(&(1u32, "a")), "(1,\"a\")");
}

#[test]
fn structs_and_enums() {
    #[derive(Serialize)]
    struct User {
        id: u32,
        name: String,
    }
    #[derive(Serialize)]
    struct Pair(u32, u32);
    #[derive(Serialize)]
    enum E {
        Unit,
        New(u32),
        Tup(u32, u32),
        Named {
            x: i8,
        },
        #[serde(rename = "a b")]
        Odd,
    }
    let user = User {
        id: 7,
        name: "ann".into(),
    };
    assert_eq!(raw(&user), "@{id:7,name:\"ann\"}");
    assert_eq!(raw(&Pair(1, 2)), "@[1,2]");
    assert_eq!(
        raw(&vec![
            E::Unit,
            E::New(1),
            E::Tup(1, 2),
            E::Named { x: -1 },
            E::Odd
        ]),
        "[@Unit,@New(1),@Tup[1,2],@Named{x:-1i8},@\"a b\"]"
    );
    assert_eq!(raw(&E::Unit), "@Unit");
}

#[test]
fn maps_are_sorted() {
    let btree: BTreeMap<&str, u32> = [("b", 1), ("a", 2)].into();
    assert_eq!(c(&btree), "(v2){%22a%22%3A2,%22b%22%3A1}");
    let hash: HashMap<&str, u32> = [("b", 1), ("a", 2)].into();
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
        "(v2)%C3%A9%5F%3D%25%7E%3A%2F%5C%20%22%3F%2A%3C%3E%7C%0A%00"
    );
}

#[test]
fn module_doc_examples_hold() {
    #[derive(Serialize)]
    struct User {
        id: u32,
        name: String,
    }
    #[derive(Serialize)]
    enum Order {
        Asc,
    }
    let args = ("/posts", 1u32, "asc");
    let names = ["endpoint", "user_id", "sort"];
    assert_eq!(
        canonical(&args, &names).unwrap(),
        "(v2)endpoint=%2Fposts_user_id=1_sort=asc"
    );
    assert_eq!(c(&args), "(v2)%2Fposts_1_asc");
    assert_eq!(c(&()), "(v2)");
    assert_eq!(
        canonical(&(vec!["a b", "c"],), &["xs"]).unwrap(),
        "(v2)xs=[%22a%20b%22,%22c%22]"
    );
    assert_eq!(
        canonical(&(Order::Asc, Some("asc"), 2u64), &["sort", "q", "page"]).unwrap(),
        "(v2)sort=@Asc_q=Some(asc)_page=2u64"
    );
    assert_eq!(c(&(1.0f64, 'a', "42")), "(v2)1.0_'a'_'42");
    let btree: BTreeMap<&str, u32> = [("b", 1), ("a", 2)].into();
    assert_eq!(c(&btree), "(v2){%22a%22%3A2,%22b%22%3A1}");
    let user = User {
        id: 7,
        name: "ann".into(),
    };
    assert_eq!(c(&user), "(v2)@{id%3A7,name%3A%22ann%22}");
}

/// The collisions of the first encoding that issue 9 reported, each now two texts.
#[test]
fn issue_9_collisions_are_apart() {
    #[derive(Serialize)]
    enum Order {
        Asc,
    }
    #[derive(Serialize)]
    #[serde(untagged)]
    enum Sort {
        Known(Order),
        Custom(String),
    }
    let pairs = [
        (c(&json!(1)), c(&json!(1.0))),
        (c(&json!([10, {"p": 2}])), c(&json!([10.0, {"p": 2.0}]))),
        (c(&Sort::Known(Order::Asc)), c(&Sort::Custom("Asc".into()))),
        (c(&0.1f32), c(&0.1f64)),
        (c(&'a'), c(&"a")),
        (c(&1u8), c(&1u64)),
        (c(&Some(1u32)), c(&1u32)),
        (c(&vec![1u8, 2]), c(&(1u8, 2u8))),
    ];
    for (a, b) in pairs {
        assert_ne!(a, b);
    }
    assert_eq!(
        canonical(&(Sort::Known(Order::Asc),), &["sort"]).unwrap(),
        "(v2)sort=@Asc"
    );
    assert_eq!(
        canonical(&(Sort::Custom("Asc".into()),), &["sort"]).unwrap(),
        "(v2)sort=Asc"
    );
    assert_eq!(c(&json!([10, {"p": 2}])), "(v2)[10u64,{%22p%22%3A2u64}]");
    assert_eq!(c(&json!([10.0, {"p": 2.0}])), "(v2)[10.0,{%22p%22%3A2.0}]");
}

#[test]
fn serialize_errors_become_key_errors() {
    struct Fails;
    impl Serialize for Fails {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("no way"))
        }
    }
    let err = canonical(&(1u32, Fails), &[]).unwrap_err();
    assert_eq!(err.to_string(), "cannot encode the cache key: no way");
}

/// The bytes an escaped value keeps are exactly the documented ones, and one argument written
/// in place escapes (or names) as the general way does.
#[test]
fn the_safe_bytes_are_the_documented_ones() {
    for b in 0..=255u8 {
        let documented = b.is_ascii_alphanumeric() || b"-.,+@()[]{}!'".contains(&b);
        assert_eq!(super::is_safe(b), documented, "byte {b}");
    }
    assert_eq!(c(&"a b"), "(v2)a%20b");
    assert_eq!(canonical(&"ab", &["x"]).unwrap(), "(v2)x=ab");
    assert_eq!(c(&7u64), "(v2)7u64");
}
