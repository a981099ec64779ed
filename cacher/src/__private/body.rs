//! The body of a `#[cached]` function on its way to the cache: behind a `dyn`, so that the
//! cache's lookup and miss path are compiled once for every function of one key and return type
//! instead of once per function (whose closure, and an `async fn`'s future, are types of their
//! own; compile time, docs/BENCHMARKS.md).
//!
//! A blocking body is a closure called through [`Compute`] ([`erase`]). An async body's future is
//! boxed as well: as `Send` by default ([`AsyncBody`], [`erase_send`]), so that the call's future
//! is `Send` for a spawning runtime; with `send = false`, as it is ([`boxed_local`], [`erase`]),
//! for a body that holds something not `Send` across an `.await` (run on a `LocalSet`).
//!
//! The closure is held by [`Borrowing`] when it only borrows what it captures (its by-value
//! arguments are cloned inside it): it is then called through `FnMut`, and a function compiles
//! its body alone. One that may move what it captures (an argument left out of the key taken by
//! value or as `&mut`, `self` other than `&self`: `Func::body_borrows` in the attribute) is
//! `FnOnce` only, held by an `Option` that the call takes it out of:
//! a function more (`Option::take`) per `#[cached]` function, for the functions that need it.

use std::future::Future;
use std::pin::Pin;

use super::Fallible;

/// The body of a `#[cached]` function, which the cache calls at most once.
pub trait Compute<R> {
    /// Runs the body.
    fn call(&mut self) -> R;
}

impl<R, F: FnOnce() -> R> Compute<R> for Option<F> {
    fn call(&mut self) -> R {
        match self.take() {
            Some(compute) => compute(),
            None => called_twice(),
        }
    }
}

/// The body of a `#[cached]` function whose closure only borrows what it captures (its
/// by-value arguments are cloned inside it, `self` is a shared reference, no argument left out
/// of the key is taken by value or as `&mut`): called through `FnMut`, so that a function
/// compiles its body alone, without the `Option` around it and its `take` (`Option<F>`'s
/// form, for a body that may move what it captures). The cache calls it once all the same
/// (its miss path takes the body out of an `Option` of its own).
pub struct Borrowing<F>(pub F);

impl<R, F: FnMut() -> R> Compute<R> for Borrowing<F> {
    #[inline]
    fn call(&mut self) -> R {
        (self.0)()
    }
}

/// A body called twice: a bug of the cache. Not `expect`, which would be one more copy per
/// function (compile time).
#[cold]
fn called_twice() -> ! {
    panic!("a cache calls its compute at most once")
}

/// The body of a `#[cached]` function behind a `dyn`, as a closure whose type depends on its
/// return type only: functions of one key and return type then share the cache's code for a
/// lookup, instead of each compiling its own for its closure's type. The body is called through
/// a pointer on a miss only.
pub fn erase<R>(compute: &mut dyn Compute<R>) -> impl FnOnce() -> R + '_ {
    move || compute.call()
}

/// An async body's future, boxed, `Send`: its type depends on its output only.
pub type SendBody<'c, R> = Pin<Box<dyn Future<Output = R> + Send + 'c>>;

/// An async body's future, boxed, under `send = false`.
pub type LocalBody<'c, R> = Pin<Box<dyn Future<Output = R> + 'c>>;

/// The closure of an async body, which makes its future, boxed as `Send`, at most once.
pub trait AsyncBody<'c, R>: Send {
    /// Runs the body: its future, boxed.
    fn call(&mut self) -> SendBody<'c, R>;
}

impl<'c, C, F> AsyncBody<'c, F::Output> for Option<C>
where
    C: FnOnce() -> F + Send,
    F: Future + Send + 'c,
{
    fn call(&mut self) -> SendBody<'c, F::Output> {
        match self.take() {
            Some(body) => crate::future::pinned(Box::new(body())),
            None => called_twice(),
        }
    }
}

impl<'c, C, F> AsyncBody<'c, F::Output> for Borrowing<C>
where
    C: FnMut() -> F + Send,
    F: Future + Send + 'c,
{
    fn call(&mut self) -> SendBody<'c, F::Output> {
        crate::future::pinned(Box::new((self.0)()))
    }
}

/// What holds an async body's closure: `Option<C>` for a closure that may move what it
/// captures, [`Borrowing<C>`] for one that only borrows (no `Option` to take it out of). It tells
/// the two functions below the closure `C` it holds, whose bounds (the closure's `Send`, its
/// future's) are then written once for both holders: a body that is not `Send` gets the same
/// errors either way, each ending with the function's name.
pub trait Holds<C> {}

impl<C> Holds<C> for Option<C> {}

impl<C> Holds<C> for Borrowing<C> {}

