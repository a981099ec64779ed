//! Closures handed to untyped code as trait objects of one-method traits of their own rather
//! than as `dyn Fn`: a `dyn Fn`'s vtable also holds `call_once` and its shim, compiled for every
//! closure type coerced to it (about 57 lines of LLVM IR each in a debug build) though never
//! called. The closures that generic code hands to the untyped tiers, flights and builds are a
//! few per cache type: these traits keep each to the one method that runs (compile time). Where
//! the same test or read is handed over at each call of a cache type, a small struct that
//! implements the trait itself (the memory tier's `Holds` and `Read`, the registry's `Init`, a
//! value's `TtlOf`) is one function per type where a closure is two (its body and its call).

/// A closure of one argument, called through `&dyn Callback<A, R>` where a `&dyn Fn(A) -> R`
/// would be.
pub(crate) trait Callback<A, R> {
    /// Calls the closure with `a`.
    fn run(&self, a: A) -> R;
}

impl<A, R, F: Fn(A) -> R> Callback<A, R> for F {
    #[inline]
    fn run(&self, a: A) -> R {
        self(a)
    }
}

/// A closure of one argument, called through `&mut dyn CallbackMut<A, R>` where a
/// `&mut dyn FnMut(A) -> R` would be.
pub(crate) trait CallbackMut<A, R> {
    /// Calls the closure with `a`.
    fn run_mut(&mut self, a: A) -> R;
}

impl<A, R, F: FnMut(A) -> R> CallbackMut<A, R> for F {
    #[inline]
    fn run_mut(&mut self, a: A) -> R {
        self(a)
    }
}

/// Taken by value in a closure that is called once (an async call's start, a `#[cached]`
/// function's body that may move what it captures, or that runs inside `fallible`), which is
/// then `FnOnce` only: called once, it compiles to its body alone, without the `call_once` shim
/// of a `Fn` closure called once (compile time). A body that only borrows needs none: it is
/// called through `FnMut` (`__private::Borrowing`).
pub struct Spend;

impl Spend {
    /// Spends it.
    #[inline(always)]
    pub fn spend(self) {}
}
