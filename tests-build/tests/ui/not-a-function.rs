use cacher::cached;

#[cached]
struct Client {
    url: String,
}

#[cached(backend = "file")]
enum Mode {
    Fast,
}

trait Api {
    #[cached]
    fn fetch(&self, id: u32) -> String;
}

fn main() {}
