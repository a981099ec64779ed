//! Test-only: proptest strategies over the serde data model, and *twins* — values of another
//! kind that read almost alike (`1u32` and `1.0f64`, `'a'` and `"a"`, `x` and `Some(x)`), which
//! is where an encoding that does not tag kinds collides.

use proptest::prelude::*;

use super::{Name, Value, intern};

/// Names of fields and variants, including those only `#[serde(rename)]` can give.
pub(crate) const NAMES: &[Name] = &[
    "a", "b", "Asc", "x1", "_", "", "a b", "true", "None", "Some(", "\"", "é", ":", "1", "T",
    "a,b", "@", "NaN", "'",
];

/// Strings that look like other kinds' texts, or like the encoding's punctuation.
const TRICKY: &[&str] = &[
    "", "a", "asc", "Asc", "1", "1.0", "-1", "true", "false", "None", "Some(x)", "Some(", "NaN",
    "inf", "NaNf32", "inff32", "'", "''", "'a'", "a'", "1'", "\\'", "\"", "\"a\"", "()", "(,)",
    "@", "@Asc", "[1]", "{}", "0x", "0x00", "1u8", "a,b", "a:b", "_", "=", "%", "é", ".",
    ".hidden", "/posts", ")", "a)",
];

fn name() -> BoxedStrategy<Name> {
    proptest::sample::select(NAMES).boxed()
}

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(TRICKY).prop_map(str::to_owned),
        1 => ".{0,6}",
        1 => proptest::collection::vec(proptest::sample::select(TRICKY), 0..3)
            .prop_map(|parts| parts.concat()),
    ]
}

fn float64() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => proptest::sample::select(vec![
            0.0, -0.0, 1.0, 0.1, 10.0, 2.5, -1.0, 1e300, f64::MIN_POSITIVE, f64::MAX,
            f64::NAN, -f64::NAN, f64::INFINITY, f64::NEG_INFINITY,
        ]),
        1 => any::<f64>(),
    ]
}

fn character() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => proptest::sample::select(vec!['a', '1', '\'', '\\', '"', ',', '(', 'é', '_', '%', '@']),
        1 => any::<char>(),
    ]
}

/// Small integers (where the widths meet) and any.
macro_rules! int {
    ($t:ty) => {
        prop_oneof![3 => (0 as $t)..3, 1 => any::<$t>()]
    };
}

/// The values without children.
pub(crate) fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        int!(i8).prop_map(Value::I8),
        int!(i16).prop_map(Value::I16),
        int!(i32).prop_map(Value::I32),
        int!(i64).prop_map(Value::I64),
        int!(i128).prop_map(Value::I128),
        int!(u8).prop_map(Value::U8),
        int!(u16).prop_map(Value::U16),
        int!(u32).prop_map(Value::U32),
        int!(u64).prop_map(Value::U64),
        int!(u128).prop_map(Value::U128),
        float64().prop_map(|f| Value::F32(f as f32)),
        float64().prop_map(Value::F64),
        character().prop_map(Value::Char),
        string().prop_map(Value::Str),
        proptest::collection::vec(any::<u8>(), 0..4).prop_map(Value::Bytes),
        Just(Value::None),
        Just(Value::Unit),
        Just(Value::UnitStruct),
        name().prop_map(Value::UnitVariant),
    ]
}

/// Any value of the data model, nested a few levels.
pub(crate) fn value() -> BoxedStrategy<Value> {
    leaf()
        .prop_recursive(3, 24, 4, |inner| {
            let items = proptest::collection::vec(inner.clone(), 0..4);
            let fields = proptest::collection::vec((name(), inner.clone()), 0..3);
            prop_oneof![
                inner.clone().prop_map(|v| Value::Some(Box::new(v))),
                inner
                    .clone()
                    .prop_map(|v| Value::NewtypeStruct(Box::new(v))),
                (name(), inner.clone()).prop_map(|(n, v)| Value::NewtypeVariant(n, Box::new(v))),
                items.clone().prop_map(Value::Seq),
                items.clone().prop_map(Value::Tuple),
                items.clone().prop_map(Value::TupleStruct),
                (name(), items).prop_map(|(n, v)| Value::TupleVariant(n, v)),
                proptest::collection::vec((inner.clone(), inner), 0..3).prop_map(Value::Map),
                fields.clone().prop_map(Value::Struct),
                (name(), fields).prop_map(|(n, f)| Value::StructVariant(n, f)),
            ]
        })
        .boxed()
}

