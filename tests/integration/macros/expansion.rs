//! The rules of the code `#[cached]` generates: what is in the key, what is cached, methods,
//! `#[cached(skip)]`, the companion `<name>_cache()`, names that must not clash, and each option
//! reaching the cache.
//!
//! Warnings are errors here (`#[deny(warnings)]` on this module, in `macros/mod.rs`): the code
//! `#[cached]` generates must compile warning-free, whatever the body looks like.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cacher::cached;
use cacher_tests::files_below;
use serde::{Deserialize, Serialize};

/// The cache directory of one function: an absolute path, fixed at compile time.
macro_rules! dir {
    ($name:literal) => {
        concat!(env!("CARGO_TARGET_TMPDIR"), "/macro_expansion/", $name)
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

fn count(runs: &AtomicUsize) -> usize {
    runs.load(Ordering::SeqCst)
}

// ---------------------------------------------------------------------------------------------
// Bodies

// A body on one line: were the expansion to nest the user's block in a block of its own, rustc
// would warn "unnecessary braces" on the user's braces (and `cargo fix` would break the build).
#[rustfmt::skip]
#[cached] fn on_one_line(n: u32) -> u32 { n }

#[rustfmt::skip]
#[cached] fn on_one_line_borrowed(text: &str) -> usize { text.len() }

#[rustfmt::skip]
#[cached] fn on_one_line_without_arguments() -> u32 { 7 }

#[rustfmt::skip]
#[cached] fn on_one_line_fallible(n: u32) -> Result<u32, String> { Ok(n) }

#[rustfmt::skip]
#[cached] fn on_one_line_unit(n: u32) {}

#[rustfmt::skip]
#[cached] async fn on_one_line_async(n: u32) -> u32 { n }

#[test]
fn one_line_bodies_compile_without_warnings() {
    assert_eq!(on_one_line(2), 2);
    assert_eq!(on_one_line(2), 2);
    assert_eq!(on_one_line_cache().stats().hits, 1);
    assert_eq!(on_one_line_borrowed("ab"), 2);
    assert_eq!(on_one_line_without_arguments(), 7);
    assert_eq!(on_one_line_fallible(4), Ok(4));
    on_one_line_unit(1);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(runtime.block_on(on_one_line_async(5)), 5);
}

// ---------------------------------------------------------------------------------------------
// Names

static CLASH_RUNS: AtomicUsize = AtomicUsize::new(0);

/// Arguments named like what the expansion could have used.
#[cached]
#[allow(clippy::too_many_arguments)]
fn clash(
    key: &str,
    cache: u32,
    f: u8,
    args: &str,
    value: bool,
    state: u8,
    serializer: u8,
    tuple: u8,
) -> String {
    CLASH_RUNS.fetch_add(1, Ordering::SeqCst);
    format!("{key} {cache} {f} {args} {value} {state} {serializer} {tuple}")
}

#[test]
fn arguments_may_have_any_name() {
    assert_eq!(clash("k", 1, 2, "a", true, 3, 4, 5), "k 1 2 a true 3 4 5");
    assert_eq!(clash("k", 1, 2, "a", true, 3, 4, 5), "k 1 2 a true 3 4 5");
    assert_eq!(clash("k", 1, 2, "a", false, 3, 4, 5), "k 1 2 a false 3 4 5");
    assert_eq!(count(&CLASH_RUNS), 2);
}

#[cached]
fn r#type(r#in: u32) -> u32 {
    r#in + 1
}

#[test]
fn raw_identifiers_work_and_name_the_companion_without_r_hash() {
    assert_eq!(r#type(1), 2);
    assert_eq!(r#type(1), 2);
    assert_eq!(type_cache().stats().hits, 1);
    assert_eq!(
        type_cache().namespace(),
        format!("{}::type", module_path!())
    );
}

mod api {
    use cacher::cached;

    /// A public function in a module: its companion is as visible as it is.
    #[cached]
    pub(crate) fn lookup(id: u32) -> String {
        format!("#{id}")
    }
}

#[test]
fn the_companion_has_the_function_s_visibility_and_namespace() {
    assert_eq!(api::lookup(7), "#7");
    assert_eq!(api::lookup_cache().stats().misses, 1);
    assert_eq!(
        api::lookup_cache().namespace(),
        format!("{}::api::lookup", module_path!())
    );
}

#[test]
fn functions_defined_inside_a_function_work() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    #[cached]
    fn local(n: u64) -> u64 {
        RUNS.fetch_add(1, Ordering::SeqCst);
        n * 2
    }
    assert_eq!(local(21), 42);
    assert_eq!(local(21), 42);
    assert_eq!(count(&RUNS), 1);
    assert_eq!(local_cache().stats().hits, 1);
}

// ---------------------------------------------------------------------------------------------
// The key

static CONFIG_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached]
fn config() -> String {
    CONFIG_RUNS.fetch_add(1, Ordering::SeqCst);
    "loaded".to_owned()
}

#[test]
fn a_function_without_arguments_runs_once() {
    assert_eq!(config(), "loaded");
    assert_eq!(config(), "loaded");
    assert_eq!(count(&CONFIG_RUNS), 1);
    // Its key is `()`.
    config_cache().remove(&()).unwrap();
    assert_eq!(config(), "loaded");
    assert_eq!(count(&CONFIG_RUNS), 2);
}

static TOTAL_RUNS: AtomicUsize = AtomicUsize::new(0);

/// Borrowed slices and owned values: the key is `(Vec<u32>, String)`.
#[cached]
fn total(values: &[u32], label: String) -> String {
    TOTAL_RUNS.fetch_add(1, Ordering::SeqCst);
    format!("{label}: {}", values.iter().sum::<u32>())
}

#[test]
fn borrowed_and_owned_arguments_key_by_their_owned_form() {
    assert_eq!(total(&[1, 2, 3], "sum".to_owned()), "sum: 6");
    assert_eq!(
        total(vec![1, 2, 3].as_slice(), String::from("sum")),
        "sum: 6"
    );
    assert_eq!(count(&TOTAL_RUNS), 1);
    let cache = total_cache();
    assert_eq!(
        cache.get(&(vec![1, 2, 3], "sum".to_owned())),
        Some("sum: 6".to_owned())
    );
    cache.remove(&(vec![1, 2, 3], "sum".to_owned())).unwrap();
    assert_eq!(total(&[1, 2, 3], "sum".to_owned()), "sum: 6");
    assert_eq!(count(&TOTAL_RUNS), 2);
}

static MUT_RUNS: AtomicUsize = AtomicUsize::new(0);

/// `mut` parameters are keyed by the value passed, then mutated by the body.
#[cached]
fn trimmed(mut text: &str, mut times: u32) -> String {
    MUT_RUNS.fetch_add(1, Ordering::SeqCst);
    let mut out = String::new();
    while times > 0 {
        text = text.trim_start_matches('-');
        out.push_str(text);
        times -= 1;
    }
    out
}

#[test]
fn mut_parameters_work_and_key_by_the_value_passed() {
    assert_eq!(trimmed("--ab", 2), "abab");
    assert_eq!(trimmed("--ab", 2), "abab");
    assert_eq!(count(&MUT_RUNS), 1);
    assert!(trimmed_cache().get(&("--ab".to_owned(), 2)).is_some());
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct Query {
    text: String,
    page: u32,
}

static SEARCH_RUNS: AtomicUsize = AtomicUsize::new(0);

/// A borrowed struct: the key holds a clone of it.
#[cached(backend = "file", cache_dir = dir!("search"))]
fn search(query: &Query) -> Vec<String> {
    SEARCH_RUNS.fetch_add(1, Ordering::SeqCst);
    vec![format!("{} p{}", query.text, query.page)]
}

#[test]
fn structs_are_keys_and_a_single_argument_is_named_in_the_file() {
    let dir = fresh(dir!("search"));
    let query = Query {
        text: "rust".to_owned(),
        page: 2,
    };
    assert_eq!(search(&query), vec!["rust p2".to_owned()]);
    assert_eq!(search(&query.clone()), vec!["rust p2".to_owned()]);
    assert_eq!(count(&SEARCH_RUNS), 1);
    let files = files_below(dir);
    assert_eq!(files.len(), 1);
    let name = files[0].to_str().unwrap();
    assert!(
        name.starts_with("(v2)query=") && name.ends_with(".json"),
        "{name}"
    );
    assert_eq!(search_cache().path_of(&(query,)), Some(dir.join(name)));
}

static FIB_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached]
fn fib(n: u64) -> u64 {
    FIB_RUNS.fetch_add(1, Ordering::SeqCst);
    if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
}

#[test]
fn recursive_functions_run_once_per_argument() {
    assert_eq!(fib(80), 23_416_728_348_467_685);
    assert_eq!(count(&FIB_RUNS), 81);
}

// ---------------------------------------------------------------------------------------------
// `#[cached(skip)]`

struct Client {
    base: &'static str,
}

/// Not `Clone`, not `Hash`, not `Serialize`: fine, it is skipped.
struct Connection {
    opened: u32,
}

static SKIP_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached]
fn fetch_with(
    #[cached(skip)] client: &Client,
    user_id: u32,
    #[cached(skip)] conn: Connection,
) -> String {
    SKIP_RUNS.fetch_add(1, Ordering::SeqCst);
    format!("{}/users/{user_id} via {}", client.base, conn.opened)
}

