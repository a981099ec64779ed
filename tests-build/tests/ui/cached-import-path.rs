// `use cached::proc_macro::cached` is what `cached`'s users write; rustc suggests
// `cacher::proc_macro::cached` for it. By that path (or `cacher::macros::cached`) the attribute
// still expands, with one error that says the import to write.
use cacher::macros::cached as cached_by_macros;
use cacher::proc_macro::cached;

#[cached]
fn by_proc_macro(n: u64) -> u64 {
    n
}

#[cached_by_macros(ttl = "1h")]
fn by_macros(n: u64) -> u64 {
    n
}

fn main() {
    let _ = by_proc_macro(1);
    let _ = by_proc_macro_cache().stats();
    let _ = by_macros(1);
}
