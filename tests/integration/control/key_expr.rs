//! `#[cached(key = …)]`: a call keyed by an expression over its arguments and `self`.

use std::sync::atomic::{AtomicUsize, Ordering};

use cacher::{Origin, cached};
use serde::Serialize;

static RUNS: AtomicUsize = AtomicUsize::new(0);

struct Client {
    base_url: String,
    /// Not part of the key: a client with other settings shares its entries.
    retries: u32,
}

impl Client {
    #[cached(key = (self.base_url.as_str(), endpoint))]
    fn get(&self, endpoint: &str) -> String {
        RUNS.fetch_add(1, Ordering::SeqCst);
        format!("{}{endpoint} ({} retries)", self.base_url, self.retries)
    }
}

#[test]
fn clients_with_other_base_urls_never_share_entries() {
    let a = Client {
        base_url: "https://a".into(),
        retries: 1,
    };
    let b = Client {
        base_url: "https://b".into(),
        retries: 1,
    };
    let a_again = Client {
        base_url: "https://a".into(),
        retries: 9,
    };
    assert_eq!(a.get("/posts"), "https://a/posts (1 retries)");
    assert_eq!(b.get("/posts"), "https://b/posts (1 retries)");
    assert_eq!(
        a_again.get("/posts"),
        "https://a/posts (1 retries)",
        "same key"
    );
    assert_eq!(
        Client::get_cache().lookup(|| b.get("/posts")).origin,
        Origin::Hit
    );
    Client::get_cache()
        .remove(&("https://a", "/posts"))
        .unwrap();
    assert_eq!(Client::get_cache().peek(&("https://a", "/posts")), None);
    assert!(Client::get_cache().peek(&("https://b", "/posts")).is_some());
}

#[derive(Clone, Serialize)]
struct Document {
    id: u64,
    /// Large, and no key: neither `Hash` nor `Eq`.
    body: Vec<f64>,
}

#[cached(key = doc.id)]
fn summarize(doc: &Document) -> usize {
    doc.body.len()
}

#[cached(key = doc.id, backend = "file", cache_dir = concat!(env!("CARGO_TARGET_TMPDIR"), "/control/owned_document"))]
fn summarize_owned(doc: Document, label: &str) -> String {
    let Document { id, body } = doc;
    format!("{label} {id}: {}", body.len())
}

#[test]
fn an_argument_that_is_no_key_is_keyed_by_a_part_of_it() {
    let doc = Document {
        id: 7,
        body: vec![0.5; 3],
    };
    assert_eq!(summarize(&doc), 3);
    let edited = Document {
        id: 7,
        body: vec![],
    };
    assert_eq!(summarize(&edited), 3, "keyed by its id alone");
    assert_eq!(summarize_cache().peek(&7u64), Some(3));

    let _ = summarize_owned_cache().clear();
    assert_eq!(summarize_owned(doc.clone(), "a"), "a 7: 3");
    assert_eq!(
        summarize_owned(doc, "b"),
        "a 7: 3",
        "label is not in the key"
    );
    let path = summarize_owned_cache().path_of(&7u64).expect("a file tier");
    assert!(
        path.exists() && path.to_string_lossy().contains("7"),
        "{path:?}"
    );
}

#[cfg(feature = "tokio")]
mod async_key {
    use super::*;

    impl Client {
        #[cached(key = (self.base_url.as_str(), id))]
        async fn load(&self, id: u32) -> String {
            tokio::task::yield_now().await;
            format!("{}#{id}", self.base_url)
        }
    }

    #[tokio::test]
    async fn async_methods_take_a_key_expression_too() {
        let a = Client {
            base_url: "https://a".into(),
            retries: 0,
        };
        let b = Client {
            base_url: "https://b".into(),
            retries: 0,
        };
        assert_eq!(a.load(1).await, "https://a#1");
        assert_eq!(b.load(1).await, "https://b#1");
        assert_eq!(
            Client::load_cache().lookup_async(a.load(1)).await.origin,
            Origin::Hit
        );
    }
}

struct TypedClient {
    base_url: String,
}

impl TypedClient {
    #[cached(key = (self.base_url.as_str(), id), key_type = "(String, u32)")]
    fn get(&self, id: u32) -> String {
        RUNS.fetch_add(1, Ordering::SeqCst);
        format!("{}/{id}", self.base_url)
    }
}

#[test]
fn a_key_type_makes_the_key_typed_and_its_store_methods_checked() {
    let a = TypedClient {
        base_url: "https://a".into(),
    };
    let b = TypedClient {
        base_url: "https://b".into(),
    };
    assert_eq!(a.get(1), "https://a/1");
    assert_eq!(b.get(1), "https://b/1");
    assert_eq!(
        TypedClient::get_cache().lookup(|| a.get(1)).origin,
        Origin::Hit
    );
    // The key is `(String, u32)`: an integer literal takes the key's type.
    assert_eq!(
        TypedClient::get_cache().peek(&("https://a", 1)).as_deref(),
        Some("https://a/1")
    );
    TypedClient::get_cache().remove(&("https://a", 1)).unwrap();
    assert_eq!(TypedClient::get_cache().peek(&("https://a", 1)), None);
}

static GREETS: AtomicUsize = AtomicUsize::new(0);

/// Keyed by a `&str` argument alone, as a `String`: the expression's value is a `&str`.
#[cached(key = name, key_type = "String")]
fn greet(name: &str, punctuation: char) -> String {
    GREETS.fetch_add(1, Ordering::SeqCst);
    format!("hello {name}{punctuation}")
}

#[test]
fn a_str_argument_is_a_form_of_a_string_key_type() {
    assert_eq!(greet("ann", '!'), "hello ann!");
    // The punctuation is not in the key: the first value stays.
    assert_eq!(greet("ann", '?'), "hello ann!");
    assert_eq!(GREETS.load(Ordering::SeqCst), 1);
    // The store methods take the same forms: a `&str` variable too.
    let name: &str = "ann";
    assert_eq!(greet_cache().peek(&name).as_deref(), Some("hello ann!"));
    greet_cache().remove(name).unwrap();
    assert_eq!(greet("ann", '?'), "hello ann?");
    assert_eq!(GREETS.load(Ordering::SeqCst), 2);
}

static LABELS: AtomicUsize = AtomicUsize::new(0);

/// The key `cached`'s `convert = { format!(…) }` ports to, written with the arguments inline in
/// the format string (`{name}`), as the attribute's own error for `convert` suggests: the
/// arguments are seen there, and the by-value `String` still reaches the body.
#[cached(key = format!("{name}#{n:>3}"), key_type = "String")]
fn label(name: String, n: u32, note: &str) -> String {
    LABELS.fetch_add(1, Ordering::SeqCst);
    format!("{name}-{n}{note}")
}

#[test]
fn a_key_that_names_the_arguments_inside_a_format_string_keys_by_them() {
    assert_eq!(label("a".into(), 1, "!"), "a-1!");
    assert_eq!(label("a".into(), 2, "!"), "a-2!");
    assert_eq!(label("b".into(), 1, "!"), "b-1!");
    // The note is in no key: the first value of ("a", 1) stays.
    assert_eq!(label("a".into(), 1, "?"), "a-1!");
    assert_eq!(LABELS.load(Ordering::SeqCst), 3);
    assert_eq!(label_cache().peek("a#  2").as_deref(), Some("a-2!"));
}
