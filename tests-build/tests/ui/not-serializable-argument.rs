use cacher::cached;

#[derive(Clone, PartialEq, Eq, Hash)]
struct Query {
    text: String,
}

// Key arguments are serialised (for file names and hashes), with any backend.
#[cached]
fn search(query: Query, page: u32) -> Vec<String> {
    vec![format!("{} {page}", query.text)]
}

// A borrowed argument: the error names the type behind the reference.
#[cached(backend = "file")]
fn search_ref(page: u32, query: &Query) -> Vec<String> {
    vec![format!("{} {page}", query.text)]
}

fn main() {}
