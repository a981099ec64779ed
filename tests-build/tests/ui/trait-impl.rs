use cacher::cached;

trait Provider {
    fn fetch(&self, id: u32) -> String;
}

struct Http;

// A trait impl holds only its trait's items: the companion `fetch_cache()` cannot be added.
impl Provider for Http {
    #[cached]
    fn fetch(&self, id: u32) -> String {
        format!("#{id}")
    }
}

struct Ftp;

// What to write: no companion (see the runtime tests for it working).
impl Provider for Ftp {
    #[cached(companion = false)]
    fn fetch(&self, id: u32) -> String {
        format!("#{id}")
    }
}

fn main() {
    let _ = Http.fetch(1);
    let _ = Ftp.fetch(1);
}
