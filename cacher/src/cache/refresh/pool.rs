//! The threads that run blocking background refreshes, for all caches of the process.
//!
//! A refresh runs the user's function, which may hang (a server that never answers, a lock
//! never released) or sleep a long time (a rate limit). So a refresh never waits behind another
//! for a thread: each job goes to an idle thread, else to a new one, up to [`MAX_THREADS`]; a
//! thread idle for [`IDLE`] ends. Only past that many refreshes running at once do jobs queue
//! (at most [`QUEUE`], then they are skipped). Each cache claims at most
//! `REFRESHES_PER_CACHE` refreshes at once (`claim::Refreshing::claim`), so one cache whose function
//! hangs holds that many threads, not the process's refreshes.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

/// A refresh to run.
pub(super) type Job = Box<dyn FnOnce() + Send>;

/// Threads running refreshes at most, for all caches of the process.
const MAX_THREADS: usize = 256;
/// Refreshes waiting for a thread at most (every thread busy); past it, a refresh is skipped
/// (the entry stays stale, and the next call in the window claims a refresh again).
const QUEUE: usize = 1024;
/// How long a thread without work stays for the next refresh.
const IDLE: Duration = Duration::from_secs(10);

/// The pool's threads and their queue.
pub(super) struct Pool {
    state: Mutex<State>,
    ready: Condvar,
    max_threads: usize,
}

#[derive(Default)]
struct State {
    jobs: VecDeque<Job>,
    /// Threads waiting for a job that no job pushed since has been promised to.
    idle: usize,
    /// Threads alive.
    threads: usize,
}

/// The process's pool, made at the first refresh.
pub(super) fn pool() -> &'static Arc<Pool> {
    static POOL: OnceLock<Arc<Pool>> = OnceLock::new();
    POOL.get_or_init(|| Pool::new(MAX_THREADS))
}

impl Pool {
    fn new(max_threads: usize) -> Arc<Self> {
        Arc::new(Pool {
            state: Mutex::default(),
            ready: Condvar::new(),
            max_threads,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `job` on an idle thread, else on a new one, else queues it. `false`: it was dropped
    /// unrun (the queue full, or no thread could be started).
    pub(super) fn submit(self: &Arc<Self>, job: Job) -> bool {
        let mut state = self.lock();
        if state.idle > 0 {
            // Promised to one waiting thread: a second job pushed before it wakes is not.
            state.idle -= 1;
            state.jobs.push_back(job);
            self.ready.notify_one();
            return true;
        }
        if state.threads < self.max_threads {
            state.threads += 1;
            drop(state);
            return self.spawn(job);
        }
        if state.jobs.len() >= QUEUE {
            return false;
        }
        state.jobs.push_back(job);
        true
    }

    fn spawn(self: &Arc<Self>, job: Job) -> bool {
        static NAMED: AtomicUsize = AtomicUsize::new(0);
        let n = NAMED.fetch_add(1, Ordering::Relaxed);
        let pool = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name(format!("cacher-refresh-{n}"))
            .spawn(move || pool.work(job));
        if let Err(e) = spawned {
            self.lock().threads -= 1;
            tracing::warn!("could not start a cacher refresh thread: {e}");
            return false;
        }
        true
    }

    /// A thread's life: its first job, then the queue's, until it idles for [`IDLE`].
    fn work(&self, first: Job) {
        run(first);
        let mut state = self.lock();
        loop {
            if let Some(job) = state.jobs.pop_front() {
                drop(state);
                run(job);
                state = self.lock();
                continue;
            }
            state.idle += 1;
            let (woken, waited) = self
                .ready
                .wait_timeout(state, IDLE)
                .unwrap_or_else(|e| e.into_inner());
            state = woken;
            if !state.jobs.is_empty() {
                // A job's submitter took this thread out of `idle` (or another thread's
                // promise, whose thread then finds the queue empty and counts itself out).
                continue;
            }
            state.idle -= 1;
            if waited.timed_out() {
                state.threads -= 1;
                return;
            }
        }
    }
}

/// A panicking function costs its refresh, not the thread.
fn run(job: Job) {
    drop(std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)));
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::{Receiver, Sender, channel};

    use super::*;

    const BOUND: Duration = Duration::from_secs(10);

    /// A job that says it started, then runs until `release` is sent (or dropped).
    fn held(started: &Sender<usize>, n: usize) -> (Job, Sender<()>) {
        let (release, wait) = channel::<()>();
        let started = started.clone();
        let job: Job = Box::new(move || {
            started.send(n).unwrap();
            let _ = wait.recv();
        });
        (job, release)
    }

    fn expect(started: &Receiver<usize>, n: usize) {
        assert_eq!(started.recv_timeout(BOUND), Ok(n), "job {n} did not start");
    }

    /// The next two jobs to start, in order of their numbers.
    fn two_starts(started: &Receiver<usize>) -> [usize; 2] {
        let mut got = [0; 2].map(|_| started.recv_timeout(BOUND).unwrap());
        got.sort_unstable();
        got
    }

    #[test]
    fn a_job_never_waits_behind_hung_ones_while_threads_are_left() {
        let pool = Pool::new(8);
        let (started, starts) = channel();
        let mut releases = Vec::new();
        // Each job starts while all those before it hang, up to the bound.
        for n in 0..8 {
            let (job, release) = held(&started, n);
            assert!(pool.submit(job));
            expect(&starts, n);
            releases.push(release);
        }
        assert_eq!(pool.lock().threads, 8);
    }

    #[test]
    fn past_the_threads_bound_jobs_queue_and_run_once_a_thread_is_free() {
        let pool = Pool::new(2);
        let (started, starts) = channel();
        let (first, release_first) = held(&started, 0);
        let (second, _release_second) = held(&started, 1);
        let (third, _release_third) = held(&started, 2);
        assert!(pool.submit(first));
        assert!(pool.submit(second));
        assert_eq!(two_starts(&starts), [0, 1]);
        assert!(pool.submit(third));
        assert_eq!(pool.lock().jobs.len(), 1, "queued: both threads are busy");
        drop(release_first);
        expect(&starts, 2);
        assert_eq!(pool.lock().threads, 2);
    }

    #[test]
    fn two_jobs_given_to_one_idle_thread_in_a_row_each_get_a_thread() {
        let pool = Pool::new(8);
        let (started, starts) = channel();
        let (first, release_first) = held(&started, 0);
        assert!(pool.submit(first));
        expect(&starts, 0);
        drop(release_first);
        // The thread, its job done, counts itself idle under the lock.
        let deadline = std::time::Instant::now() + BOUND;
        while pool.lock().idle == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the thread never idled"
            );
            std::thread::yield_now();
        }
        let (second, _release_second) = held(&started, 1);
        let (third, _release_third) = held(&started, 2);
        assert!(pool.submit(second));
        assert!(pool.submit(third));
        assert_eq!(two_starts(&starts), [1, 2]);
    }
}
