use cacher::cached;

// `companion = false` is kept when another option is wrong (one that cannot be read, one that
// breaks a rule between options): the function is expanded with the default plan then, so that
// its calls compile, but without the companion it refused, which a trait impl cannot hold. One
// mistake, one error, not one more that says to write what is written.

trait Provider {
    fn fetch(&self, id: u32) -> String;
}

struct Ftp;

impl Provider for Ftp {
    #[cached(companion = false, ttl = "soon")]
    fn fetch(&self, id: u32) -> String {
        format!("#{id}")
    }
}

struct Http;

impl Provider for Http {
    #[cached(companion = false, key_type = "u32")]
    fn fetch(&self, id: u32) -> String {
        format!("#{id}")
    }
}

fn main() {
    let _ = Ftp.fetch(1);
    let _ = Http.fetch(1);
}