/// An async body's closure (which must be `Send`) and future (which must be `Send` too) behind
/// a `dyn`, for [`erase_send`]. Named for the errors of a body that is not: rustc's "future
/// cannot be sent between threads safely" (and "… cannot be shared between threads safely", for
/// a method of a type that is not `Sync`) then ends with "required by a bound in
/// `for_a_body_not_send_write_cached_send_false`", which says what to write.
pub fn for_a_body_not_send_write_cached_send_false<'c, H, C, F>(
    body: &'c mut H,
) -> &'c mut (dyn AsyncBody<'c, F::Output> + 'c)
where
    H: Holds<C> + AsyncBody<'c, F::Output> + 'c,
    C: FnOnce() -> F + Send + 'c,
    F: Future + Send + 'c,
{
    body
}

/// [`for_a_body_not_send_write_cached_send_false`], for a body that names its own function (a
/// recursive one): rustc cannot prove a function's own future `Send` inside the function, so a
/// call of itself through `Box::pin` is an error there whatever the body holds, and this name,
/// which that error ends with, says the way that keeps the call's future `Send`.
pub fn a_recursive_call_goes_through_a_fn_returning_pin_box_dyn_future_send<'c, H, C, F>(
    body: &'c mut H,
) -> &'c mut (dyn AsyncBody<'c, F::Output> + 'c)
where
    H: Holds<C> + AsyncBody<'c, F::Output> + 'c,
    C: FnOnce() -> F + Send + 'c,
    F: Future + Send + 'c,
{
    body
}

/// [`erase`], for an async body that is `Send`: a closure whose type depends on the body's
/// output only, and which is `Send` (so is the call's future).
pub fn erase_send<'c, R>(
    body: &'c mut (dyn AsyncBody<'c, R> + 'c),
) -> impl FnOnce() -> SendBody<'c, R> + Send + 'c {
    move || body.call()
}

/// An async body's future, boxed, as it is (`send = false`).
pub fn boxed_local<'c, F: Future + 'c>(body: F) -> LocalBody<'c, F::Output> {
    pinned_local(Box::new(body))
}

/// `crate::future::pinned`, for a body's future under `send = false`: one function per output
/// type, not `Box::pin` per body.
fn pinned_local<'c, R>(body: Box<dyn Future<Output = R> + 'c>) -> LocalBody<'c, R> {
    Box::into_pin(body)
}

/// Runs the body of a function that returns a `Result` by another name, as a `Result`.
pub fn fallible<R: Fallible>(compute: impl FnOnce() -> R) -> Result<R::Ok, R::Err> {
    compute().into_result()
}

/// [`fallible`], for the body of an `async fn`.
pub async fn fallible_async<R: Fallible>(
    compute: impl Future<Output = R>,
) -> Result<R::Ok, R::Err> {
    compute.await.into_result()
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use super::*;

    fn same_type<T>(_: &T, _: &T) {}

    #[test]
    fn an_erased_body_runs_once_and_its_type_depends_on_its_return_type_only() {
        let calls = Cell::new(0);
        let mut first = Some(|| {
            calls.set(calls.get() + 1);
            7_u64
        });
        let mut second = Some(|| 8_u64);
        let erased = erase(&mut first);
        let other = erase(&mut second);
        // Two bodies, one type (this does not compile otherwise): what the cache instantiates
        // for one serves both.
        same_type(&erased, &other);
        assert_eq!(erased(), 7);
        assert_eq!(calls.get(), 1);
        let mut spent: Option<fn() -> u64> = None;
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Compute::call(&mut spent)));
        assert!(result.is_err(), "a body is called at most once");
    }

    fn ready<T>(future: impl Future<Output = T>) -> T {
        match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(value) => value,
            Poll::Pending => panic!("the body waited"),
        }
    }

    fn sendable<T: Send>(value: T) -> T {
        value
    }

    #[test]
    fn erased_async_bodies_are_one_type_send_or_local_and_run_their_own_future() {
        let (one, two) = (String::from("one"), String::from("two"));
        let (mut first, mut second) = (
            Some(|| async { one.len() }),
            Some(|| async { two.len() * 2 }),
        );
        let first = erase_send(for_a_body_not_send_write_cached_send_false(&mut first));
        let second = erase_send(for_a_body_not_send_write_cached_send_false(&mut second));
        same_type(&first, &second);
        let first = sendable(first);
        assert_eq!((ready(first()), ready(second())), (3, 6));

        let held = std::rc::Rc::new(5_usize);
        let mut local = Some(|| boxed_local(async { *held }));
        let mut other = Some(|| boxed_local(async { 1_usize }));
        let (local, other) = (erase(&mut local), erase(&mut other));
        same_type(&local, &other);
        assert_eq!((ready(local()), ready(other())), (5, 1));
    }
}
