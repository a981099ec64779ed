// An async `#[cached]` function's body is boxed as `Send`, so that the call's future is; a body
// that holds something not `Send` across an `.await` is an error which ends by saying what to
// write (`send = false`). trybuild's cacher has no `tokio` feature, without which `#[cached]` on
// an `async fn` is that feature's error alone: the case boxes a body as the expansion does.
use std::rc::Rc;

async fn fetch() {}

async fn user(id: u32) -> u32 {
    let body = cacher::__private::for_a_body_not_send_write_cached_send_false(async move {
        let held = Rc::new(id);
        fetch().await;
        *held
    });
    body.await
}

fn main() {
    let _ = user(1);
}
