use cacher::cached;

// A typo: the closest option is suggested.
#[cached(bakend = "file")]
fn typo(n: u32) -> u32 {
    n
}

// A name from another caching library: what #[cached] calls it.
#[cached(time = "1h")]
fn renamed(n: u32) -> u32 {
    n
}

// `cached`'s flag for a disk cache: what #[cached] writes instead.
#[cached(disk = true)]
fn on_disk(n: u32) -> u32 {
    n
}

// `cached`'s flags that cacher needs no counterpart of: the error says why.
#[cached(unbound)]
fn unbound(n: u32) -> u32 {
    n
}

#[cached(map_error = r##"|e| format!("{e:?}")"##)]
fn mapped(n: u32) -> Result<u32, String> {
    Ok(n)
}

// Nothing close: the options are listed.
#[cached(colour = "blue")]
fn stranger(n: u32) -> u32 {
    n
}

// An option without its value.
#[cached(ttl)]
fn no_value(n: u32) -> u32 {
    n
}

fn main() {
    // The functions and their companions still exist.
    typo(1);
    renamed(1);
    on_disk(1);
    stranger(1);
    no_value(1);
    unbound(1);
    let _ = mapped(1);
    let _ = typo_cache().stats();
}
