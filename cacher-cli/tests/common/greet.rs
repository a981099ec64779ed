//! The cache the CLI's tests of a directory of files look into: `demo::greet` below a root, its
//! keys hashed, as an app writes it.

use std::path::Path;

use cacher::{Cache, HashKeyer, SeparateFileBackend};

/// The cache `demo::greet` in `root/demo/greet`.
pub fn greet_files(root: &Path) -> Cache<String, String> {
    Cache::builder()
        .namespace("demo::greet")
        .keyer(HashKeyer)
        .backend(SeparateFileBackend::new(root.join("demo/greet")))
        .build()
        .unwrap()
}
