use cacher::cached;

#[cached(backend = ["file", "memory"])]
fn memory_behind_file(n: u32) -> u32 {
    n
}

#[cached(backend = ["memory", "file", "file"])]
fn file_twice(n: u32) -> u32 {
    n
}

#[cached(backend = [])]
fn no_tier(n: u32) -> u32 {
    n
}

#[cached(backend = ["memory", file])]
fn tier_not_a_string(n: u32) -> u32 {
    n
}

// Nearer, faster tiers first.
#[cached(backend = ["redis", "file"])]
fn file_after_redis(n: u32) -> u32 {
    n
}

fn main() {}
