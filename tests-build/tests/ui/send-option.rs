use cacher::cached;

// `send` is about an async function's body.

#[cached(send = false)]
fn not_async(n: u32) -> u32 {
    n
}

// A refresh in the background is a task, whose future must be `Send` (the `tokio` feature's
// error comes with it: trybuild's cacher has none).

#[cached(ttl = "1h", stale_while_revalidate = "10m", send = false)]
async fn refreshed_locally(n: u32) -> u32 {
    n
}

#[cached(send = "no")]
async fn not_a_boolean(n: u32) -> u32 {
    n
}

fn main() {
    let _ = not_async(1);
}
