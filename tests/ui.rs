//! The compile errors of `#[cached]`: each `ui/*.rs` must fail to compile with exactly the
//! messages of its `ui/*.stderr`. After changing a message on purpose, regenerate them with
//! `TRYBUILD=overwrite cargo test -p cacher-tests --all-features --test ui`, then read the diff.

#[test]
fn ui() {
    // Relative to this package's root, `tests/`.
    trybuild::TestCases::new().compile_fail("ui/*.rs");
}