#[test]
fn skipped_arguments_are_passed_but_not_keyed() {
    let (a, b) = (Client { base: "https://a" }, Client { base: "https://b" });
    assert_eq!(
        fetch_with(&a, 1, Connection { opened: 1 }),
        "https://a/users/1 via 1"
    );
    // Another client and connection, same key: the cached value.
    assert_eq!(
        fetch_with(&b, 1, Connection { opened: 2 }),
        "https://a/users/1 via 1"
    );
    assert_eq!(count(&SKIP_RUNS), 1);
    // The key is `(u32,)`.
    assert!(fetch_with_cache().get(&(1,)).is_some());
}

#[cached]
fn described<T: std::fmt::Display>(#[cached(skip)] label: &T, id: u32) -> String {
    format!("{label}#{id}")
}

#[test]
fn generic_parameters_used_only_by_skipped_arguments_work() {
    assert_eq!(described(&"user", 3), "user#3");
    // Another label of the type, same key: the cached value.
    assert_eq!(described(&"admin", 3), "user#3");
    // A label of another type is another instance of the function: a cache of its own.
    assert_eq!(described(&42, 3), "42#3");
    assert_eq!(described_cache::<i32>().stats().misses, 1);
}

// A body that moves what it is given: a skipped argument taken by value or as `&mut`, `self` by
// value. Its closure is `FnOnce`, not the borrowing form a body of cloned and shared arguments
// gets (`__private::Borrowing`): each of these compiles only if the expansion tells them apart.

