use cacher::cached;

#[cached(ttl = "1h", ttl = "2h")]
fn ttl_twice(n: u32) -> u32 {
    n
}

#[cached(backend = "file", formatter = "json", backend = "memory")]
fn backend_twice(n: u32) -> u32 {
    n
}

fn main() {}
