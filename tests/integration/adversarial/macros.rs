//! `#[cached]` attacked: functions that the attribute could confuse with one another (nested
//! functions of one name, one method for every type of a generic impl), and the signatures it
//! used to refuse with the compiler's noise or to get wrong (arguments that hold references,
//! trait impls, associated functions, `Result`s by another name). What must not compile is in
//! `tests-build/tests/ui/` (`borrowed-*`, `float-key`, `result-alias`, `stale-without-errors`,
//! `trait-impl`).
//!
//! Warnings are errors here: the expansions stay warning-free (issue 9, item 19).
#![deny(warnings)]

use std::borrow::Cow;
use std::marker::PhantomData;
use std::panic::catch_unwind;
use std::path::{Path, PathBuf};

use cacher::{Cache, cached};
use cacher_tests::redis_server::{child_results, spawn_self};
use cacher_tests::{Calls, panic_of, test_name};

/// One cache directory, fixed at compile time, below the tests' temporary directory.
macro_rules! dir {
    ($name:literal) => {
        concat!(env!("CARGO_TARGET_TMPDIR"), "/adversarial_macros/", $name)
    };
}

/// Empties a cache directory, so that a test starts from no entries.
fn fresh(dir: &str) -> &Path {
    let dir = Path::new(dir);
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => panic!("cannot empty {dir:?}: {e}"),
        _ => dir,
    }
}

// ---------------------------------------------------------------------------------------------
// Item 3: nested functions of one name are two functions.

/// `lookup` in `usd` and `lookup` in `eur`: one module, one name, one shared `cache_dir` (hashed
/// names: readable ones of the same arguments would be the same files, refused).
fn usd(amount: u32) -> (String, &'static Cache<(u32,), String>) {
    #[cached(backend = "file", keyer = "hash", cache_dir = dir!("nested"))]
    fn lookup(amount: u32) -> String {
        format!("{amount} in USD")
    }
    (lookup(amount), lookup_cache())
}

fn eur(amount: u32) -> (String, &'static Cache<(u32,), String>) {
    #[cached(backend = "file", keyer = "hash", cache_dir = dir!("nested"))]
    fn lookup(amount: u32) -> String {
        format!("{amount} in EUR")
    }
    (lookup(amount), lookup_cache())
}

#[test]
fn nested_functions_of_one_name_never_share_values() {
    fresh(dir!("nested"));
    let (dollars, usd_cache) = usd(1);
    let (euros, eur_cache) = eur(1);
    assert_eq!(dollars, "1 in USD");
    assert_eq!(euros, "1 in EUR");
    assert_eq!(usd(1).0, "1 in USD");
    // Each is named after the function it is nested in.
    let module = module_path!();
    assert_eq!(usd_cache.namespace(), format!("{module}::usd::lookup"));
    assert_eq!(eur_cache.namespace(), format!("{module}::eur::lookup"));
}

/// Two functions given one `cache_dir` whose arguments have the same names: the file tier names
/// an entry by its key alone, so each overwrote the other's files (read by neither: entries
/// record their namespace) and neither was ever a hit. The second is refused at its first use,
/// saying what to write; the first keeps its entries.
#[test]
fn functions_given_one_cache_dir_and_the_same_argument_names_are_refused() {
    mod users {
        #[cacher::cached(backend = "file", cache_dir = dir!("shared"))]
        pub fn fetch(id: u32) -> String {
            format!("user {id}")
        }
    }
    mod posts {
        #[cacher::cached(backend = "file", cache_dir = dir!("shared"))]
        pub fn fetch(id: u32) -> String {
            format!("post {id}")
        }
    }
    fresh(dir!("shared"));
    assert_eq!(users::fetch(1), "user 1");
    for _ in 0..2 {
        let message = panic_of(|| {
            posts::fetch(1);
        });
        assert!(message.contains("users::fetch` and `"), "{message}");
        assert!(message.contains("keyer = \"hash\""), "{message}");
    }
    assert_eq!(users::fetch(1), "user 1");
    assert_eq!(users::fetch_cache().stats().hits, 1);
}