fn consumed(conn: Connection) -> u32 {
    conn.opened
}

#[cached]
fn opened_with(#[cached(skip)] conn: Connection, id: u32) -> u32 {
    consumed(conn) * 100 + id
}

#[cached]
fn written_to(#[cached(skip)] out: &mut Vec<u32>, id: u32) -> u32 {
    let out = out;
    out.push(id);
    out.len() as u32
}

/// A `Result` by another name: its body runs inside `Fallible`'s conversion.
type Answer<T> = Result<T, String>;

#[cached(result = true)]
fn opened_or_refused(#[cached(skip)] conn: Connection, id: u32) -> Answer<u32> {
    match consumed(conn) {
        0 => Err("closed".to_owned()),
        opened => Ok(opened * 100 + id),
    }
}

/// The borrowing form of a `Result` by another name's body (its arguments cloned in).
#[cached(result = true)]
fn doubled_answer(n: u32) -> Answer<u32> {
    match n {
        0 => Err("zero".to_owned()),
        n => Ok(n * 2),
    }
}

#[cached]
async fn opened_async(#[cached(skip)] conn: Connection, id: u32) -> u32 {
    tokio::task::yield_now().await;
    consumed(conn) * 100 + id
}

#[cached(send = false)]
async fn opened_locally(#[cached(skip)] conn: Connection, id: u32) -> u32 {
    let held = std::rc::Rc::new(conn);
    tokio::task::yield_now().await;
    held.opened * 100 + id
}

struct Label {
    text: String,
}

impl Label {
    #[cached]
    fn into_text(self, n: u32) -> String {
        let text = self.text;
        format!("{text}{n}")
    }
}

