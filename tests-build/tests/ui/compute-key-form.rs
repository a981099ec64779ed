use cacher::Cache;

// The computing methods take the key itself, or a `&str` for a `String` key: a key with
// borrowed parts, which the plain-store methods take, is one error that says what to pass.

fn main() {
    let cache: Cache<(String, u32), String> = Cache::builder().build().unwrap();
    let endpoint = "/posts";
    let _ = cache.get_or_compute(&(endpoint, 1), || "posts".to_string());
    let _ = cache.get(&(endpoint, 1)); // a plain-store method takes it
    let _ = cache.get_or_compute(&(endpoint.to_string(), 1), || "posts".to_string());

    let names: Cache<String, u32> = Cache::builder().build().unwrap();
    let owned = String::from("ann");
    let _ = names.get_or_compute(&owned, || 1);
    let _ = names.get_or_compute("ann", || 1);
    // A `&str` variable is passed as itself.
    let name: &str = "ann";
    let _ = names.get_or_compute(&name, || 1);
    let _ = names.get_or_compute(name, || 1);
    let _ = names.try_get_or_compute(&(owned.as_str(),), || Ok::<u32, ()>(1));
}
