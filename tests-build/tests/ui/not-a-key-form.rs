use cacher::Cache;

// The plain-store methods take the key, or the key with parts borrowed; another type is one
// error that names the key type and what to pass.

fn main() {
    one_argument();
    let cache: Cache<(String, u32), u32> = Cache::builder().build().unwrap();
    let _ = cache.remove(&("/a", 1u64));
    let _ = cache.get(&("/a", 1, 2));
}

// `#[cached]` keys a function of one argument by a tuple of one.
#[cacher::cached]
fn by_id(id: u32) -> u32 {
    id
}

fn one_argument() {
    let _ = by_id_cache().remove(&1);
}
