use cacher::cached;

#[cached(backend = "file", namespace = "")]
fn empty(n: u32) -> u32 {
    n
}

#[cached(backend = "file", namespace = "users/fetch")]
fn slash(n: u32) -> u32 {
    n
}

#[cached(backend = "file", namespace = "app.users fetch")]
fn dot_and_space(n: u32) -> u32 {
    n
}

#[cached(backend = "file", namespace = "::users")]
fn leading_separator(n: u32) -> u32 {
    n
}

#[cached(backend = "file", namespace = "users:fetch")]
fn single_colon(n: u32) -> u32 {
    n
}

#[cached(backend = "file", namespace = users)]
fn not_a_string(n: u32) -> u32 {
    n
}

// A memory cache lives and dies with its process: there is nothing to keep across a move.
#[cached(namespace = "users::fetch")]
fn memory_only(n: u32) -> u32 {
    n
}

// Other libraries' word for it.
#[cached(backend = "file", prefix = "users")]
fn prefixed(n: u32) -> u32 {
    n
}

fn main() {}
