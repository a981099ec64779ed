//! `cargo run --example quickstart`
//!
//! The main job on the embedded default: a slow stand-in for a remote API, cached to a local file
//! cache (no server). It prints how long a miss and a hit take and where the entry went. Run it
//! twice: the second run is answered by the file the first one wrote.

use std::time::{Duration, Instant};

use cacher::cached;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Post {
    id: u32,
    user_id: u32,
    title: String,
}

#[derive(Debug)]
struct ApiError(String);

/// Stands in for a remote API: slow, and sometimes failing.
#[cached(backend = "file", formatter = "json", ttl = "1d", rate_limit = "1s")]
fn fetch_from_api(endpoint: &str, user_id: u32, sort: &str) -> Result<Vec<Post>, ApiError> {
    println!("  … calling the API at {endpoint} for user {user_id}, sorted {sort}");
    std::thread::sleep(Duration::from_millis(800));
    if endpoint.is_empty() {
        return Err(ApiError("no endpoint".into()));
    }
    Ok((1..=3)
        .map(|id| Post {
            id,
            user_id,
            title: format!("post {id} of user {user_id}"),
        })
        .collect())
}

fn timed<T>(label: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let value = f();
    println!("{label}: {:.1?}", start.elapsed());
    value
}

fn main() -> Result<(), ApiError> {
    tracing_subscriber::fmt().with_env_filter("warn").init();
    let cache = fetch_from_api_cache();
    let key = ("/posts".to_string(), 1, "asc".to_string());
    let from_earlier_run = cache.get(&key).is_some();
    cache.reset_stats();

    let posts = timed("first call ", || fetch_from_api("/posts", 1, "asc"))?;
    let again = timed("second call", || fetch_from_api("/posts", 1, "asc"))?;
    assert_eq!(posts.len(), again.len());

    if from_earlier_run {
        println!("(the first call was a hit too: an earlier run left the entry on disk)");
    }
    let path = cache.path_of(&key).expect("a file backend has paths");
    println!("entry: {}", path.display());
    println!("{} posts, e.g. {:?}", posts.len(), posts[0]);

    // Errors are returned and never cached. The call waits for its `rate_limit` slot first (one
    // start a second): its time is the wait's too.
    let label = "a failing call (its rate_limit slot waited for)";
    match timed(label, || fetch_from_api("", 1, "asc")) {
        Err(ApiError(message)) => println!("  → Err({message:?}), returned and not stored"),
        Ok(_) => unreachable!("an empty endpoint fails"),
    }

    let stats = cache.stats();
    println!(
        "stats: {} hits, {} misses, {} stores, {} errors",
        stats.hits, stats.misses, stats.stores, stats.errors
    );
    println!(
        "run it again, or delete {} to start over",
        cache_root(&path).display()
    );
    Ok(())
}

/// The function's cache directory: the entry's parent.
fn cache_root(entry: &std::path::Path) -> &std::path::Path {
    entry.parent().unwrap_or(entry)
}
