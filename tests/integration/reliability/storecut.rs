//! A store whose database file was cut short (a copy cut short, a power loss without
//! `durable` on a file system that wrote the meta page before the file's new pages).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use cacher_tests::Reaper;
use cacher_tests::reliability::{CRASH_NAMESPACE, crash_key, store_cache};

/// A child writes large entries into a store until it is killed; then `data.mdb` is cut to half.
/// Opening it in this process (a new one: the store was never open here) read pages past the end
/// of the file through LMDB's map: a `SIGBUS` killed the whole program. The store is refused as
/// damaged: the tier fails, the function's value is returned, the failure is counted.
#[test]
fn a_store_whose_database_was_cut_short_is_refused_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Reaper(
        Command::new(env!("CARGO_BIN_EXE_reliability-child"))
            .arg("store-crash-writer")
            .arg(dir.path())
            .arg("14")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    let mut said = BufReader::new(child.0.stdout.take().unwrap());
    said.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    // Past its first entries: any length cut off the file is then below its last page (LMDB's
    // file ends with its last page).
    let data = dir.path().join("data.mdb");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::fs::metadata(&data).unwrap().len() < 1 << 20 {
        assert!(
            std::time::Instant::now() < deadline,
            "the writer wrote nothing"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    cacher_tests::cut_in_half(&data);

    let cache = store_cache::<String>(dir.path(), CRASH_NAMESPACE);
    for i in 0..3 {
        let key = crash_key(i);
        assert_eq!(
            cache.get_or_compute(&key, || format!("computed {i}")),
            format!("computed {i}")
        );
    }
    assert!(cache.stats().errors > 0, "{:?}", cache.stats());
    assert!(cache.insert(&crash_key(0), "x".into()).is_err());
}
