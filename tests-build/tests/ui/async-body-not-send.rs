// An async `#[cached]` function's body is boxed as `Send`, so that the call's future is; a body
// that holds something not `Send` across an `.await`, or a method's that uses a `self` that is
// not `Sync`, is an error which ends by saying what to write (`send = false`; for a recursive
// body, a function that boxes the call as `Send`). trybuild's cacher
// has no `tokio` feature, without which `#[cached]` on an `async fn` is that feature's error
// alone: the cases box a body as the expansion does (held by `Borrowing` when its closure only
// borrows, by an `Option` when it may move what it captures: the same errors).
use std::cell::Cell;
use std::rc::Rc;

use cacher::__private::{
    Borrowing, Spend, a_recursive_call_goes_through_a_fn_returning_pin_box_dyn_future_send,
    erase_send, for_a_body_not_send_write_cached_send_false,
};

async fn fetch() {}

async fn held_across_an_await(id: u32) -> u32 {
    let mut body = Borrowing(|| async move {
        let held = Rc::new(id);
        fetch().await;
        *held
    });
    erase_send(for_a_body_not_send_write_cached_send_false(&mut body))().await
}

struct Meter {
    calls: Cell<u32>,
}

impl Meter {
    async fn read(&self, id: u32) -> u32 {
        let mut body = Borrowing(|| async move {
            fetch().await;
            self.calls.get() + id
        });
        erase_send(for_a_body_not_send_write_cached_send_false(&mut body))().await
    }
}

// A recursive body (the expansion sees its function named in it) fails whatever it holds:
// rustc cannot prove the function's own future `Send` inside the function.
async fn fib(n: u64) -> u64 {
    let mut body = Borrowing(|| async move {
        if n < 2 {
            return n;
        }
        Box::pin(fib(n - 1)).await + Box::pin(fib(n - 2)).await
    });
    let body = a_recursive_call_goes_through_a_fn_returning_pin_box_dyn_future_send(&mut body);
    erase_send(body)().await
}

// A body that moves a skipped argument (its closure `FnOnce`, held by an `Option`).
async fn moved_across_an_await(held: Rc<u32>) -> u32 {
    let mut body = Some({
        let spend = Spend;
        || {
            spend.spend();
            async move {
                let held = held;
                fetch().await;
                *held
            }
        }
    });
    erase_send(for_a_body_not_send_write_cached_send_false(&mut body))().await
}

fn main() {
    let _ = held_across_an_await(1);
    let meter = Meter { calls: Cell::new(0) };
    let _ = meter.read(1);
    let _ = fib(1);
    let _ = moved_across_an_await(Rc::new(1));
}
