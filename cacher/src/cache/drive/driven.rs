//! The async call's future: the cache's steps (an engine, a future per cache type and key form)
//! beside the function's own future, which is the only part typed by the function.
//!
//! An `async` miss used to be one state machine per *function*: the function's future was held
//! inside the driver's, so every step of the driver (the tiers' reads and writes, the waits,
//! the lock, a controlled call's plan) was compiled again for each `#[cached]` async function.
//! Here the engine never holds the function's future: when it needs the function's value, it
//! asks for it through a [`Relay`] and waits; [`Driven`], which holds both, runs the function
//! and hands its value back. `Driven`'s poll (and its drop) is all that is compiled per
//! function type: a `#[cached]` function's future comes boxed (`__private::body`), `Send` unless
//! `send = false`, so that it is one type for every function of one key and value type. The
//! call's future is `Send` when the function's is; the relay, shared by the two, is one
//! allocation per async miss (none on a hit).

use std::borrow::BorrowMut;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tracing::Span;

use super::relay::Relay;
use crate::cache::flight::{Running, Stepping};

/// How an async call begins ([`Driven`]'s first poll): a value at once (a memory hit), or the
/// engine that goes on, with the relay it asks the function's value through.
pub(crate) enum Begun<V, G> {
    /// The call's value, without the engine.
    Done(V),
    /// The engine (its output: whether the call has a value, which the relay then holds,
    /// [`Relay::hand_back`]; `false` when the function failed and nothing took its place, whose
    /// error the caller's future kept).
    Engine(G, Arc<Relay<V>>),
}

pin_project_lite::pin_project! {
    /// An async call: begins with `begin` (a hit ends it there), then polls the engine, and runs
    /// the function (`compute`, whose output `answer` reads as the value or the error) when the
    /// engine asks. Its poll is the only part of an async call compiled per function: what
    /// does not name the function's types is [`Steps`]'.
    pub(crate) struct Driven<B, G, V, E, A, D, S, F, Fut> {
        #[pin]
        steps: Steps<G, V, E>,
        // The function's future while it runs.
        #[pin]
        running: Option<Fut>,
        begin: Option<B>,
        // `Option<F>`, or a borrow of the caller's, which gets it back if it did not run.
        compute: S,
        // Functions (items, not pointers: inlined) that read the function's output as its value
        // or error, and hand the call's result on.
        answer: A,
        finish: D,
        _compute: std::marker::PhantomData<fn() -> F>,
    }

    // A call dropped while the function runs drops the function's future first, in the span of
    // its run, then the engine (which lets the key's flight go): as when the run was the
    // engine's innermost await, in an `Instrumented` future. A caller waiting for the key does
    // not run the function beside a cancelled run that still holds what it took, and what the
    // function's future logs as it is dropped is in the run's span.
    impl<B, G, V, E, A, D, S, F, Fut> PinnedDrop for Driven<B, G, V, E, A, D, S, F, Fut> {
        #[allow(
            clippy::redundant_pattern_matching,
            reason = "`Option::is_some` would compile a function more per function's future"
        )]
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(_) = *this.running {
                drop_running(this.steps, this.running);
            }
        }
    }
}

/// [`Driven`]'s function's future dropped while it runs, in the span of its run: out of line,
/// so that the drop of a call that ended (a hit's, every call's but a cancelled run's) is
/// small enough to be inlined.
#[cold]
#[inline(never)]
fn drop_running<G, V, E, Fut>(steps: Pin<&mut Steps<G, V, E>>, mut running: Pin<&mut Option<Fut>>) {
    let _entered = steps.entered();
    running.set(None);
}

pin_project_lite::pin_project! {
    /// [`Driven`]'s engine (boxed by the cache's calls) and what it keeps beside it: a copy
    /// per value and error type.
    struct Steps<G, V, E> {
        #[pin]
        engine: Option<G>,
        // Beside the engine, from the call's start on.
        side: Option<Side<V, E>>,
    }
}

/// What [`Steps`] keeps beside the engine: one `Option` for the three, so that a call that
/// ended at its start (a hit) drops two empty slots, not four.
struct Side<V, E> {
    relay: Arc<Relay<V>>,
    // The function's error, kept while the engine looks for a value to serve instead.
    error: Option<E>,
    // The span of the function's run, entered at each of its polls.
    span: Option<Span>,
}

