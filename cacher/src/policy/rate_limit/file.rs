//! A rate limiter's schedule shared by the processes of one machine: the next free start time
//! and the time it was written (wall-clock milliseconds) in a small file, read and moved under an
//! exclusive lock on it.

use std::fs::{File, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The folder the schedule files live in (the cross-process lock's, `.cacher-locks`).
const FOLDER: &str = ".cacher-locks";

/// How long a caller waits for another process reading the schedule (a few microseconds of
/// work; a holder that waits this long is stuck, and the caller starts anyway).
const LOCK_WAIT: Duration = Duration::from_secs(5);

pub(super) struct FileSchedule {
    dir: PathBuf,
    file_name: String,
}

impl FileSchedule {
    pub(super) fn new(dir: PathBuf, name: &str) -> Self {
        let hash = blake3::hash(name.as_bytes());
        let hex: String = hash.as_bytes()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Self {
            dir,
            file_name: format!("rate-{hex}.schedule"),
        }
    }

    /// Where the schedule is, for messages.
    pub(super) fn path(&self) -> PathBuf {
        self.dir.join(FOLDER).join(&self.file_name)
    }

    fn open(&self) -> io::Result<File> {
        crate::private_dir::create(&self.dir)?;
        crate::private_dir::open_file(&self.dir, FOLDER, &self.file_name)
    }

    /// Takes the next free start at or after `now_ms`, at most `bound` away, and moves the
    /// schedule one `interval` past it: how long the caller waits before starting. `Ok(None)`
    /// when the file stayed locked.
    pub(super) fn reserve(
        &self,
        now_ms: u64,
        interval: Duration,
        bound: Duration,
    ) -> io::Result<Option<Duration>> {
        let mut file = self.open()?;
        let deadline = Instant::now() + LOCK_WAIT;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::Error(e)) => return Err(e),
                Err(TryLockError::WouldBlock) if Instant::now() >= deadline => return Ok(None),
                Err(TryLockError::WouldBlock) => std::thread::sleep(Duration::from_micros(200)),
            }
        }
        let mut bytes = [0u8; 16];
        let (next, written) = match file.read_exact(&mut bytes) {
            Ok(()) => (u64_at(&bytes, 0), u64_at(&bytes, 8)),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => (0, 0),
            Err(e) => return Err(e),
        };
        // Written by a clock ahead of this one (the wall clock moved back since, or another
        // process's runs ahead): the queue it left is counted from now, not from its time, else
        // every caller would wait out the clock's jump.
        let next = match written.checked_sub(now_ms) {
            Some(ahead) if ahead > 0 => next.saturating_sub(ahead),
            _ => next,
        };
        // At most `bound` away: a caller further back in the queue starts when its wait bound
        // has passed, and the queue goes on from its start — never from a slot no caller could
        // have queued for (a file planted or damaged with `u64::MAX` would cost every caller
        // its whole bound, for ever).
        let latest = now_ms.saturating_add(crate::clock::ceil_ms(bound));
        let start = next.max(now_ms).min(latest);
        let interval_ms = crate::clock::ceil_ms(interval);
        file.seek(SeekFrom::Start(0))?;
        let schedule = [start.saturating_add(interval_ms), now_ms];
        file.write_all(&schedule.map(u64::to_le_bytes).concat())?;
        // Closing the file releases the lock.
        Ok(Some(Duration::from_millis(start - now_ms)))
    }
}

