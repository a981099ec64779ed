use cacher::cached;

// `key_type`: without `key`, not in a string, and a `key` expression that is no form of it, each
// one error.

#[cached(key_type = "(String, u32)")]
fn without_key(id: u32) -> u32 {
    id
}

#[cached(key = id, key_type = u64)]
fn unquoted(id: u64) -> u64 {
    id
}

#[cached(key = (name, id), key_type = "(String, u64)")]
fn mismatched(name: &str, id: u32) -> u32 {
    id + name.len() as u32
}

fn main() {}