/// What the engine's poll came to.
enum Polled<V, E> {
    /// The call's end.
    Done(Result<V, E>),
    /// The engine asks for the function's run.
    Run,
    /// The engine waits.
    Pending,
}

impl<G, V, E> Steps<G, V, E> {
    /// The span of the function's run, entered (none before the engine began, or between
    /// runs).
    fn entered(self: Pin<&mut Self>) -> Option<tracing::span::Entered<'_>> {
        // `match`es: `?`, `as_ref` and `map` are each a function more per value type in a debug
        // build (compile time).
        match self.project().side {
            Some(Side {
                span: Some(span), ..
            }) => Some(span.enter()),
            _ => None,
        }
    }
}

impl<G, V, E> Steps<G, V, E>
where
    G: Future<Output = bool>,
{
    /// The call begun: its value if it ended there, else its engine kept.
    #[inline]
    fn begin(self: Pin<&mut Self>, begun: Begun<V, G>) -> Option<V> {
        match begun {
            Begun::Done(value) => Some(value),
            Begun::Engine(engine, relay) => {
                self.started(engine, relay);
                None
            }
        }
    }

    fn started(self: Pin<&mut Self>, engine: G, relay: Arc<Relay<V>>) {
        let mut this = self.project();
        this.engine.set(Some(engine));
        *this.side = Some(Side {
            relay,
            error: None,
            span: None,
        });
    }

    fn side(side: &mut Option<Side<V, E>>) -> &mut Side<V, E> {
        match side {
            Some(side) => side,
            None => super::broken("a relay beside the engine"),
        }
    }

    /// This call, as the flights know it ([`Stepping`], [`Running`]): its relay's address (0
    /// before the engine began).
    fn call(self: Pin<&mut Self>) -> usize {
        match self.project().side {
            Some(side) => Arc::as_ptr(&side.relay).addr(),
            None => 0,
        }
    }

    /// Polls the engine.
    fn poll_engine(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Polled<V, E> {
        let _stepping = Stepping::enter(self.as_mut().call());
        let mut this = self.project();
        let engine = match this.engine.as_mut().as_pin_mut() {
            Some(engine) => engine,
            None => super::broken("polled after its end"),
        };
        let gave = match engine.poll(cx) {
            Poll::Ready(gave) => gave,
            Poll::Pending => {
                let side = Self::side(this.side);
                return match side.relay.asked() {
                    Some(span) => {
                        side.span = span;
                        Polled::Run
                    }
                    None => Polled::Pending,
                };
            }
        };
        this.engine.set(None);
        let side = Self::side(this.side);
        Polled::Done(match gave {
            true => match side.relay.take() {
                Some(value) => Ok(value),
                None => super::broken("the call's value in the relay, when the engine has one"),
            },
            false => match side.error.take() {
                Some(error) => Err(error),
                None => super::broken("the function's error, when the engine has none"),
            },
        })
    }

    /// The function's run ended with `result`: its value for the engine, or its error kept.
    fn answered(self: Pin<&mut Self>, result: Result<V, E>) {
        let side = Self::side(self.project().side);
        side.span = None;
        side.relay.answer(match result {
            Ok(value) => Some(value),
            Err(error) => {
                side.error = Some(error);
                None
            }
        });
    }
}

/// An async call ([`Driven`]): `begin` on its first poll, `compute` when the engine asks,
/// its output read by `answer`, the call's result handed on through `finish`.
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn driven<B, G, V, E, A, D, S, F, Fut>(
    begin: B,
    compute: S,
    answer: A,
    finish: D,
) -> Driven<B, G, V, E, A, D, S, F, Fut>
where
    B: FnOnce() -> Begun<V, G>,
    G: Future<Output = bool>,
    S: BorrowMut<Option<F>>,
    F: FnOnce() -> Fut,
    Fut: Future,
    A: Fn(Fut::Output) -> Result<V, E>,
{
    Driven {
        steps: Steps {
            engine: None,
            side: None,
        },
        running: None,
        begin: Some(begin),
        compute,
        answer,
        finish,
        _compute: std::marker::PhantomData,
    }
}

impl<B, G, V, E, A, D, T, S, F, Fut> Future for Driven<B, G, V, E, A, D, S, F, Fut>
where
    B: FnOnce() -> Begun<V, G>,
    G: Future<Output = bool>,
    S: BorrowMut<Option<F>>,
    F: FnOnce() -> Fut,
    Fut: Future,
    A: Fn(Fut::Output) -> Result<V, E>,
    D: Fn(Result<V, E>) -> T,
{
    type Output = T;

    // Inline in optimised builds: its first poll is the async hit.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut this = self.project();
        if let Some(begin) = this.begin.take()
            && let Some(value) = this.steps.as_mut().begin(begin())
        {
            return Poll::Ready((this.finish)(Ok(value)));
        }
        match run(this.steps, this.running, this.compute, this.answer, cx) {
            Poll::Ready(result) => Poll::Ready((this.finish)(result)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// [`Driven`]'s poll after its start: the engine polled, and the function run when it asks.
/// Apart from the start (`begin`, typed by the cache's key and key form), so that it is one copy
/// per value type (compile time).
fn run<G, V, E, A, S, F, Fut>(
    mut steps: Pin<&mut Steps<G, V, E>>,
    mut running: Pin<&mut Option<Fut>>,
    compute: &mut S,
    answer: &A,
    cx: &mut Context<'_>,
) -> Poll<Result<V, E>>
where
    G: Future<Output = bool>,
    S: BorrowMut<Option<F>>,
    F: FnOnce() -> Fut,
    Fut: Future,
    A: Fn(Fut::Output) -> Result<V, E>,
{
    loop {
        if let Some(future) = running.as_mut().as_pin_mut() {
            // A wait polled from the function for a flight this call leads is its own.
            let _running = Running::enter(steps.as_mut().call());
            let entered = steps.as_mut().entered();
            let Poll::Ready(output) = future.poll(cx) else {
                return Poll::Pending;
            };
            // Its end (a hand-written future may hold more) in the span too.
            running.set(None);
            drop(entered);
            steps.as_mut().answered(answer(output));
        }
        match steps.as_mut().poll_engine(cx) {
            Polled::Done(result) => return Poll::Ready(result),
            Polled::Run => {
                let compute = match compute.borrow_mut().take() {
                    Some(compute) => compute,
                    None => super::broken("the miss path computes at most once"),
                };
                running.set(Some(compute()));
            }
            Polled::Pending => return Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::identity;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Wake, Waker};

    use super::*;
    use crate::cache::drive::Turned;

    /// Pending once, waking itself: a wait of the engine's or of the function's own.
    struct Yield(bool);

    impl Future for Yield {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if std::mem::replace(&mut self.0, true) {
                return Poll::Ready(());
            }
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    /// Counts its wakes.
    struct Wakes(AtomicUsize);

    impl Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A call whose engine waits before and after it asks for the run (and serves `fallback`
    /// if the function failed), its function waiting once before `function`: its output, after
    /// a poll for each wake, every `Pending` having left a wake behind (none is a hang).
    fn call(
        function: Result<u32, &'static str>,
        fallback: Option<u32>,
    ) -> Result<u32, &'static str> {
        let relay = Arc::new(Relay::new());
        let engine = {
            let relay = Arc::clone(&relay);
            async move {
                Yield(false).await;
                let gave = relay.turns().run(None).await;
                let value = gave.then(|| relay.take()).flatten();
                Yield(false).await;
                relay.hand_back(value.or(fallback).ok_or(()))
            }
        };
        let compute = move || async move {
            Yield(false).await;
            function
        };
        let begin = move || Begun::Engine(engine, relay);
        let mut call = std::pin::pin!(driven(begin, Some(compute), identity, identity));
        let wakes = Arc::new(Wakes(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&wakes));
        for polls in 1..10 {
            if let Poll::Ready(out) = call.as_mut().poll(&mut Context::from_waker(&waker)) {
                return out;
            }
            let woken = wakes.0.swap(0, Ordering::SeqCst);
            assert_eq!(woken, 1, "poll {polls}: pending with nothing to wake it");
        }
        panic!("the call never ended")
    }

    #[test]
    fn the_engine_gets_the_functions_value_and_no_pending_is_left_unwoken() {
        assert_eq!(call(Ok(1), None), Ok(1));
        assert_eq!(call(Ok(1), Some(7)), Ok(1));
    }

    #[test]
    fn the_functions_error_is_the_calls_unless_the_engine_serves_a_value_instead() {
        assert_eq!(call(Err("down"), None), Err("down"));
        assert_eq!(call(Err("down"), Some(7)), Ok(7));
    }
}