/// The little-endian `u64` at `at` of the schedule.
fn u64_at(bytes: &[u8; 16], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::FileSchedule;

    const HOUR: Duration = Duration::from_secs(3600);

    /// A FIFO planted at the schedule's name (helper-105): opened for reading and writing, then
    /// read, it blocked the caller for good — every call of the limited function hung. Now it
    /// is opened without blocking and refused as not a regular file.
    #[cfg(unix)]
    #[test]
    fn a_fifo_at_the_schedule_is_refused_not_waited_on() {
        let dir = tempfile::tempdir().unwrap();
        let schedule = FileSchedule::new(dir.path().to_owned(), "api");
        std::fs::create_dir_all(schedule.path().parent().unwrap()).unwrap();
        let status = std::process::Command::new("mkfifo")
            .arg(schedule.path())
            .status()
            .unwrap();
        assert!(status.success());
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = sender.send(schedule.reserve(0, Duration::from_secs(1), HOUR).is_err());
        });
        let refused = receiver.recv_timeout(Duration::from_secs(30));
        assert_eq!(
            refused,
            Ok(true),
            "the reservation hung on the FIFO, or took it"
        );
    }

    /// The schedule a hard link of a file outside the directory (helper-105): its first 16
    /// bytes were overwritten with the schedule's times. Now it is refused as not cacher's own.
    #[cfg(unix)]
    #[test]
    fn a_schedule_hard_linked_outside_is_never_written() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("notes");
        std::fs::write(&victim, b"another program's notes\n").unwrap();
        let schedule = FileSchedule::new(dir.path().to_owned(), "api");
        std::fs::create_dir_all(schedule.path().parent().unwrap()).unwrap();
        std::fs::hard_link(&victim, schedule.path()).unwrap();
        assert!(schedule.reserve(0, Duration::from_secs(1), HOUR).is_err());
        assert_eq!(
            std::fs::read(&victim).unwrap(),
            b"another program's notes\n"
        );
    }

    #[test]
    fn a_clock_moved_back_does_not_make_callers_wait_out_the_jump() {
        let dir = tempfile::tempdir().unwrap();
        let schedule = FileSchedule::new(dir.path().to_owned(), "api");
        let second = Duration::from_secs(1);
        let day_ms = 86_400_000;
        assert_eq!(
            schedule.reserve(2 * day_ms, second, HOUR).unwrap(),
            Some(Duration::ZERO)
        );
        assert_eq!(
            schedule.reserve(2 * day_ms, second, HOUR).unwrap(),
            Some(second)
        );
        // The wall clock is set back a day: the two slots taken are still queued, no more.
        let wait = schedule.reserve(day_ms, second, HOUR).unwrap().unwrap();
        assert_eq!(wait, 2 * second);
    }

    /// The interval is counted in whole milliseconds rounded up: truncated, 500 µs was no limit
    /// at all (every caller started at once) and 1.5 ms spaced starts 1 ms apart, shorter than
    /// the minimum asked.
    #[test]
    fn an_interval_that_is_not_whole_milliseconds_is_never_made_shorter() {
        let dir = tempfile::tempdir().unwrap();
        for (name, interval, spacing) in [("half", 500, 1), ("one and a half", 1_500, 2)] {
            let schedule = FileSchedule::new(dir.path().to_owned(), name);
            let interval = Duration::from_micros(interval);
            assert_eq!(
                schedule.reserve(5_000, interval, HOUR).unwrap(),
                Some(Duration::ZERO)
            );
            let wait = schedule.reserve(5_000, interval, HOUR).unwrap();
            assert_eq!(wait, Some(Duration::from_millis(spacing)), "{interval:?}");
        }
    }

    /// A schedule whose next slot is far past anything the callers could have queued — a file
    /// planted or damaged with `u64::MAX` — cost each caller its whole wait bound for ever: the
    /// schedule moved one interval past that slot, and stayed there. The queue is kept within
    /// the bound: the caller that waits it out leaves the schedule one interval past its own
    /// start, and a caller after that is served as the interval says.
    #[test]
    fn a_slot_past_the_wait_bound_is_waited_once_not_for_ever() {
        let dir = tempfile::tempdir().unwrap();
        let schedule = FileSchedule::new(dir.path().to_owned(), "api");
        let path = schedule.path();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let planted = [u64::MAX, 1_000].map(u64::to_le_bytes).concat();
        std::fs::write(&path, planted).unwrap();
        let (second, minute) = (Duration::from_secs(1), Duration::from_secs(60));
        let now = 1_000_000;
        assert_eq!(schedule.reserve(now, second, minute).unwrap(), Some(minute));
        // A minute and a second later, the slot after that one's is free.
        let later = now + 61_000;
        assert_eq!(
            schedule.reserve(later, second, minute).unwrap(),
            Some(Duration::ZERO)
        );
    }
}