/// `v` with the value at `path` (each step picks a child, modulo their number) replaced by its
/// twin number `pick` (modulo their number).
pub(crate) fn with_twin(v: &Value, path: &[usize], pick: usize) -> Value {
    let mut out = v.clone();
    replace_with_twin(&mut out, path, pick);
    out
}

fn replace_with_twin(node: &mut Value, path: &[usize], pick: usize) {
    if let Some((&step, rest)) = path.split_first() {
        let mut children = children_mut(node);
        if !children.is_empty() {
            let index = step % children.len();
            return replace_with_twin(children.swap_remove(index), rest, pick);
        }
    }
    let twins = twins(node);
    *node = twins[pick % twins.len()].clone();
}

fn children_mut(v: &mut Value) -> Vec<&mut Value> {
    match v {
        Value::Some(x) | Value::NewtypeStruct(x) | Value::NewtypeVariant(_, x) => vec![&mut **x],
        Value::Seq(items)
        | Value::Tuple(items)
        | Value::TupleStruct(items)
        | Value::TupleVariant(_, items) => items.iter_mut().collect(),
        Value::Map(entries) => entries.iter_mut().flat_map(|(k, v)| [k, v]).collect(),
        Value::Struct(fields) | Value::StructVariant(_, fields) => {
            fields.iter_mut().map(|(_, v)| v).collect()
        }
        _ => Vec::new(),
    }
}

/// Values of other kinds that an encoding writing only the "content" would write like `v`.
pub(crate) fn twins(v: &Value) -> Vec<Value> {
    let boxed = || Box::new(v.clone());
    let mut out = vec![
        Value::Some(boxed()),
        Value::NewtypeStruct(boxed()),
        Value::NewtypeVariant("Some", boxed()),
        Value::Tuple(vec![v.clone()]),
        Value::Seq(vec![v.clone()]),
    ];
    out.extend(scalar_twins(v));
    out.extend(compound_twins(v));
    out
}

fn text(s: impl Into<String>) -> Value {
    Value::Str(s.into())
}

fn scalar_twins(v: &Value) -> Vec<Value> {
    use Value as V;
    match v {
        V::Bool(b) => vec![text(b.to_string()), V::UnitVariant(intern(b.to_string()))],
        V::I8(n) => number_twins(i128::from(*n)),
        V::I16(n) => number_twins(i128::from(*n)),
        V::I32(n) => number_twins(i128::from(*n)),
        V::I64(n) => number_twins(i128::from(*n)),
        V::I128(n) => number_twins(*n),
        V::U8(n) => number_twins(i128::from(*n)),
        V::U16(n) => number_twins(i128::from(*n)),
        V::U32(n) => number_twins(i128::from(*n)),
        V::U64(n) => number_twins(i128::from(*n)),
        V::U128(n) => i128::try_from(*n).map_or_else(|_| vec![text(n.to_string())], number_twins),
        V::F32(f) => float_twins(f64::from(*f), V::F64(f64::from(*f))),
        V::F64(f) => float_twins(*f, V::F32(*f as f32)),
        V::Char(c) => vec![
            text(c.to_string()),
            text(format!("{c}'")),
            text(format!("'{c}'")),
        ],
        V::Str(s) => string_twins(s),
        V::Bytes(b) => {
            let hex: String = b.iter().map(|b| format!("{b:02x}")).collect();
            let bytes: Vec<Value> = b.iter().copied().map(V::U8).collect();
            vec![
                V::Seq(bytes.clone()),
                V::Tuple(bytes),
                text(format!("0x{hex}")),
                text(hex),
            ]
        }
        V::None => vec![V::Unit, V::UnitStruct, text("None"), V::UnitVariant("None")],
        V::Unit => vec![
            V::UnitStruct,
            V::None,
            V::Tuple(vec![]),
            text("()"),
            V::Struct(vec![]),
        ],
        V::UnitStruct => vec![
            V::Unit,
            V::UnitVariant(""),
            text("@"),
            V::TupleStruct(vec![]),
        ],
        V::UnitVariant(n) => vec![
            text(*n),
            text(format!("@{n}")),
            V::UnitStruct,
            V::NewtypeVariant(n, Box::new(V::Unit)),
            V::TupleVariant(n, vec![]),
            V::StructVariant(n, vec![]),
        ],
        _ => Vec::new(),
    }
}

