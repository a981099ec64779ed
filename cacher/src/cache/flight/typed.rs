//! What the erased flights ask of a cache's types: its key, to find and keep a flight
//! ([`FlightKey`]), and its value, for the waiters ([`Copied`]). Traits of their own rather than
//! closures (`crate::callback`): their methods are all that is compiled per cache type.

use std::any::Any;
use std::marker::PhantomData;

use crate::key::KeyRef;

/// What the erased flights ask of a caller's key (a lookup form `Q` of the flights' cache's key
/// type `K`, [`KeyOf`]): a trait of its own rather than closures (`crate::callback`), its three
/// methods compiled once per key form.
pub(super) trait FlightKey {
    /// Whether `slot` (a boxed `K`) is the caller's key.
    fn is(&self, slot: &(dyn Any + Send + Sync)) -> bool;
    /// Makes `slot` (a spare box: a `K` with no drop glue) the caller's key: whether it could.
    fn set(&self, slot: &mut (dyn Any + Send + Sync)) -> bool;
    /// The caller's key, boxed.
    fn boxed(&self) -> Box<dyn Any + Send + Sync>;
}

/// A caller's key `Q` as the flights of a cache of key type `K` take it ([`FlightKey`]).
pub(super) struct KeyOf<'q, K, Q: ?Sized>(&'q Q, PhantomData<fn() -> K>);

impl<'q, K, Q: ?Sized> KeyOf<'q, K, Q> {
    /// The caller's `key`.
    pub(super) fn new(key: &'q Q) -> Self {
        Self(key, PhantomData)
    }
}

impl<K, Q> FlightKey for KeyOf<'_, K, Q>
where
    K: Send + Sync + 'static,
    Q: KeyRef<K> + ?Sized,
{
    // Each slot taken as a plain `dyn Any` first: `downcast_ref` and `downcast_mut` of
    // `dyn Any + Send + Sync` call those of `dyn Any`, a function more per key type (compile
    // time).
    fn is(&self, slot: &(dyn Any + Send + Sync)) -> bool {
        let slot: &dyn Any = slot;
        match slot.downcast_ref::<K>() {
            Some(slot) => self.0.is_key(slot),
            None => false,
        }
    }

    fn set(&self, slot: &mut (dyn Any + Send + Sync)) -> bool {
        let slot: &mut dyn Any = slot;
        match slot.downcast_mut::<K>() {
            Some(slot) => {
                *slot = self.0.to_key();
                true
            }
            None => false,
        }
    }

    fn boxed(&self) -> Box<dyn Any + Send + Sync> {
        Box::new(self.0.to_key())
    }
}

/// A value the leader hands to its waiters, copied into a box of its erased type: a trait
/// of its own rather than a closure (`crate::callback`), one method per value type.
pub(super) trait Copied {
    /// A copy of the value, boxed.
    fn copied(&self) -> Box<dyn Any + Send>;
}

impl<V: Clone + Send + 'static> Copied for V {
    fn copied(&self) -> Box<dyn Any + Send> {
        Box::new(self.clone())
    }
}
