use cacher::cached;

// `key = …` is checked as code: a name that is no argument is rustc's own error, at the name.

#[cached(key = (id, page))]
fn list(id: u64) -> u64 {
    id
}

fn main() {}
