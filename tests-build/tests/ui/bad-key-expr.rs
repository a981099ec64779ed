use cacher::cached;

// `key = …`: an expression whose value is no key, a skip that does nothing, a type where the
// expression goes (`cached`'s `key = "String"`), and an expression over no argument (every call
// would share one entry): each one error.

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

#[cached(key = "String")]
fn typed(n: u32) -> u32 {
    n * 2
}

#[cached(key = 1)]
fn constant(n: u32) -> u32 {
    n * 2
}

fn main() {}
