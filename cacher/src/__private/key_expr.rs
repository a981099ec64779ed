//! What `#[cached(key = …)]` expansions call: the expression's value as the form its `Encoded`
//! key is looked up by, with one error when it cannot be a key.

use crate::key::{AsKey, Borrowed, ByValue};

/// The value of a `key = …` expression: serializable, and shareable across the threads that wait
/// for one computation.
#[diagnostic::on_unimplemented(
    message = "the `key` expression's value, of type `{Self}`, cannot be a cache key: it must implement serde's `Serialize` and `Sync`",
    label = "the key of each call of this function",
    note = "derive `Serialize` for `{Self}`, or key on a part of it that has one (`key = doc.id`, `key = (self.base_url.as_str(), endpoint)`)"
)]
pub trait KeyExpr: serde::Serialize + Sync {}
#[diagnostic::do_not_recommend]
impl<T: serde::Serialize + Sync + ?Sized> KeyExpr for T {}

/// The lookup form of a `key = …` expression's value, encoded once; `PERSISTENT` false when the
/// function's cache has only the memory tier ([`KeyRef::PERSISTENT`](crate::KeyRef::PERSISTENT)),
/// `TIMED` when it ages no entry ([`KeyRef::TIMED`](crate::KeyRef::TIMED)).
pub fn key_expr<T: KeyExpr + ?Sized, const PERSISTENT: bool, const TIMED: bool>(
    value: &T,
) -> ByValue<'_, T, PERSISTENT, TIMED> {
    ByValue::new(value)
}

/// The lookup form of a `key = …` expression's value for a `key_type`: checked to be a form of
/// it (`AsKey`), which makes no owned key on a hit; `PERSISTENT` and `TIMED` as [`key_expr`]'s.
pub fn key_form<K, Q: AsKey<K, M> + ?Sized, M, const PERSISTENT: bool, const TIMED: bool>(
    value: &Q,
) -> Borrowed<'_, Q, K, M, PERSISTENT, TIMED> {
    Borrowed::new(value)
}

/// A receiver an async method takes by value and names in its `key = …`: cloned for the key,
/// since the body owns the original while the key borrows it.
#[diagnostic::on_unimplemented(
    message = "this async method takes `self` by value and names it in `key`, so the key is made from a clone of `self` (the body owns the original while the key borrows it), and `{Self}` is not `Clone`",
    label = "the receiver named in the `key` expression",
    note = "derive `Clone`, take `self: Arc<Self>` or `&self`, or key by the arguments alone"
)]
pub trait ReceiverClone: Clone {}
#[diagnostic::do_not_recommend]
impl<T: Clone> ReceiverClone for T {}

/// A clone of the receiver, for the key; see [`ReceiverClone`].
pub fn receiver_clone<T: ReceiverClone>(receiver: &T) -> T {
    receiver.clone()
}

/// An argument taken by value and named in `key = …`: the key borrows it for the lookup, so the
/// function runs on a clone of it (on a miss). Without this bound's message, rustc said only
/// that the type is not `Clone`, at the attribute (helper-106).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is taken by value and named in `key`: the key borrows the argument while it is looked up, and the function runs on a clone of it, so `{Self}` must be `Clone`",
    label = "taken by value, and named in the `key` expression",
    note = "derive `Clone`, or take the argument by reference (`&{Self}`)"
)]
pub trait NamedInKey: Clone {}
impl<T: Clone> NamedInKey for T {}

/// A clone of an argument named in `key = …`, for the function's run; see [`NamedInKey`].
pub fn named_in_key<T: NamedInKey>(argument: &T) -> T {
    argument.clone()
}
