//! `serde_json::Value` arguments that the function tells apart and `Value`'s own `Eq` does not:
//! `-0.0` and `0.0` (serde_json compares floats with `==`, and hashes `-0.0` as `0.0`). The
//! persistent tiers key them apart (`(v2)-0.0`, `(v2)0.0`: the canonical text writes the sign),
//! the memory tier and the flights by `Value`'s `Eq`: so one call is served the other's value.

use cacher::{Cache, MemoryBackend, SeparateFileBackend};
use serde_json::{Value, json};

/// What the function computes: its argument as JSON text, which tells `-0.0` from `0.0`.
fn text(v: &Value) -> String {
    v.to_string()
}

#[test]
fn a_json_negative_zero_is_not_served_the_value_of_zero() {
    let dir = tempfile::tempdir().unwrap();
    let cache = || -> Cache<Value, String> {
        Cache::builder()
            .backend(MemoryBackend::new())
            .backend(SeparateFileBackend::new(dir.path()))
            .build()
            .unwrap()
    };
    let this = cache();
    assert_ne!(
        this.key_of(&json!(0.0)).unwrap(),
        this.key_of(&json!(-0.0)).unwrap()
    );
    for (first, then) in [
        (json!(0.0), json!(-0.0)),
        (json!([{"x": -0.0}]), json!([{"x": 0.0}])),
    ] {
        let this = cache();
        this.clear().unwrap();
        assert_eq!(this.get_or_compute(&first, || text(&first)), text(&first));
        let served = this.get_or_compute(&then, || text(&then));
        // A process whose memory has not seen `first` computes `then`'s own value.
        let other = cache();
        assert_eq!(other.get_or_compute(&then, || text(&then)), text(&then));
        assert_eq!(
            served,
            text(&then),
            "f({then}) after f({first}) was served f({first})'s value from memory: the memory \
             tier keys by Value's Eq, which takes -0.0 for 0.0, while the function and the \
             persistent tiers tell them apart"
        );
    }
}
