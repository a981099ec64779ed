use cacher::cached;

// `key = …`: an expression whose value is no key, and a skip that does nothing, each one error.

struct Document {
    id: u64,
}

#[cached(key = doc)]
fn size(doc: &Document) -> u64 {
    doc.id
}

#[cached(key = id)]
fn skipped(id: u64, #[cached(skip)] verbose: bool) -> u64 {
    if verbose { id } else { 0 }
}

fn main() {}
