use std::fmt::Display;
use std::hash::Hash;

use cacher::cached;

#[cached]
fn generic_key<T: Hash + Eq + Clone>(value: T) -> u64 {
    let _ = value;
    1
}

#[cached]
fn generic_value<T: Default>(n: u32) -> Vec<T> {
    (0..n).map(|_| T::default()).collect()
}

#[cached]
fn impl_trait_argument(value: impl Display) -> String {
    value.to_string()
}

#[cached]
fn impl_trait_return(n: u32) -> impl Display {
    n
}

#[cached]
const fn constant(n: u32) -> u32 {
    n
}

// A type or const parameter no argument carries: `price::<Eu>(1)` and `price::<Us>(1)` would
// share one cache.
trait Region {
    const NAME: &'static str;
}

#[cached]
fn price<R: Region>(id: u32) -> String {
    format!("{id} in {}", R::NAME)
}

#[cached]
fn scaled<const N: u32>(x: u32) -> u32 {
    x * N
}

// One cache per value of a const parameter: its type must be a primitive one, written as such.
type Small = u8;
struct Times<const N: Small>;

#[cached]
fn times<const N: Small>(#[cached(skip)] by: Times<N>, x: u32) -> u32 {
    let _ = by;
    x * u32::from(N)
}

// A generic parameter that only a skipped argument uses is fine (one cache per type).
#[cached]
fn generic_client<C: Display>(#[cached(skip)] client: &C, id: u32) -> String {
    format!("{client}/{id}")
}

fn main() {
    let _ = generic_client(&"api", 1);
}