#[tokio::test]
async fn an_async_body_may_move_its_skipped_arguments() {
    assert_eq!(opened_async(Connection { opened: 6 }, 1).await, 601);
    assert_eq!(opened_async(Connection { opened: 7 }, 1).await, 601);
    assert_eq!(opened_locally(Connection { opened: 8 }, 1).await, 801);
    assert_eq!(opened_locally(Connection { opened: 9 }, 1).await, 801);
}

#[test]
fn a_body_may_move_its_skipped_arguments_and_self() {
    assert_eq!(opened_with(Connection { opened: 3 }, 1), 301);
    // Cached: another connection, the same key.
    assert_eq!(opened_with(Connection { opened: 4 }, 1), 301);
    let mut out = Vec::new();
    assert_eq!(written_to(&mut out, 7), 1);
    assert_eq!(written_to(&mut out, 7), 1, "the hit did not run the body");
    assert_eq!(out, [7]);
    assert_eq!(
        opened_or_refused(Connection { opened: 0 }, 2),
        Err("closed".to_owned())
    );
    assert_eq!(opened_or_refused(Connection { opened: 5 }, 2), Ok(502));
    assert_eq!(doubled_answer(4), Ok(8));
    assert_eq!(doubled_answer(0), Err("zero".to_owned()));
    assert_eq!(
        doubled_answer_cache().stats().misses,
        2,
        "an `Err` is not cached"
    );
    let label = |text: &str| Label {
        text: text.to_owned(),
    };
    assert_eq!(label("a").into_text(1), "a1");
    assert_eq!(label("b").into_text(1), "a1");
}

// ---------------------------------------------------------------------------------------------
// Methods

struct Api {
    name: &'static str,
    calls: u32,
}

static METHOD_RUNS: AtomicUsize = AtomicUsize::new(0);

impl Api {
    /// `self` is not part of the key: one cache serves every `Api`.
    #[cached]
    fn get(&self, endpoint: &str) -> String {
        METHOD_RUNS.fetch_add(1, Ordering::SeqCst);
        format!("{}{endpoint}", self.name)
    }

    #[cached]
    fn bump(&mut self, n: u32) -> u32 {
        self.calls += 1;
        n * 2
    }

    #[cached]
    fn into_name(self, suffix: &str) -> String {
        format!("{}{suffix}", self.name)
    }

    #[cached]
    async fn get_async(&self, endpoint: &str) -> Result<String, String> {
        tokio::task::yield_now().await;
        Ok(format!("{}{endpoint}", self.name))
    }
}

#[test]
fn methods_share_one_cache_across_instances() {
    let (first, second) = (
        Api {
            name: "one",
            calls: 0,
        },
        Api {
            name: "two",
            calls: 0,
        },
    );
    assert_eq!(first.get("/posts"), "one/posts");
    assert_eq!(second.get("/posts"), "one/posts");
    assert_eq!(count(&METHOD_RUNS), 1);
    assert_eq!(Api::get_cache().stats().hits, 1);
    assert_eq!(
        Api::get_cache().namespace(),
        format!("{}::Api::get", module_path!())
    );
}

#[test]
fn mut_self_and_self_methods_work() {
    let mut api = Api {
        name: "x",
        calls: 0,
    };
    assert_eq!(api.bump(2), 4);
    assert_eq!(api.bump(2), 4);
    assert_eq!(api.calls, 1, "the hit did not run the body");
    assert_eq!(
        Api {
            name: "a",
            calls: 0
        }
        .into_name("!"),
        "a!"
    );
    assert_eq!(
        Api {
            name: "b",
            calls: 0
        }
        .into_name("!"),
        "a!"
    );
}

struct Tokens;

impl Tokens {
    fn ttl(value: &u32) -> Option<Duration> {
        Some(Duration::from_secs(if *value == 0 { 0 } else { 60 }))
    }

    /// An associated function whose option names `Self`: the cache is built where `Self` is
    /// seen (a nested `fn` would not see it).
    #[cached(ttl_fn = Self::ttl)]
    fn issue(user: u32) -> u32 {
        user * 10
    }
}

