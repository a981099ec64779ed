use cacher::cached;

struct Client;

impl Client {
    #[cached]
    fn skip_self(#[cached(skip)] &self, id: u32) -> u32 {
        id
    }
}

#[cached]
fn misspelt(#[cached(skipp)] client: &Client, id: u32) -> u32 {
    let _ = client;
    id
}

#[cached]
fn bare(#[cached] client: &Client, id: u32) -> u32 {
    let _ = client;
    id
}

#[cached]
fn with_value(#[cached(skip = true)] client: &Client, id: u32) -> u32 {
    let _ = client;
    id
}

#[cached]
fn twice(
    #[cached(skip)]
    #[cached(skip)]
    client: &Client,
    id: u32,
) -> u32 {
    let _ = client;
    id
}

#[cached]
fn pattern((a, b): (u32, u32)) -> u32 {
    a + b
}

#[cached]
fn mutable_borrow(buffer: &mut Vec<u8>, id: u32) -> u32 {
    buffer.push(1);
    id
}

#[cached]
fn shadows_companion(shadows_companion_cache: u32) -> u32 {
    shadows_companion_cache
}

fn main() {}
