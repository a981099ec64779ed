//! `#[cached]`, used as an application would.
//!
//! `walkthrough`: the walkthrough of the crate docs as attributes, run end to end for `fn` and
//! `async fn`. `expansion`: the rules of the generated code — what is keyed and cached, methods,
//! `#[cached(skip)]`, the companion `<name>_cache()`, names that must not clash, each option
//! reaching the cache — compiled with warnings as errors. `companion`: the companion, which keeps
//! no static of its own, finds the function's one cache from anywhere, first or not.

// The code `#[cached]` generates must compile warning-free whatever the body looks like: every
// warning in the expansions of this module is an error.
#[deny(warnings)]
mod companion;
#[deny(warnings)]
mod expansion;
#[cfg(feature = "tokio")]
mod futures;
#[deny(warnings)]
mod store;
mod walkthrough;
