// A function that returns a future: its output is what to cache, through `async fn` (the
// error names what to write, with the output type; the `tokio` feature's error comes after).
use std::future::Future;
use std::pin::Pin;

use cacher::cached;

#[cached]
fn impl_future(n: u64) -> impl Future<Output = u64> {
    async move { n }
}

#[cached]
fn boxed_future(n: u64) -> Pin<Box<dyn Future<Output = u64> + Send>> {
    Box::pin(async move { n })
}

fn main() {
    let _ = impl_future(1);
    let _ = boxed_future(1);
}
