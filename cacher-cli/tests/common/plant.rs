//! Entries written as anyone who may write to a cache could write them: the namespaces, keys and
//! arguments' text an attacker chooses, in any backend.

use std::path::Path;

use cacher::entry::{Entry, EntryKey};
use cacher::{PersistentBackend, SeparateFileBackend};

/// An entry of `namespace` under `key`, its arguments' text `args`, written to `backend`.
pub fn plant(backend: &dyn PersistentBackend<u8>, namespace: &str, key: &str, args: &str) {
    let entry_key = EntryKey {
        namespace,
        version: None,
        key,
        args: Some(args),
        type_name: "u8",
        code: None,
    };
    let entry = Entry::new(7u8, cacher::Clock::system().now_ms());
    backend.insert(&entry_key, &entry).unwrap();
}

/// [`plant`] in a directory of its own below `root`, `planted{n}/entry.json` (under a name of
/// its own: cacher would not write a file named after such keys).
pub fn plant_file(root: &Path, n: usize, namespace: &str, key: &str, args: &str) {
    let backend = SeparateFileBackend::new(root.join(format!("planted{n}")))
        .filename_fn(|_| "entry.json".to_owned());
    plant(&backend, namespace, key, args);
}
