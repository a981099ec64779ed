use std::collections::HashMap;

use cacher::cached;

// `&str`, `Option<&str>`, `(u32, &str)`, `Vec<&str>`, `&[&str]`, `Cow<'_, str>` are keyed by
// their owned forms (see the runtime tests); for other types that borrow, #[cached] cannot make
// one, and says what to write.

#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize)]
struct Query<'a> {
    text: &'a str,
}

#[cached]
fn search(query: Query<'_>) -> usize {
    query.text.len()
}

#[cached]
fn counted(counts: HashMap<&str, u32>) -> u32 {
    counts.values().sum()
}

#[cached]
fn boxed(text: Box<&str>) -> usize {
    text.len()
}

#[cached]
fn bumped(n: Option<&mut u32>) -> u32 {
    n.map_or(0, |n| *n)
}

fn main() {}
