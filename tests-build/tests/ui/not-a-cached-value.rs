use cacher::cached;

// Not `Clone`: the cache returns clones of what it keeps.
struct Connection {
    id: u32,
}

#[cached]
fn connect(id: u32) -> Connection {
    Connection { id }
}

// `Clone`, but neither `Send` nor `Sync`: the cache is shared by threads. One error, the value's
// (the static that keeps the cache added two more, listing cacher's private types).
#[cached]
fn counter(id: u32) -> std::rc::Rc<u32> {
    std::rc::Rc::new(id)
}

// The same in a file tier: the value's error and the tier's (it stores what it serialises), not
// the tier's `Send` and `Sync` bounds again (four errors before).
#[cached(backend = "file")]
fn counter_file(id: u32) -> std::rc::Rc<u32> {
    std::rc::Rc::new(id)
}

fn main() {
    let _ = connect(1).id;
    let _ = counter(1);
    let _ = counter_file(1);
}
