use std::rc::Rc;

use cacher::cached;

// `Rc<str>` is `Serialize`, `Hash`, `Eq` and `Clone`, but neither `Send` nor `Sync`: the cache is
// shared by threads. One error, the argument's, saying to take an `Arc` or an owned type.
#[cached]
fn greet(name: Rc<str>) -> String {
    format!("hello {name}")
}

fn main() {
    let _ = greet(Rc::from("you"));
}
