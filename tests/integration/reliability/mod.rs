//! The reliability suites: what holds when processes crash, many processes share a directory,
//! keys are hostile, entries are corrupt, the file system misbehaves, and functions panic. See
//! `docs/RELIABILITY.md` for what each one measured.
//!
//! The crash and many-process suites drive the `reliability-child` binary
//! (`tests/bin/reliability_child.rs`); both sides share `cacher_tests::reliability`.

mod corrupt;
mod crash;
pub(crate) mod environment;
mod flight;
mod hostile_keys;
mod panics;
mod processes;
mod store;
mod storecut;
mod storefrozen;
mod storefull;
mod storero;
mod storeturns;
mod threads;
