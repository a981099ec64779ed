use std::collections::HashMap;

use cacher::cached;

// A `HashMap` has no `Hash`: the error says to take a `BTreeMap`.
#[cached]
fn count(words: HashMap<String, u32>) -> usize {
    words.len()
}

fn main() {
    let _ = count(HashMap::new());
}