/// What the refusal above says to write: with the hash keyer (names that include the function),
/// two functions of the same argument names keep their entries in one `cache_dir`.
#[test]
fn functions_given_one_cache_dir_with_hashed_names_each_keep_their_entries() {
    mod readers {
        #[cacher::cached(backend = "file", keyer = "hash", cache_dir = dir!("shared_hashed"))]
        pub fn fetch(id: u32) -> String {
            format!("user {id}")
        }
    }
    mod writers {
        #[cacher::cached(backend = "file", keyer = "hash", cache_dir = dir!("shared_hashed"))]
        pub fn fetch(id: u32) -> String {
            format!("post {id}")
        }
    }
    fresh(dir!("shared_hashed"));
    for _ in 0..2 {
        assert_eq!(readers::fetch(1), "user 1");
        assert_eq!(writers::fetch(1), "post 1");
    }
    let (users, posts) = (readers::fetch_cache(), writers::fetch_cache());
    assert_eq!((users.stats().hits, posts.stats().hits), (1, 1));
    assert_ne!(users.path_of(&(1,)), posts.path_of(&(1,)));
}

/// Two versions' entries are in directories of their own below one `cache_dir`: functions of
/// the same argument names but other versions are not refused.
#[test]
fn functions_given_one_cache_dir_and_other_versions_each_keep_their_entries() {
    mod first {
        #[cacher::cached(backend = "file", version = 1, cache_dir = dir!("shared_versions"))]
        pub fn fetch(id: u32) -> String {
            format!("first {id}")
        }
    }
    mod second {
        #[cacher::cached(backend = "file", version = 2, cache_dir = dir!("shared_versions"))]
        pub fn fetch(id: u32) -> String {
            format!("second {id}")
        }
    }
    fresh(dir!("shared_versions"));
    for _ in 0..2 {
        assert_eq!(first::fetch(1), "first 1");
        assert_eq!(second::fetch(1), "second 1");
    }
    let hits = (
        first::fetch_cache().stats().hits,
        second::fetch_cache().stats().hits,
    );
    assert_eq!(hits, (1, 1));
}

/// Review 8: arguments of the same names whose keys can never be the same text — a `u32` is
/// written `1`, a `u64` `1u64` (the canonical encoding keeps every kind apart) — name different
/// files: the two functions never meet in one `cache_dir`, each kept its entries before the
/// claim, and the second is now refused (a panic at its first use) for a collision that
/// cannot happen.
#[test]
fn functions_given_one_cache_dir_whose_keys_never_meet_are_not_refused() {
    mod narrow {
        #[cacher::cached(backend = "file", cache_dir = dir!("shared_kinds"))]
        pub fn fetch(id: u32) -> String {
            format!("narrow {id}")
        }
    }
    mod wide {
        #[cacher::cached(backend = "file", cache_dir = dir!("shared_kinds"))]
        pub fn fetch(id: u64) -> String {
            format!("wide {id}")
        }
    }
    fresh(dir!("shared_kinds"));
    assert_eq!(narrow::fetch(1), "narrow 1");
    let second = catch_unwind(|| wide::fetch(1));
    assert_eq!(
        second.as_deref().ok(),
        Some("wide 1"),
        "refused, though its files are not the first function's"
    );
    assert_ne!(
        narrow::fetch_cache().path_of(&(1,)),
        wide::fetch_cache().path_of(&(1,)),
        "the two functions' entries of 1 are different files"
    );
    for _ in 0..2 {
        assert_eq!(narrow::fetch(1), "narrow 1");
        assert_eq!(wide::fetch(1), "wide 1");
    }
    let hits = (
        narrow::fetch_cache().stats().hits,
        wide::fetch_cache().stats().hits,
    );
    assert_eq!(hits, (2, 2));
}

