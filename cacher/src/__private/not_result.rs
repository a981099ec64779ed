//! The check that a `#[cached]` function's return type, which the attribute takes for a plain
//! value, is not a `Result` by another name (`type Res<T> = Result<T, E>`, `Fallible<T>`): the
//! attribute sees only its name, and would cache its `Err`s as answers, served until their ttl.
//! Whether a type is a `Result` is known only to the compiler, so the expansion asks it, by
//! method resolution: the probe's inherent [`Probe::cacher_result_kind`] for a `Result`, its
//! `Deref` target's [`ValueProbe::cacher_result_kind`] otherwise; [`require_not_result`] accepts
//! only the latter, and says what to write when it is the former.
//!
//! The method's name is cacher's own: the expansion calls it where the user's traits are in
//! scope, and a method of the same name that one of them gives every type (a `kind(&self)`, or a
//! `kind(self)`, found at an earlier step) would be chosen instead of the `Deref` target's, its
//! answer then refused as a `Result` at a return type that is none
//! (`adversarial::kindname`).

use std::marker::PhantomData;

/// The return type `T`, to ask of it whether it is a `Result`:
/// `Probe::<T>::NEW.cacher_result_kind()`.
pub struct Probe<T>(ValueProbe<T>);

impl<T> Probe<T> {
    /// The probe.
    pub const NEW: Self = Probe(ValueProbe(PhantomData));
}

/// What [`Probe::cacher_result_kind`] finds: a `Result`.
pub struct AResult;

/// What [`ValueProbe::cacher_result_kind`] finds: a type that is no `Result`.
pub struct AValue;

/// Chosen for `Probe::<Result<T, E>>::NEW.cacher_result_kind()`: an inherent method of the
/// probe, found before its `Deref` is tried.
impl<T, E> Probe<Result<T, E>> {
    /// A `Result`.
    pub fn cacher_result_kind(&self) -> AResult {
        AResult
    }
}

/// What a probe of any other type derefs to, whose inherent method is found next: no trait to
/// bring in scope, no trait to select (the expansion's check is the cheaper for it, at every
/// build of the caller).
pub struct ValueProbe<T>(PhantomData<T>);

impl<T> ValueProbe<T> {
    /// No `Result`.
    pub fn cacher_result_kind(&self) -> AValue {
        AValue
    }
}

impl<T> std::ops::Deref for Probe<T> {
    type Target = ValueProbe<T>;

    fn deref(&self) -> &ValueProbe<T> {
        &self.0
    }
}

/// What a function the attribute caches every value of may return: anything but a `Result`.
#[diagnostic::on_unimplemented(
    message = "this type is a `Result` by another name: #[cached] caches every value but a `Result`'s `Err`, and cannot see through the alias",
    label = "a `Result`, whose `Err`s would be cached as answers",
    note = "write `result = true` to cache only its `Ok` values, or `result = false` to cache every value"
)]
pub trait NotAResult {}

impl NotAResult for AValue {}

/// Asserts that the probe found no `Result`; see [`NotAResult`].
pub fn require_not_result<K: NotAResult>(_kind: K) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(dead_code)]
    type Res<T> = Result<T, String>;

    fn is_result<K: 'static>(_: K) -> bool {
        std::any::TypeId::of::<K>() == std::any::TypeId::of::<AResult>()
    }

    // Written as the expansion writes it, whatever the type.
    #[test]
    fn a_result_by_any_name_is_told_from_a_value() {
        assert!(is_result(Probe::<Res<u32>>::NEW.cacher_result_kind()));
        assert!(is_result(
            Probe::<std::io::Result<()>>::NEW.cacher_result_kind()
        ));
        assert!(!is_result(Probe::<u32>::NEW.cacher_result_kind()));
        assert!(!is_result(
            Probe::<Option<Res<u32>>>::NEW.cacher_result_kind()
        ));
    }
}