#[test]
fn an_option_may_name_self_in_an_impl() {
    assert_eq!(Tokens::issue(0), 0);
    assert_eq!(Tokens::issue(2), 20);
    assert_eq!(Tokens::issue(2), 20);
    // A zero ttl is stored nowhere: only `2` is a hit.
    assert_eq!(Tokens::issue(0), 0);
    let stats = Tokens::issue_cache().stats();
    assert_eq!((stats.hits, stats.misses), (1, 3));
}

#[tokio::test]
async fn async_methods_work() {
    let api = Api {
        name: "async",
        calls: 0,
    };
    assert_eq!(api.get_async("/a").await, Ok("async/a".to_owned()));
    assert_eq!(api.get_async("/a").await, Ok("async/a".to_owned()));
    assert_eq!(Api::get_async_cache().stats().hits, 1);
}

// ---------------------------------------------------------------------------------------------
// What is cached

static OPTION_RUNS: AtomicUsize = AtomicUsize::new(0);

/// `None` is an answer: it is cached like `Some`.
#[cached]
fn find(id: u32) -> Option<String> {
    OPTION_RUNS.fetch_add(1, Ordering::SeqCst);
    (id == 1).then(|| "one".to_owned())
}

#[test]
fn none_is_cached() {
    assert_eq!(find(2), None);
    assert_eq!(find(2), None);
    assert_eq!(find(1), Some("one".to_owned()));
    assert_eq!(count(&OPTION_RUNS), 2);
    assert_eq!(find_cache().get(&(2,)), Some(None));
}

#[derive(Debug, PartialEq)]
enum AppError {
    BadNumber,
}

impl From<std::num::ParseIntError> for AppError {
    fn from(_: std::num::ParseIntError) -> Self {
        AppError::BadNumber
    }
}

static PARSE_RUNS: AtomicUsize = AtomicUsize::new(0);

/// `?` converts errors as in any function, and `return` returns.
#[cached]
fn parse(text: &str) -> Result<u32, AppError> {
    PARSE_RUNS.fetch_add(1, Ordering::SeqCst);
    if text.is_empty() {
        return Ok(0);
    }
    let n: u32 = text.parse()?;
    Ok(n * 2)
}

#[test]
fn question_mark_and_return_work_and_errors_are_not_cached() {
    assert_eq!(parse("21"), Ok(42));
    assert_eq!(parse("21"), Ok(42));
    assert_eq!(parse(""), Ok(0));
    assert_eq!(parse("x"), Err(AppError::BadNumber));
    assert_eq!(parse("x"), Err(AppError::BadNumber));
    assert_eq!(count(&PARSE_RUNS), 4);
    assert_eq!(parse_cache().stats().stores, 2);
}

/// The idiomatic alias, named `Result` as `io::Result` and `anyhow::Result` are.
mod app {
    pub type Result<T> = std::result::Result<T, super::AppError>;
}

#[cached]
fn read_len(path: &str) -> std::io::Result<usize> {
    std::fs::read(path).map(|bytes| bytes.len())
}

#[cached]
async fn parse_async(text: &str) -> app::Result<u32> {
    tokio::task::yield_now().await;
    Ok(text.parse::<u32>()? + 1)
}

#[tokio::test]
async fn result_aliases_are_fallible() {
    assert!(read_len("/nonexistent/cacher/file").is_err());
    assert_eq!(read_len_cache().stats().stores, 0);
    assert_eq!(parse_async("1").await, Ok(2));
    assert_eq!(parse_async("z").await, Err(AppError::BadNumber));
    assert_eq!(parse_async_cache().stats().stores, 1);
}

static UNIT_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached]
fn warm_up(level: u8) {
    UNIT_RUNS.fetch_add(1, Ordering::SeqCst);
    let _ = level;
}

#[test]
fn unit_functions_run_once_per_arguments() {
    warm_up(1);
    warm_up(1);
    assert_eq!(count(&UNIT_RUNS), 1);
}

// ---------------------------------------------------------------------------------------------
// Options reaching the cache

static COMPANION_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached]
fn posts(endpoint: &str, user_id: u32, sort: &str) -> usize {
    COMPANION_RUNS.fetch_add(1, Ordering::SeqCst);
    endpoint.len() + user_id as usize + sort.len()
}

