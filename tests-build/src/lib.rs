//! Nothing to use: this crate holds the compile-error cases of `#[cached]`, `tests/ui/*.rs` with
//! their expected `tests/ui/*.stderr`, checked by `tests/ui.rs`.
//!
//! trybuild checks the cases in a project of its own that depends on all that this crate depends
//! on, dev-dependencies included, built again from scratch in `target/tests/trybuild`; a crate of
//! their own, which depends on what the cases use and nothing else, keeps that build small.
