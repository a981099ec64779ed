use cacher::cached;

// Thirteen key arguments: one more than a tuple key can hash.
#[cached]
fn total(a: u32, b: u32, c: u32, d: u32, e: u32, f: u32, g: u32, h: u32, i: u32, j: u32, k: u32, l: u32, m: u32) -> u32 {
    a + b + c + d + e + f + g + h + i + j + k + l + m
}

// Twelve key arguments and one skipped: fine.
#[cached]
fn twelve(a: u32, b: u32, c: u32, d: u32, e: u32, f: u32, g: u32, h: u32, i: u32, j: u32, k: u32, l: u32, #[cached(skip)] m: u32) -> u32 {
    a + b + c + d + e + f + g + h + i + j + k + l + m
}

fn main() {
    let _ = total(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13);
    let _ = twelve(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13);
}
