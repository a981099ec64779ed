use std::borrow::Cow;

use cacher::cached;

// The cache hands out clones of what it keeps, beyond the call: a value cannot borrow.
#[cached]
fn first_word(text: &str) -> &str {
    text.split(' ').next().unwrap_or("")
}

#[cached]
fn maybe_word(text: &str) -> Option<&str> {
    text.split(' ').next()
}

#[cached]
fn trimmed<'a>(text: &'a str) -> Cow<'a, str> {
    Cow::Borrowed(text.trim())
}

// Only what is stored counts: the `Ok` value of a `Result`.
#[cached]
fn parsed(text: &str) -> Result<&str, String> {
    Ok(text)
}

// A `'static` value is owned enough, and the `Err` of a `Result` is never stored.
#[cached]
fn label(n: u32) -> &'static str {
    if n == 0 { "zero" } else { "many" }
}

#[cached]
fn checked(text: &str) -> Result<u32, &'static str> {
    text.parse().map_err(|_| "not a number")
}

fn main() {
    let _ = label(1);
    let _ = checked("1");
}
