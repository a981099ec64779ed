use cacher::cached;

// A size needs its unit.
#[cached(backend = "store", max_size = 1024)]
fn max_size_without_unit(n: u32) -> u32 {
    n
}

#[cached(backend = "store", max_size = "lots")]
fn max_size_not_a_size(n: u32) -> u32 {
    n
}

// Memory is bounded by `max_entries`; `max_size` bounds the disk tiers.
#[cached(max_size = "1GiB")]
fn max_size_with_memory(n: u32) -> u32 {
    n
}

// The store names its entries itself: no `filename_fn`.
#[cached(backend = "store", filename_fn = shard)]
fn filename_fn_with_store(n: u32) -> u32 {
    n
}

// Nearer, faster tiers first.
#[cached(backend = ["redis", "store"])]
fn store_after_redis(n: u32) -> u32 {
    n
}

#[cached(backend = "stor")]
fn store_misspelt(n: u32) -> u32 {
    n
}

fn shard(key: &str) -> String {
    format!("{}/{key}.json", &key[..4])
}

fn main() {}