/// The child side of [`nested_functions_of_one_name_have_their_own_directories`]: a no-op
/// unless started by it, with `$CACHER_DIR` set.
#[test]
fn child_of_default_directories() {
    if std::env::var_os("CACHER_TEST_NESTED_DIRS").is_none() {
        return;
    }
    fn default_usd(amount: u32) -> (String, Option<PathBuf>) {
        #[cached(backend = "file")]
        fn lookup(amount: u32) -> String {
            format!("{amount} in USD")
        }
        (lookup(amount), lookup_cache().path_of(&(amount,)))
    }
    fn default_eur(amount: u32) -> (String, Option<PathBuf>) {
        #[cached(backend = "file")]
        fn lookup(amount: u32) -> String {
            format!("{amount} in EUR")
        }
        (lookup(amount), lookup_cache().path_of(&(amount,)))
    }
    for (name, (value, path)) in [("usd", default_usd(1)), ("eur", default_eur(1))] {
        let path = path.expect("a file tier").display().to_string();
        println!("RESULT {name}={value}");
        println!("RESULT {name}_path={path}");
    }
}

#[test]
fn nested_functions_of_one_name_have_their_own_directories() {
    let base = tempfile::tempdir().unwrap();
    let child = spawn_self(
        &test_name!(child_of_default_directories),
        &[
            ("CACHER_TEST_NESTED_DIRS", "1".to_owned()),
            ("CACHER_DIR", base.path().display().to_string()),
        ],
    );
    let results = child_results(child);
    let get = |name: &str| {
        let found = results.iter().find(|(k, _)| k == name);
        found.map(|(_, v)| v.clone()).expect(name)
    };
    assert_eq!(get("usd"), "1 in USD");
    assert_eq!(get("eur"), "1 in EUR");
    // `<package>/<module path>/<enclosing function>/lookup/`, under `$CACHER_DIR`.
    let module: PathBuf = module_path!().split("::").collect();
    let under = |function: &str| {
        base.path()
            .join(env!("CARGO_PKG_NAME"))
            .join(&module)
            .join("child_of_default_directories")
            .join(function)
            .join("lookup")
    };
    assert!(Path::new(&get("usd_path")).starts_with(under("default_usd")));
    assert!(Path::new(&get("eur_path")).starts_with(under("default_eur")));
}

#[test]
fn same_named_functions_in_two_blocks_that_store_entries_are_refused() {
    let first = {
        #[cached(backend = "file", cache_dir = dir!("blocks"))]
        fn lookup(amount: u32) -> String {
            format!("{amount} in USD")
        }
        lookup
    };
    let second = {
        #[cached(backend = "file", cache_dir = dir!("blocks"))]
        fn lookup(amount: u32) -> String {
            format!("{amount} in EUR")
        }
        lookup
    };
    fresh(dir!("blocks"));
    // The compiler names both `...::same_named_..._refused::lookup`: the first one called
    // stores under that name, the other one refuses to read its entries, each time it is called.
    assert_eq!(first(1), "1 in USD");
    for _ in 0..2 {
        let message = panic_of(|| {
            second(1);
        });
        assert!(
            message.contains("would read each other's entries"),
            "{message}"
        );
        assert!(message.contains("rename one"), "{message}");
    }
    assert_eq!(first(1), "1 in USD");
}

#[test]
fn same_named_functions_in_two_blocks_in_memory_keep_their_own_values() {
    let first = {
        #[cached]
        fn lookup(amount: u32) -> String {
            format!("{amount} in USD")
        }
        lookup
    };
    let second = {
        #[cached]
        fn lookup(amount: u32) -> String {
            format!("{amount} in EUR")
        }
        lookup
    };
    assert_eq!(first(1), "1 in USD");
    assert_eq!(second(1), "1 in EUR");
}

// ---------------------------------------------------------------------------------------------
// Item 3: a method of a generic impl has one cache per type.

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

struct Api<R> {
    calls: Calls,
    region: PhantomData<R>,
}

