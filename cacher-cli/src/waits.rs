//! Removals that wait say so. A store's writes take turns through LMDB's writer lock, which has
//! no timeout: a process stopped mid-write (`SIGSTOP`, a debugger) holds it until it resumes or
//! exits, and `clear`, `prune` and `verify --repair` wait for it. They wait (the removals are
//! what was asked), but not in silence.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use crate::print;

/// How long a removal runs before the command says what it waits for.
pub const NOTICE_AFTER: Duration = Duration::from_secs(2);

/// Runs `work`, which calls the `tick` it is given after each step; when no step ends within
/// [`NOTICE_AFTER`], says once on stderr that it is `waiting` (what for, and what to do).
pub fn told<T>(waiting: &str, work: impl FnOnce(&dyn Fn()) -> T) -> T {
    let (step, steps) = mpsc::channel::<()>();
    thread::scope(|scope| {
        scope.spawn(move || {
            let mut said = false;
            loop {
                match steps.recv_timeout(NOTICE_AFTER) {
                    Err(RecvTimeoutError::Disconnected) => return,
                    Err(RecvTimeoutError::Timeout) if !said => {
                        print::errln!("cacher: {waiting}");
                        said = true;
                    }
                    Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                }
            }
        });
        // `step` is dropped when `work` returns, which ends the watch before the scope joins it.
        let tick = move || {
            let _ = step.send(());
        };
        work(&tick)
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::told;

    /// The work's value is returned, and its ticks reach the watch (which ends with it).
    #[test]
    fn the_work_runs_and_returns_its_value() {
        let ticks = AtomicUsize::new(0);
        let out = told("never said", |tick| {
            for _ in 0..3 {
                tick();
                ticks.fetch_add(1, Ordering::Relaxed);
            }
            7
        });
        assert_eq!((out, ticks.into_inner()), (7, 3));
    }
}
