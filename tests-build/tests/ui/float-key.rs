use cacher::cached;

// A float argument is a key (`cacher::Float`, equal by bits); a float inside another type is one
// error that says what to write instead.

#[cached]
fn convert(amount: f64, factor: &f32) -> String {
    format!("{:.2}", amount * f64::from(*factor))
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
    let _ = convert(1.0, &2.0);
}
