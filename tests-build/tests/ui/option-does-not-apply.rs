use cacher::cached;

// The default backend is memory, which stores typed values: no formatter.
#[cached(formatter = "json")]
fn formatter_by_default(n: u32) -> u32 {
    n
}

#[cached(backend = "memory", formatter = "bincode")]
fn formatter_with_memory(n: u32) -> u32 {
    n
}

#[cached(keyer = "hash")]
fn keyer_with_memory(n: u32) -> u32 {
    n
}

#[cached(cache_dir = ".cache/api")]
fn cache_dir_with_memory(n: u32) -> u32 {
    n
}

#[cached(filename_fn = shard)]
fn filename_fn_with_memory(n: u32) -> u32 {
    n
}

fn shard(key: &str) -> String {
    format!("{}/{key}.json", &key[..4])
}

fn main() {}
