use cacher::cached;

// Not `Clone`: the cache returns clones of what it keeps.
struct Connection {
    id: u32,
}

#[cached]
fn connect(id: u32) -> Connection {
    Connection { id }
}

fn main() {
    let _ = connect(1).id;
}