fn api<R>() -> Api<R> {
    Api {
        calls: Calls::default(),
        region: PhantomData,
    }
}

impl<R: Region> Api<R> {
    #[cached]
    fn convert(&self, amount: u32) -> String {
        self.calls.hit();
        format!("{amount} in {}", R::NAME)
    }

    #[cached(backend = "file", keyer = "hash", cache_dir = dir!("generic"))]
    fn stored(&self, amount: u32) -> String {
        format!("{amount} in {}", R::NAME)
    }

    #[cached]
    async fn fetched(&self, amount: u32) -> String {
        tokio::task::yield_now().await;
        format!("{amount} in {}", R::NAME)
    }
}

#[test]
fn a_generic_impl_has_one_cache_per_type_in_memory() {
    let (dollars, euros) = (api::<Usd>(), api::<Eur>());
    assert_eq!(dollars.convert(1), "1 in USD");
    assert_eq!(euros.convert(1), "1 in EUR");
    assert_eq!(dollars.convert(1), "1 in USD");
    assert_eq!(euros.convert(1), "1 in EUR");
    assert_eq!((dollars.calls.count(), euros.calls.count()), (1, 1));
    assert_eq!(Api::<Usd>::convert_cache().stats().hits, 1);
    assert_eq!(Api::<Eur>::convert_cache().stats().hits, 1);
    let module = module_path!();
    assert_eq!(
        Api::<Usd>::convert_cache().namespace(),
        format!("{module}::Api<{module}::Usd>::convert")
    );
}

#[test]
fn a_generic_impl_has_one_cache_per_type_on_disk() {
    fresh(dir!("generic"));
    assert_eq!(api::<Usd>().stored(1), "1 in USD");
    assert_eq!(api::<Eur>().stored(1), "1 in EUR");
    assert_eq!(api::<Usd>().stored(1), "1 in USD");
    assert_ne!(
        Api::<Usd>::stored_cache().namespace(),
        Api::<Eur>::stored_cache().namespace()
    );
    // The types' caches share the `cache_dir`, their hashed names apart: neither overwrites
    // the other's entry.
    assert_eq!(Api::<Usd>::stored_cache().stats().hits, 1);
}

#[tokio::test]
async fn a_generic_impl_has_one_cache_per_type_for_async_methods() {
    assert_eq!(api::<Usd>().fetched(1).await, "1 in USD");
    assert_eq!(api::<Eur>().fetched(1).await, "1 in EUR");
    assert_eq!(Api::<Eur>::fetched_cache().stats().misses, 1);
}

// ---------------------------------------------------------------------------------------------
// Item 20: trait impls and associated functions.

trait Convert {
    fn convert_to(&self, amount: u32) -> String;
}

/// A method of a trait impl: `companion = false`, since a trait impl can hold no other item.
impl<R: Region> Convert for Api<R> {
    #[cached(companion = false)]
    fn convert_to(&self, amount: u32) -> String {
        self.calls.hit();
        format!("{amount} to {}", R::NAME)
    }
}

#[test]
fn methods_of_trait_impls_are_cached_once_per_type() {
    let (dollars, euros) = (api::<Usd>(), api::<Eur>());
    for _ in 0..2 {
        assert_eq!(dollars.convert_to(2), "2 to USD");
        assert_eq!(euros.convert_to(2), "2 to EUR");
    }
    assert_eq!((dollars.calls.count(), euros.calls.count()), (1, 1));
}

struct Rates;

static RATE_CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Rates {
    /// An associated function without `self`.
    #[cached]
    fn rate(code: &str) -> u32 {
        RATE_CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        code.len() as u32
    }
}

