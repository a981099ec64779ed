use cacher::cached;

// Floats have neither `Eq` nor `Hash`: one error that says so, and what to key on instead.

#[cached]
fn convert(amount: f64) -> String {
    format!("{amount:.2}")
}

#[cached]
fn scaled(id: u32, factor: f32) -> u32 {
    (id as f32 * factor) as u32
}

#[cached]
fn total(prices: &[f64]) -> u64 {
    prices.len() as u64
}

#[cached]
fn rounded(amount: Option<f64>) -> u64 {
    amount.unwrap_or_default() as u64
}

// Under another name, the compiler's error, whose note names floats.
type Price = f64;

#[cached]
fn priced(price: Price) -> u64 {
    price as u64
}

// Skipped, a float is fine.
#[cached]
fn skipped(id: u32, #[cached(skip)] weight: f64) -> u64 {
    (f64::from(id) * weight) as u64
}

fn main() {
    let _ = skipped(1, 0.5);
}
