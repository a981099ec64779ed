//! A generic `#[cached]` function whose type or const parameter only a skipped argument carries
//! (attack, session 16): the attribute's own advice for `price::<R>(id)` ("pass a value that
//! carries `R` as an argument marked `#[cached(skip)]`") compiles, and each instantiation is a
//! function of its own — `price(Usd, 1)` is not `price(Eur, 1)`. Before, all of them shared one
//! static cache: the second type was served the first one's value, from memory and from disk.
#![deny(warnings)]

use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};

use cacher::cached;

trait Region {
    const NAME: &'static str;
}

struct Usd;
struct Eur;

impl Region for Usd {
    const NAME: &'static str = "USD";
}

impl Region for Eur {
    const NAME: &'static str = "EUR";
}

static PRICED: AtomicUsize = AtomicUsize::new(0);

#[cached]
fn price<R: Region>(#[cached(skip)] _region: R, id: u32) -> String {
    PRICED.fetch_add(1, Ordering::SeqCst);
    format!("{id} in {}", R::NAME)
}

#[test]
fn a_type_parameter_only_a_skipped_argument_carries_has_one_cache_per_type() {
    assert_eq!(price(Usd, 1), "1 in USD");
    assert_eq!(price(Eur, 1), "1 in EUR");
    assert_eq!(price(Usd, 1), "1 in USD");
    assert_eq!(price(Eur, 1), "1 in EUR");
    assert_eq!(PRICED.load(Ordering::SeqCst), 2);
    assert_eq!(price_cache::<Usd>().stats().hits, 1);
    assert_eq!(price_cache::<Eur>().stats().hits, 1);
    let module = module_path!();
    assert_eq!(
        price_cache::<Eur>().namespace(),
        format!("{module}::price<{module}::Eur>")
    );
}

/// A multiplier known at compile time, carried by a marker.
struct Times<const N: u32>;

#[cached]
fn scaled<const N: u32>(#[cached(skip)] _by: Times<N>, x: u32) -> u32 {
    x * N
}

#[test]
fn a_const_parameter_only_a_skipped_argument_carries_has_one_cache_per_value() {
    assert_eq!(scaled(Times::<2>, 10), 20);
    assert_eq!(scaled(Times::<3>, 10), 30);
    assert_eq!(scaled(Times::<2>, 10), 20);
    assert_eq!(scaled_cache::<3>().stats().misses, 1);
}

/// One cache directory, fixed at compile time, below the tests' temporary directory.
macro_rules! dir {
    () => {
        concat!(env!("CARGO_TARGET_TMPDIR"), "/adversarial_generic/stored")
    };
}

#[cached(backend = "file", keyer = "hash", cache_dir = dir!())]
fn stored<R: Region>(#[cached(skip)] _region: PhantomData<R>, id: u32) -> String {
    format!("{id} in {}", R::NAME)
}

#[test]
fn each_type_keeps_its_own_entries_on_disk() {
    let _ = std::fs::remove_dir_all(dir!());
    assert_eq!(stored(PhantomData::<Usd>, 1), "1 in USD");
    // Memory forgets: the file tier answers, and must answer with the euro's own entry.
    stored_cache::<Usd>().clear().unwrap();
    stored_cache::<Eur>().clear().unwrap();
    assert_eq!(stored(PhantomData::<Usd>, 1), "1 in USD");
    assert_eq!(stored(PhantomData::<Eur>, 1), "1 in EUR");
    assert_ne!(
        stored_cache::<Usd>().namespace(),
        stored_cache::<Eur>().namespace()
    );
}

#[cached]
async fn fetched<R: Region>(#[cached(skip)] _region: R, id: u32) -> String {
    tokio::task::yield_now().await;
    format!("{id} in {}", R::NAME)
}

#[tokio::test]
async fn async_functions_have_one_cache_per_type_too() {
    assert_eq!(fetched(Usd, 1).await, "1 in USD");
    assert_eq!(fetched(Eur, 1).await, "1 in EUR");
}

/// A client of no generic type, with a method generic over the region it prices in.
struct Shop;

impl Shop {
    #[cached]
    fn quote<R: Region>(&self, #[cached(skip)] _region: R, id: u32) -> String {
        format!("{id} in {}", R::NAME)
    }
}

#[test]
fn a_method_with_type_parameters_of_its_own_has_one_cache_per_type() {
    assert_eq!(Shop.quote(Usd, 1), "1 in USD");
    assert_eq!(Shop.quote(Eur, 1), "1 in EUR");
    let module = module_path!();
    assert_eq!(
        Shop::quote_cache::<Usd>().namespace(),
        format!("{module}::Shop::quote<{module}::Usd>")
    );
}

/// A source borrowed for `'a`, generic over it.
trait Source<'a> {
    fn name(&self) -> &'a str;
}

struct Named(&'static str);

impl<'a> Source<'a> for Named {
    fn name(&self) -> &'a str {
        self.0
    }
}

#[cached]
fn read_from<'a, S>(#[cached(skip)] source: &S, id: u32) -> String
where
    S: Source<'a>,
{
    format!("{id} from {}", source.name())
}

#[test]
fn a_generic_function_with_lifetimes_in_its_bounds_keeps_a_generic_companion() {
    assert_eq!(read_from(&Named("disk"), 1), "1 from disk");
    assert_eq!(read_from(&Named("net"), 1), "1 from disk");
    assert_eq!(read_from_cache::<Named>().stats().hits, 1);
}