#[test]
fn associated_functions_without_self_are_cached() {
    assert_eq!(Rates::rate("USD"), 3);
    assert_eq!(Rates::rate("USD"), 3);
    assert_eq!(RATE_CALLS.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(Rates::rate_cache().stats().hits, 1);
    assert_eq!(
        Rates::rate_cache().namespace(),
        format!("{}::Rates::rate", module_path!())
    );
}

// Items in an anonymous `const _` (as derive macros write them), whose path the compiler prints
// with a `_` that is no generic argument.
const _: () = {
    impl Rates {
        #[cached(backend = "file", cache_dir = dir!("anonymous"))]
        fn in_anonymous_const(code: &str) -> u32 {
            code.len() as u32 * 10
        }
    }
};

#[test]
fn functions_in_an_anonymous_const_are_not_taken_for_generic_ones() {
    fresh(dir!("anonymous"));
    assert_eq!(Rates::in_anonymous_const("EUR"), 30);
    assert_eq!(Rates::in_anonymous_const("EUR"), 30);
    assert_eq!(Rates::in_anonymous_const_cache().stats().misses, 1);
}

impl Rates {
    #[cached(backend = "file", keyer = "hash", cache_dir = dir!("same_name"))]
    fn convert_to(&self, amount: u32) -> String {
        format!("{amount} by Rates")
    }
}

// The trait's method of one name, in an anonymous `const _`: another function.
const _: () = {
    impl Convert for Rates {
        #[cached(companion = false, backend = "file", keyer = "hash", cache_dir = dir!("same_name"))]
        fn convert_to(&self, amount: u32) -> String {
            format!("{amount} by Convert")
        }
    }
};

#[test]
fn a_trait_method_and_an_inherent_method_of_one_name_are_two_functions() {
    fresh(dir!("same_name"));
    assert_eq!(Rates.convert_to(1), "1 by Rates");
    assert_eq!(Convert::convert_to(&Rates, 1), "1 by Convert");
    assert_eq!(Rates.convert_to(1), "1 by Rates");
    assert_eq!(Convert::convert_to(&Rates, 1), "1 by Convert");
}

impl<R: Region> Api<R> {
    /// Without `self` in a generic impl: nothing tells `Api<Usd>` from `Api<Eur>`.
    #[cached]
    fn region_name(prefix: &str) -> String {
        format!("{prefix}{}", R::NAME)
    }
}

#[test]
fn associated_functions_of_generic_impls_are_refused_at_first_use() {
    for _ in 0..2 {
        let message = panic_of(|| {
            Api::<Usd>::region_name("in ");
        });
        assert!(
            message.contains("one cache would serve every type"),
            "{message}"
        );
        assert!(message.contains("take `&self`"), "{message}");
    }
}

trait Priced<R> {
    fn price(&self, amount: u32) -> String;
}

struct Money;

/// An impl of a generic trait whose type argument `Self` does not name.
impl<R: Region> Priced<R> for Money {
    #[cached(companion = false)]
    fn price(&self, amount: u32) -> String {
        format!("{amount} {}", R::NAME)
    }
}

#[test]
fn methods_of_generic_trait_impls_that_self_cannot_tell_apart_are_refused() {
    let message = panic_of(|| {
        <Money as Priced<Usd>>::price(&Money, 1);
    });
    assert!(message.contains("cannot tell them apart"), "{message}");
}

// ---------------------------------------------------------------------------------------------
// Item 20: arguments that hold references are keyed by their owned form.

#[cached]
fn greet(name: Option<&str>) -> String {
    format!("hello {}", name.unwrap_or("you"))
}

#[cached]
fn labelled(id: u32, label: (u32, &str)) -> String {
    format!("{id}:{}:{}", label.0, label.1)
}

#[cached(backend = "file", cache_dir = dir!("joined"))]
fn joined(words: Vec<&str>, separators: &[&str], pair: [&str; 2]) -> String {
    format!(
        "{}|{}|{}",
        words.join(" "),
        separators.join(""),
        pair.join("+")
    )
}

#[cached]
fn trimmed(text: Cow<'_, str>, tag: &Option<&str>) -> String {
    format!("{}{}", text.trim(), tag.unwrap_or(""))
}

#[test]
fn arguments_holding_references_are_keyed_by_their_owned_form() {
    assert_eq!(greet(Some("ann")), "hello ann");
    assert_eq!(greet(None), "hello you");
    assert_eq!(greet(Some("ann")), "hello ann");
    assert_eq!(greet_cache().stats().hits, 1);
    assert_eq!(
        greet_cache().get(&(Some("ann".to_owned()),)).as_deref(),
        Some("hello ann")
    );
    assert_eq!(labelled(1, (2, "a")), "1:2:a");
    assert_eq!(labelled(1, (2, "b")), "1:2:b");
    assert!(labelled_cache().get(&(1, (2, "a".to_owned()))).is_some());
    let owned = String::from("  x ");
    assert_eq!(trimmed(Cow::Borrowed(&owned), &Some("!")), "x!");
    assert_eq!(trimmed(Cow::Owned("  x ".into()), &Some("!")), "x!");
    assert_eq!(trimmed_cache().stats().hits, 1);
}

#[test]
fn arguments_holding_references_key_persistent_entries_as_their_owned_form() {
    fresh(dir!("joined"));
    let value = joined(vec!["a", "b"], &["-", "-"], ["x", "y"]);
    assert_eq!(value, "a b|--|x+y");
    assert_eq!(joined(vec!["a", "b"], &["-"], ["x", "y"]), "a b|-|x+y");
    let key = (
        vec!["a".to_owned(), "b".to_owned()],
        vec!["-".to_owned(), "-".to_owned()],
        ["x".to_owned(), "y".to_owned()],
    );
    let path = joined_cache().path_of(&key).expect("a file tier");
    assert!(path.exists(), "{path:?}");
    assert_eq!(joined_cache().get(&key).as_deref(), Some("a b|--|x+y"));
}

// ---------------------------------------------------------------------------------------------
// Item 20: a `Result` by another name.

#[derive(Clone, Debug, PartialEq)]
struct AppError;

type AppResult<T> = Result<T, AppError>;

#[cached(result = true)]
fn load(id: u32) -> AppResult<String> {
    if id == 0 {
        return Err(AppError);
    }
    Ok(format!("user {id}"))
}

#[cached(result = false)]
fn load_any(id: u32) -> AppResult<String> {
    if id == 0 {
        return Err(AppError);
    }
    Ok(format!("user {id}"))
}

#[cached(result = true)]
async fn load_async(id: u32) -> AppResult<String> {
    tokio::task::yield_now().await;
    if id == 0 {
        return Err(AppError);
    }
    Ok(format!("user {id}"))
}

mod lookup {
    pub type Result = std::result::Result<u32, super::AppError>;
}

/// `Result` without arguments: still named `Result`, so fallible.
#[cached]
fn parse_id(text: &str) -> lookup::Result {
    text.parse().map_err(|_| AppError)
}

#[test]
fn a_result_by_another_name_is_told_so_and_its_errors_are_not_cached() {
    assert_eq!(load(0), Err(AppError));
    assert_eq!(load(1), Ok("user 1".to_owned()));
    assert_eq!(load_cache().stats().stores, 1);
    assert_eq!(load_cache().get(&(1,)).as_deref(), Some("user 1"));
    assert!(load_cache().get(&(0,)).is_none());
    // `result = false`: every value is an answer, `Err` included.
    assert_eq!(load_any(0), Err(AppError));
    assert_eq!(load_any_cache().get(&(0,)), Some(Err(AppError)));
    assert_eq!(parse_id("x"), Err(AppError));
    assert_eq!(parse_id("7"), Ok(7));
    assert_eq!(parse_id_cache().stats().stores, 1);
}

#[tokio::test]
async fn an_async_result_by_another_name_does_not_cache_its_errors() {
    assert_eq!(load_async(0).await, Err(AppError));
    assert_eq!(load_async(2).await, Ok("user 2".to_owned()));
    assert_eq!(load_async_cache().stats().stores, 1);
}
