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

/// A meter generic over its region whose options name `Self`, in a generic impl: its clock (in
/// the site's options, a constant naming `Self::clock`, which a memory-only function's build and
/// a written one read) and its value's ttl (a build closure naming `Self::ttl`). One cache per
/// `Self` type each.
struct Meter<R>(PhantomData<R>);

/// The mock clock of `Meter::versioned`, its own, so that moving it moves no other test's time.
fn meter_mock() -> &'static (cacher::Clock, std::sync::Arc<cacher::MockClock>) {
    static MOCK: std::sync::OnceLock<(cacher::Clock, std::sync::Arc<cacher::MockClock>)> =
        std::sync::OnceLock::new();
    MOCK.get_or_init(cacher::Clock::mock)
}

static VERSIONED: AtomicUsize = AtomicUsize::new(0);

/// A `ttl_fn` that keeps the cache's ttl.
fn keep_the_ttl(_value: &String) -> Option<std::time::Duration> {
    None
}

impl<R: Region> Meter<R> {
    fn clock() -> cacher::Clock {
        cacher::Clock::system()
    }

    fn ttl(_value: &String) -> Option<std::time::Duration> {
        Some(std::time::Duration::from_secs(60))
    }

    #[cached(ttl = "1h", clock = Self::clock)]
    fn read(&self, id: u32) -> String {
        format!("{id} in {}", R::NAME)
    }

    #[cached(ttl_fn = Self::ttl)]
    fn priced(&self, id: u32) -> String {
        format!("{id} priced in {}", R::NAME)
    }

    fn mock_clock() -> cacher::Clock {
        meter_mock().0.clone()
    }

    /// A build of its own (`ttl_fn`, a function that names no `Self`: a nested `fn`), which sets
    /// the clock the site lists.
    #[cached(ttl = "1h", ttl_fn = keep_the_ttl, clock = Self::mock_clock)]
    fn versioned(&self, id: u32) -> String {
        VERSIONED.fetch_add(1, Ordering::SeqCst);
        format!("{id} v2 in {}", R::NAME)
    }
}

#[test]
fn options_naming_self_in_a_generic_impl_build_one_cache_per_type() {
    let (usd, eur) = (Meter::<Usd>(PhantomData), Meter::<Eur>(PhantomData));
    assert_eq!(usd.read(1), "1 in USD");
    assert_eq!(eur.read(1), "1 in EUR");
    assert_eq!(usd.read(1), "1 in USD");
    assert_eq!(Meter::<Usd>::read_cache().stats().hits, 1);
    assert_eq!(usd.priced(2), "2 priced in USD");
    assert_eq!(eur.priced(2), "2 priced in EUR");
    assert_eq!(Meter::<Eur>::priced_cache().stats().misses, 1);
}

#[test]
fn a_written_build_in_a_generic_impl_ages_entries_on_the_clock_its_site_names() {
    let usd = Meter::<Usd>(PhantomData);
    assert_eq!(usd.versioned(3), "3 v2 in USD");
    assert_eq!(usd.versioned(3), "3 v2 in USD");
    assert_eq!(VERSIONED.load(Ordering::SeqCst), 1);
    // Two hours on the mock clock, none on the system's: only the site's clock expires it.
    meter_mock()
        .1
        .advance(std::time::Duration::from_secs(2 * 3600));
    assert_eq!(usd.versioned(3), "3 v2 in USD");
    assert_eq!(VERSIONED.load(Ordering::SeqCst), 2);
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

// Review, session 16: instances whose types the compiler names alike. `type_name` is no
// identity ("multiple types may map to the same type name"): two closures of one function are
// both `…::{{closure}}`, two types of one name in two blocks of one function are both `…::f::L`.

#[cached]
fn applied<F: Fn(u32) -> u32>(#[cached(skip)] f: F, x: u32) -> u32 {
    f(x)
}

#[test]
fn two_closures_of_one_function_are_two_instances() {
    assert_eq!(applied(|x| x + 1, 1), 2);
    assert_eq!(applied(|x| x * 10, 1), 10);
    assert_eq!(applied(|x| x + 1, 1), 2);
}

#[test]
fn two_types_of_one_name_in_two_blocks_are_two_instances() {
    let usd = {
        struct Local;
        impl Region for Local {
            const NAME: &'static str = "USD";
        }
        price(Local, 7)
    };
    let eur = {
        struct Local;
        impl Region for Local {
            const NAME: &'static str = "EUR";
        }
        price(Local, 7)
    };
    assert_eq!((usd.as_str(), eur.as_str()), ("7 in USD", "7 in EUR"));
}

/// A client generic over the function it calls: one cache per `Self` type.
struct Client<F>(F);

impl<F: Fn(u32) -> u32> Client<F> {
    #[cached]
    fn call(&self, x: u32) -> u32 {
        (self.0)(x)
    }
}

#[test]
fn a_generic_impl_over_two_closures_has_two_caches() {
    assert_eq!(Client(|x| x + 1).call(1), 2);
    assert_eq!(Client(|x| x * 10).call(1), 10);
}

#[cached(backend = "file", keyer = "hash", cache_dir = concat!(env!("CARGO_TARGET_TMPDIR"), "/adversarial_generic/closures"))]
fn applied_on_disk<F: Fn(u32) -> u32>(#[cached(skip)] f: F, x: u32) -> u32 {
    f(x)
}

#[test]
fn two_closures_named_alike_are_refused_a_shared_directory() {
    let (plus_one, times_ten) = (|x| x + 1, |x| x * 10);
    assert_eq!(applied_on_disk(plus_one, 1), 2);
    // Both are `…::{{closure}}`: one namespace, whose files each would read as its own.
    let second = std::panic::catch_unwind(|| applied_on_disk(times_ten, 1));
    let message = second.expect_err("a second instance named alike is refused");
    let message = message.downcast_ref::<String>().expect("a formatted panic");
    assert!(
        message.contains("two instances of the #[cached] fn"),
        "{message}"
    );
    // The first one still has its cache.
    assert_eq!(applied_on_disk(plus_one, 1), 2);
}
