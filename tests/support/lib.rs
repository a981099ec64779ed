//! Helpers shared by the integration tests (`tests/integration/`) and their child process
//! (`reliability-child`): call counters, directory listings, child processes, a percent-decoder,
//! a private `redis-server`, a tmpfs mount, and the values and caches of the reliability suites.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts calls of a stand-in for an expensive function.
#[derive(Clone, Default)]
pub struct Calls(Arc<AtomicUsize>);

impl Calls {
    /// Records one call.
    pub fn hit(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    /// Calls so far.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Every regular file below `dir`, relative to it, sorted; not the empty lock files of the
/// cross-process lock (`.cacher-locks/`, see [`lock_files`]).
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    all_files_below(dir)
        .into_iter()
        .filter(|path| {
            !path
                .components()
                .any(|c| c.as_os_str() == cacher::lock::LOCK_DIR)
        })
        .collect()
}

/// The lock files below `dir` (relative to it): empty, never entries.
pub fn lock_files(dir: &Path) -> Vec<PathBuf> {
    all_files_below(dir)
        .into_iter()
        .filter(|path| {
            path.components()
                .any(|c| c.as_os_str() == cacher::lock::LOCK_DIR)
        })
        .collect()
}

fn all_files_below(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    found.sort();
    found
}

/// The prefix of the file backend's temporary files (`.cacher-tmp-<pid>-<n>-<random>`).
pub const TEMP_PREFIX: &str = ".cacher-tmp-";

/// The temporary files below `dir` (relative to it): what a writer leaves while it writes, or when
/// it is killed before renaming.
pub fn temp_files(dir: &Path) -> Vec<PathBuf> {
    files_below(dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(TEMP_PREFIX))
        })
        .collect()
}

/// Installs a `tracing` subscriber writing to the test's output, once per process.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("warn")
        .try_init();
}

/// `CACHER_LONG_TESTS=1`: the reliability suites run ten times longer (CI sets it).
pub fn long_tests() -> bool {
    std::env::var("CACHER_LONG_TESTS").is_ok_and(|v| v == "1")
}

/// Kills the child when dropped, so that a failing assertion leaves no process behind.
#[derive(Debug)]
pub struct Reaper(pub Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The name libtest gives the test `name` of the calling module, as `--exact` wants it:
/// `module::path::name`, without the crate's name. For tests that run one test of their own
/// binary again as a child process.
#[macro_export]
macro_rules! test_name {
    ($name:ident) => {
        $crate::libtest_name(::core::module_path!(), ::core::stringify!($name))
    };
}

/// What [`test_name!`] expands to: `module_path` without its first segment (the crate), then
/// `name`.
pub fn libtest_name(module_path: &str, name: &str) -> String {
    match module_path.split_once("::") {
        Some((_crate, path)) => format!("{path}::{name}"),
        None => name.to_owned(),
    }
}

/// Percent-decodes `text` (`%XX` escapes, any other byte as is), or `None` when an escape is
/// malformed or the result is not UTF-8: how the readable keys' arguments read back.
pub fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(text.get(i + 1..i + 3)?, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Cuts the file at `path` to half its length, as a copy cut short by a full disk or a power
/// loss without `durable` leaves a store's database file.
pub fn cut_in_half(path: &Path) {
    let len = std::fs::metadata(path).expect("the file to cut").len();
    let file = std::fs::File::options().write(true).open(path);
    file.and_then(|file| file.set_len(len / 2))
        .expect("the file is cut");
}

pub mod listing;
pub mod mount;
pub mod redis_server;
pub mod reliability;

/// A function's body that stops until the test lets it go: the test learns when the body has
/// started ([`Gate::started`]), does what it must while it runs, then [`Gate::release`]s it.
pub struct Gate {
    started: std::sync::mpsc::Receiver<()>,
    go: std::sync::mpsc::Sender<()>,
}

/// The body's side of a [`Gate`]; made by [`gate`].
pub struct Held {
    started: std::sync::mpsc::Sender<()>,
    go: std::sync::mpsc::Receiver<()>,
}

/// A [`Gate`] and the [`Held`] side for the function body.
pub fn gate() -> (Gate, Held) {
    let (started_tx, started) = std::sync::mpsc::channel();
    let (go, go_rx) = std::sync::mpsc::channel();
    (
        Gate { started, go },
        Held {
            started: started_tx,
            go: go_rx,
        },
    )
}

impl Gate {
    /// Waits until the body has started (at most 10 s).
    pub fn started(&self) {
        self.started
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("the gated body started");
    }

    /// Lets the body finish.
    pub fn release(&self) {
        // The body may be gone already (it gave up waiting): nothing to release then.
        let _ = self.go.send(());
    }
}

impl Held {
    /// Says the body started, waits to be released (at most 20 s), then gives `value`.
    pub fn hold<T>(self, value: T) -> T {
        self.started.send(()).expect("the test is waiting");
        let _ = self.go.recv_timeout(std::time::Duration::from_secs(20));
        value
    }
}

/// A memory cache whose entry for `"k"` (the value 1) is past its 1 s ttl but within a
/// `stale_if_error` grace of an hour: served only if the function fails.
pub fn cache_with_a_stale_entry() -> cacher::Cache<String, u64> {
    cache_with_a_stale_entry_and_backoff(cacher::DEFAULT_ERROR_BACKOFF)
}

/// [`cache_with_a_stale_entry`] with its own error backoff (zero: the function is called on every
/// call, also right after it failed).
pub fn cache_with_a_stale_entry_and_backoff(
    backoff: std::time::Duration,
) -> cacher::Cache<String, u64> {
    let (clock, mock) = cacher::Clock::mock();
    let cache = cacher::Cache::builder()
        .ttl(std::time::Duration::from_secs(1))
        .stale_if_error(std::time::Duration::from_secs(3600))
        .error_backoff(backoff)
        .clock(clock)
        .build()
        .expect("a valid configuration");
    cache.insert("k", 1).expect("a memory tier never fails");
    mock.advance(std::time::Duration::from_secs(2));
    cache
}

/// What a subscriber on the test's thread logged: `let _on = log.on_this_thread();`, then
/// [`text`](Log::text).
#[derive(Clone, Default)]
pub struct Log(Arc<std::sync::Mutex<Vec<u8>>>);

impl Log {
    /// Logs this thread's events here (without colours) until the guard is dropped.
    pub fn on_this_thread(&self) -> tracing::subscriber::DefaultGuard {
        let log = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || log.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Log {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The message of the panic that `call` must raise (empty if its payload is not a string).
///
/// # Panics
/// When `call` returns instead.
pub fn panic_of(call: impl FnOnce()) -> String {
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)).expect_err("a panic");
    match panic.downcast::<String>() {
        Ok(message) => *message,
        Err(panic) => panic
            .downcast::<&str>()
            .map(|m| m.to_string())
            .unwrap_or_default(),
    }
}