#[test]
fn the_companion_gives_stats_clear_and_remove() {
    let cache = posts_cache();
    assert_eq!(posts("/posts", 1, "asc"), 10);
    assert_eq!(posts("/posts", 2, "asc"), 11);
    assert_eq!(posts("/posts", 1, "asc"), 10);
    assert_eq!(count(&COMPANION_RUNS), 2);
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses, stats.stores), (1, 2, 2));

    cache
        .remove(&("/posts".to_owned(), 1, "asc".to_owned()))
        .unwrap();
    assert_eq!(posts("/posts", 1, "asc"), 10);
    assert_eq!(posts("/posts", 2, "asc"), 11);
    assert_eq!(
        count(&COMPANION_RUNS),
        3,
        "only the removed entry ran again"
    );

    cache.clear().unwrap();
    assert_eq!(posts("/posts", 1, "asc"), 10);
    assert_eq!(posts("/posts", 2, "asc"), 11);
    assert_eq!(count(&COMPANION_RUNS), 5);
}

static TIER_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(backend = ["memory", "file"], formatter = "postcard", version = 3, cache_dir = dir!("tiers"))]
fn tiered(n: u32) -> Vec<u32> {
    TIER_RUNS.fetch_add(1, Ordering::SeqCst);
    vec![n; 3]
}

#[test]
fn a_memory_tier_in_front_of_files_serves_hits() {
    let dir = fresh(dir!("tiers"));
    assert_eq!(tiered(5), vec![5, 5, 5]);
    let files = files_below(dir);
    // A version's entries live in a directory of their own.
    assert_eq!(files, vec![Path::new("v=3/(v2)n=5.postcard").to_path_buf()]);
    // Served from memory even once the file is gone.
    std::fs::remove_file(dir.join(&files[0])).unwrap();
    assert_eq!(tiered(5), vec![5, 5, 5]);
    assert_eq!(count(&TIER_RUNS), 1);
}

static VERSION_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(backend = "file", formatter = "bincode", version = "2024-06", durable = true, cache_dir = dir!("versioned"))]
fn versioned(n: u32) -> u32 {
    VERSION_RUNS.fetch_add(1, Ordering::SeqCst);
    n * 3
}

#[test]
fn version_formatter_and_durable_reach_the_file_tier() {
    let dir = fresh(dir!("versioned"));
    assert_eq!(versioned(2), 6);
    assert_eq!(versioned(2), 6);
    assert_eq!(count(&VERSION_RUNS), 1);
    assert_eq!(
        files_below(dir),
        vec![Path::new("v=2024-06/(v2)n=2.bin").to_path_buf()]
    );
}

static BOUNDED_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cached(max_entries = 2)]
fn bounded(n: u32) -> u32 {
    BOUNDED_RUNS.fetch_add(1, Ordering::SeqCst);
    n
}

#[test]
fn max_entries_bounds_the_memory_tier() {
    bounded(1);
    bounded(2);
    bounded(1); // 1 is now the most recently used
    bounded(3); // evicts 2
    assert_eq!(count(&BOUNDED_RUNS), 3);
    bounded(1);
    assert_eq!(count(&BOUNDED_RUNS), 3, "1 was kept");
    bounded(2);
    assert_eq!(count(&BOUNDED_RUNS), 4, "2 was evicted");
}

static STALE_RUNS: AtomicUsize = AtomicUsize::new(0);

// As in `walkthrough`, a short ttl and one sleep: the static runs on the system clock.
#[cached(ttl = "200ms", stale_if_error = "1h")]
fn stale(id: u32) -> Result<u32, String> {
    if STALE_RUNS.fetch_add(1, Ordering::SeqCst) == 0 {
        Ok(id)
    } else {
        Err("down".to_owned())
    }
}

#[test]
fn stale_if_error_serves_an_expired_entry_when_the_function_fails() {
    assert_eq!(stale(9), Ok(9));
    std::thread::sleep(Duration::from_millis(250));
    assert_eq!(stale(9), Ok(9), "the expired entry was served");
    assert_eq!(count(&STALE_RUNS), 2, "the function ran, and failed");
    assert_eq!(stale_cache().stats().stale_served, 1);
}
