use cacher::cached;

// Nothing to cache: one error, not the unstable `!` type twice in the cache's static.
#[cached]
fn fail(code: u32) -> ! {
    panic!("failed with {code}")
}

fn main() {
    fail(1);
}
