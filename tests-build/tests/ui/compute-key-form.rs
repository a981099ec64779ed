use cacher::Cache;

// The computing methods take every form of the key that `get` takes: the key itself, a `&str`
// for a `String`, a tuple with borrowed parts. A form of another key is one error that names
// the key type.

fn main() {
    let cache: Cache<(String, u32), String> = Cache::builder().build().unwrap();
    let endpoint = "/posts";
    let _ = cache.get_or_compute(&(endpoint, 1), || "posts".to_string());
    let _ = cache.get(&(endpoint, 1));
    let _ = cache.get_or_compute(&(endpoint.to_string(), 1), || "posts".to_string());
    let _ = cache.try_get_or_compute(&(endpoint, 2), || Ok::<String, ()>("two".to_string()));

    let names: Cache<String, u32> = Cache::builder().build().unwrap();
    let owned = String::from("ann");
    let _ = names.get_or_compute(&owned, || 1);
    let _ = names.get_or_compute("ann", || 1);
    let name: &str = "ann";
    let _ = names.get_or_compute(&name, || 1);
    let _ = names.get_or_compute(name, || 1);

    // Not a form of `(String, u32)`: the second part is a string.
    let _ = cache.get_or_compute(&(endpoint, "one"), || "posts".to_string());
}
