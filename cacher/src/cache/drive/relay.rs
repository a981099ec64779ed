//! Where an async call's engine asks for the function's run and gets its value back, and hands
//! the call's value to the caller at its end: a [`Relay`], shared by the engine and the caller's
//! future ([`Driven`](super::driven::Driven)), which runs the function. Whose turn it is
//! ([`Turns`]) is untyped: the engine's loop that awaits it is compiled once (`drive::driver`);
//! the values are handed over beside it.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use tracing::Span;

/// Where the engine asks for the function's run and gets its value back: whose turn it is
/// ([`Turns`], untyped, which the engine's loop awaits), and the value handed over.
pub(crate) struct Relay<V> {
    turns: Turns,
    value: Mutex<Option<V>>,
}

/// Whose move it is on a [`Relay`]: the part the engine's loop awaits, the same type for every
/// cache (compile time: the loop is compiled once, `drive::driver`).
pub(crate) struct Turns {
    turn: Mutex<Turn>,
}

/// Whose move it is.
enum Turn {
    /// The engine's: nothing asked.
    Engine,
    /// The engine asked for the function's run, to be made in this span (if any).
    Asked(Option<Span>),
    /// The function runs.
    Running,
    /// The function ran: whether it gave a value (in the relay, for the engine to take).
    Answered(bool),
}

impl<V> Relay<V> {
    /// A relay with nothing asked.
    pub(crate) fn new() -> Self {
        Self {
            turns: Turns {
                turn: Mutex::new(Turn::Engine),
            },
            value: Mutex::new(None),
        }
    }

    /// The engine's side, at its end: the call's `result` handed to the caller's future, as the
    /// engine's output says (whether the call has a value, which the relay then holds): so that
    /// the output names no type, and an untyped future (a bypass's run) can stand in for the
    /// engine.
    pub(crate) fn hand_back(&self, result: Result<V, ()>) -> bool {
        match result {
            Ok(value) => {
                *self.value() = Some(value);
                true
            }
            Err(()) => false,
        }
    }

    /// The function's value, for the engine once [`Turns::run`] answered that it gave one; the
    /// call's, for the caller's future once the engine's output said so
    /// ([`hand_back`](Self::hand_back)).
    pub(crate) fn take(&self) -> Option<V> {
        self.value().take()
    }

    /// The value handed over, whoever's turn it is (a panic that poisoned its lock left it
    /// whole: a move or a `take`).
    fn value(&self) -> MutexGuard<'_, Option<V>> {
        // A `match`, not `unwrap_or_else(PoisonError::into_inner)`: that `fn` item's call is one
        // more function per value type in a debug build.
        match self.value.lock() {
            Ok(value) => value,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The caller's side: the span of the run the engine asked for, if it asked (the function
    /// runs from now on).
    pub(super) fn asked(&self) -> Option<Option<Span>> {
        let mut turn = self.turns.turn();
        match std::mem::replace(&mut *turn, Turn::Running) {
            Turn::Asked(span) => Some(span),
            other => {
                *turn = other;
                None
            }
        }
    }

    /// The caller's side: the function's value (`None`: it failed), for the engine.
    #[allow(
        clippy::redundant_pattern_matching,
        reason = "`Option::is_some` would compile a function more per value type"
    )]
    pub(super) fn answer(&self, value: Option<V>) {
        let gave = matches!(value, Some(_));
        *self.value() = value;
        *self.turns.turn() = Turn::Answered(gave);
    }
}

/// A relay of any value type, as a future that only takes turns on it holds it (a bypass's run,
/// [`bypass_async`](super::bypass_async)): untyped, so that the future is compiled once.
pub(crate) trait Turned: Send + Sync {
    /// The relay's turns; the engine's side of them is [`Turns::run`].
    fn turns(&self) -> &Turns;
}

impl<V: Send> Turned for Relay<V> {
    fn turns(&self) -> &Turns {
        &self.turns
    }
}

impl Turns {
    /// The engine's side: whether the function gave a value once it ran (the value is the
    /// relay's, [`Relay::take`]), its run made in `span` if one is given.
    pub(crate) fn run(&self, span: Option<Span>) -> Run<'_> {
        Run {
            turns: self,
            span: Some(span),
        }
    }

    fn turn(&self) -> std::sync::MutexGuard<'_, Turn> {
        self.turn.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// [`Turns::run`]'s future. It registers no waker: the caller's future polls the engine again
/// as soon as it has answered, in the same poll.
pub(crate) struct Run<'r> {
    turns: &'r Turns,
    /// The span to ask the run in, until asked.
    span: Option<Option<Span>>,
}

impl Future for Run<'_> {
    type Output = bool;

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<bool> {
        let mut turn = self.turns.turn();
        match std::mem::replace(&mut *turn, Turn::Engine) {
            Turn::Answered(gave) => Poll::Ready(gave),
            other => {
                *turn = match self.span.take() {
                    Some(span) => Turn::Asked(span),
                    None => other,
                };
                Poll::Pending
            }
        }
    }
}
