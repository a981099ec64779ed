use cacher::cached;

#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize)]
struct Point {
    x: i32,
}

impl Point {
    #[cached]
    fn distance(&self, other: &Self) -> u32 {
        self.x.abs_diff(other.x)
    }

    #[cached]
    fn moved(&self, dx: i32) -> Self {
        Point { x: self.x + dx }
    }

    // Naming the type works, and so does `Self` in a skipped argument.
    #[cached]
    fn distance_to(&self, other: &Point, #[cached(skip)] _log: &Self) -> u32 {
        self.x.abs_diff(other.x)
    }
}

fn main() {}
