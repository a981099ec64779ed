use cacher::cached;

#[cached(ttl = "soon")]
fn not_a_duration(n: u32) -> u32 {
    n
}

#[cached(ttl = "2 fortnights")]
fn unknown_unit(n: u32) -> u32 {
    n
}

#[cached(rate_limit = "0s")]
fn zero(n: u32) -> u32 {
    n
}

#[cached(ttl = 3600)]
fn seconds_as_a_number(n: u32) -> u32 {
    n
}

// A number of seconds in a string: the unit it needs, with that number.
#[cached(ttl = "3600")]
fn seconds_without_a_unit(n: u32) -> u32 {
    n
}

fn main() {}