fn number_twins(n: i128) -> Vec<Value> {
    let mut out = vec![
        Value::F64(n as f64),
        Value::F32(n as f32),
        text(n.to_string()),
        text(format!("{n}.0")),
        Value::I128(n),
    ];
    out.extend(i8::try_from(n).ok().map(Value::I8));
    out.extend(i16::try_from(n).ok().map(Value::I16));
    out.extend(i32::try_from(n).ok().map(Value::I32));
    out.extend(i64::try_from(n).ok().map(Value::I64));
    out.extend(u8::try_from(n).ok().map(Value::U8));
    out.extend(u16::try_from(n).ok().map(Value::U16));
    out.extend(u32::try_from(n).ok().map(Value::U32));
    out.extend(u64::try_from(n).ok().map(Value::U64));
    out.extend(u128::try_from(n).ok().map(Value::U128));
    out.extend(char::from_digit(n.try_into().unwrap_or(99), 10).map(Value::Char));
    out
}

fn float_twins(f: f64, other_width: Value) -> Vec<Value> {
    let mut out = vec![other_width, text(f.to_string()), text(format!("{f:?}"))];
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e30 {
        out.extend(number_twins(f as i128));
    }
    out
}

fn string_twins(s: &str) -> Vec<Value> {
    let mut out = vec![
        Value::UnitVariant(intern(s.to_owned())),
        Value::Bytes(s.as_bytes().to_vec()),
        text(format!("'{s}")),
        text(format!("\"{s}\"")),
    ];
    let mut chars = s.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        out.push(Value::Char(c));
    }
    out
}

fn compound_twins(v: &Value) -> Vec<Value> {
    use Value as V;
    match v {
        V::Some(x) => vec![(**x).clone(), V::NewtypeStruct(x.clone())],
        V::NewtypeStruct(x) => vec![
            (**x).clone(),
            V::Some(x.clone()),
            V::TupleStruct(vec![(**x).clone()]),
        ],
        V::NewtypeVariant(n, x) => {
            vec![
                V::NewtypeStruct(x.clone()),
                V::TupleVariant(n, vec![(**x).clone()]),
                V::UnitVariant(n),
            ]
        }
        V::Seq(items) => vec![V::Tuple(items.clone()), V::TupleStruct(items.clone())],
        V::Tuple(items) => {
            let mut out = vec![V::Seq(items.clone()), V::TupleStruct(items.clone())];
            if let [only] = items.as_slice() {
                out.extend([only.clone(), V::NewtypeStruct(Box::new(only.clone()))]);
            }
            out
        }
        V::TupleStruct(items) => vec![V::Tuple(items.clone()), V::TupleVariant("", items.clone())],
        V::TupleVariant(n, items) => {
            vec![V::TupleStruct(items.clone()), V::StructVariant(n, vec![])]
        }
        V::Map(entries) => vec![
            V::Seq(
                entries
                    .iter()
                    .map(|(k, v)| V::Tuple(vec![k.clone(), v.clone()]))
                    .collect(),
            ),
            V::Struct(entries.iter().filter_map(|(k, v)| field(k, v)).collect()),
        ],
        V::Struct(fields) => vec![
            V::Map(fields.iter().map(|(n, v)| (text(*n), v.clone())).collect()),
            V::StructVariant("", fields.clone()),
            V::TupleStruct(fields.iter().map(|(_, v)| v.clone()).collect()),
        ],
        V::StructVariant(n, fields) => {
            vec![
                V::Struct(fields.clone()),
                V::NewtypeVariant(n, Box::new(V::Struct(fields.clone()))),
            ]
        }
        _ => Vec::new(),
    }
}

/// A map entry as a struct field, when its key is a string.
fn field(key: &Value, value: &Value) -> Option<(Name, Value)> {
    match key {
        Value::Str(s) => Some((intern(s.clone()), value.clone())),
        _ => None,
    }
}
