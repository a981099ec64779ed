// An argument taken by value and named in `key = …` must be `Clone` (the key borrows it during
// the lookup; the function runs on a clone): one error at the parameter that says so (helper-106:
// before, a bare "`Doc: Clone` is not satisfied" at the attribute).
use cacher::cached;

pub struct Doc {
    id: u32,
    text: String,
}

#[cached(key = doc.id, key_type = "u32")]
fn word_count(doc: Doc) -> usize {
    doc.text.split_whitespace().count()
}

#[cached(key = x.to_string())]
fn shown<T: std::fmt::Display>(x: T) -> String {
    format!("<{x}>")
}

fn main() {
    let _ = word_count(Doc {
        id: 1,
        text: "a b".into(),
    });
    let _ = shown(3);
}
