//! An async method that takes `self` by value (`self: Arc<Self>`, the receiver of async code that
//! spawns, or a `Clone` type's `self`) and keys by it (`key = (self.base.as_str(), id)`, as the
//! README keys a client by its base URL). The synchronous method compiled; the async one did not:
//! rustc's "cannot move out of `self` because it is borrowed", pointing at the attribute, since
//! the body (an `async move` block) owns `self` while the key borrows it for the lookup. The key
//! is now made from a clone of the receiver.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use cacher::cached;

static CALLS: AtomicUsize = AtomicUsize::new(0);

struct Client {
    base: String,
}

impl Client {
    #[cached(key = (self.base.as_str(), id))]
    async fn get(self: Arc<Self>, id: u32) -> String {
        CALLS.fetch_add(1, SeqCst);
        format!("{}/{id}", self.base)
    }
}

#[derive(Clone)]
struct Region {
    code: String,
}

impl Region {
    #[cached(key = (self.code.as_str(), cents), key_type = "(String, u64)")]
    async fn price(self, cents: u64) -> String {
        format!("{} {cents}", self.code)
    }
}

#[tokio::test]
async fn an_async_method_keyed_by_its_owned_self_serves_each_instance_its_own_value() {
    let a = Arc::new(Client {
        base: "https://a".into(),
    });
    let b = Arc::new(Client {
        base: "https://b".into(),
    });
    assert_eq!(Arc::clone(&a).get(1).await, "https://a/1");
    assert_eq!(Arc::clone(&b).get(1).await, "https://b/1");
    assert_eq!(Arc::clone(&a).get(1).await, "https://a/1");
    assert_eq!(
        CALLS.load(SeqCst),
        2,
        "the second call of `a` was not a hit"
    );
    let eur = Region { code: "EUR".into() };
    let usd = Region { code: "USD".into() };
    assert_eq!(eur.clone().price(5).await, "EUR 5");
    assert_eq!(usd.price(5).await, "USD 5");
    assert_eq!(eur.price(5).await, "EUR 5");
    assert_eq!(Region::price_cache().stats().hits, 1);
}
