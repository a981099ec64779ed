//! The file backend's configuration checks.

use super::SeparateFileBackend;
use crate::backend::PersistentBackend;
use crate::{Cache, Error};

fn refused(backend: SeparateFileBackend) -> bool {
    let mut backend = backend;
    let attached = PersistentBackend::<u32>::attach(&mut backend, None);
    let built = Cache::<u32, u32>::builder().backend(backend).build();
    assert_eq!(attached.is_err(), built.is_err());
    matches!(built, Err(Error::Config(_)))
}

#[test]
fn max_entries_zero_is_refused_when_attached_never_panics() {
    assert!(refused(SeparateFileBackend::new("unused").max_entries(0)));
    assert!(!refused(SeparateFileBackend::new("unused").max_entries(1)));
}

#[test]
fn max_entry_size_zero_is_refused() {
    assert!(refused(
        SeparateFileBackend::new("unused").max_entry_size(0)
    ));
    assert!(!refused(
        SeparateFileBackend::new("unused").max_entry_size(1)
    ));
}

#[cfg(unix)]
#[test]
fn permissions_must_let_the_cache_read_and_write_its_entries() {
    for mode in [0o400, 0o200, 0o1600, 0o4700, 0o7777] {
        assert!(
            refused(SeparateFileBackend::new("unused").permissions(mode)),
            "{mode:o}"
        );
    }
    for mode in [0o600, 0o640, 0o644, 0o660, 0o666] {
        assert!(
            !refused(SeparateFileBackend::new("unused").permissions(mode)),
            "{mode:o}"
        );
    }
}
