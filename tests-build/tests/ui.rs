//! The compile errors of `#[cached]`: each `ui/*.rs` must fail to compile with exactly the
//! messages of its `ui/*.stderr`. After changing a message on purpose, regenerate them with
//! `TRYBUILD=overwrite cargo test -p cacher-tests-build`, then read the diff.

#[test]
fn ui() {
    // Relative to this package's root.
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
