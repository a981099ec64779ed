//! Entries past their ttl, and uses to record: the one place that decides a stale value is
//! served — within `stale_while_revalidate` (claiming one background refresh), or while the
//! function backs off after a failure — and that records a use for `time_to_idle`.
//!
//! A lookup report says `Origin::Stale` exactly when [`Miss::served_stale`] ran: the stale
//! values served at once here, and the `stale_if_error` fallback of a failed function.

use std::hash::Hash;

use super::{Goal, Miss, Pass, State, log};
use crate::cache::origin::Origin;
use crate::cache::refresh::Ticket;
use crate::entry::{Entry, Stamp};
use crate::error::Result;
use crate::key::KeyRef;
use crate::policy::Freshness;

impl<K, V, Q> Miss<'_, K, V, Q>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    Q: KeyRef<K> + ?Sized,
{
    /// An entry past its ttl (`Revalidate` or `Stale`), found on the call's first look. Served
    /// at once within `stale_while_revalidate` when the call's function can run in the
    /// background (which this call then does, unless a refresh of the key is under way or the
    /// function is backing off), or within either window while the function backs off after a
    /// failure; otherwise kept as the fallback if the function fails.
    pub(super) fn past_ttl(&mut self, value: V, freshness: Freshness) {
        let inner = self.inner;
        if self.goal != Goal::Compute {
            return;
        }
        let backing_off = inner.outages.backing_off(self.hash, inner.clock.now_ms());
        match freshness {
            Freshness::Revalidate if self.detach => {
                if !backing_off {
                    self.refresh = inner.refreshing.claim(self.hash, self.generation);
                }
                self.serve_stale(value);
            }
            _ if backing_off => {
                log::backing_off(inner.namespace());
                self.serve_stale(value);
            }
            _ => {
                self.stale.get_or_insert(value);
            }
        }
    }

    /// The call's value is a stale entry, served at once.
    fn serve_stale(&mut self, value: V) {
        self.served_stale();
        self.finish(value);
    }

    /// The call's value is a stale entry (served at once, or as the fallback of a failed
    /// function): counted, and reported as `Origin::Stale`, here only.
    pub(super) fn served_stale(&mut self) {
        self.origin = Origin::Stale;
        self.inner.stats.stale_served();
    }

    /// A fresh memory entry whose use is due to be recorded (`time_to_idle`): in the memory
    /// tier under its read lock, and in the first persistent tier (that is up) if it holds the
    /// same write (at most once per quarter idle window, not once per hit).
    ///
    /// The persistent entry is read first and rewritten (with the use) only if it is the write
    /// the memory entry came from (the same creation time): the value this call read from memory
    /// may be older than the tier's (another process's write, or this one's `insert`, `remove`
    /// or `clear` since the read), and writing it back would bring the older value back.
    pub(super) fn touch(&mut self, value: V, stamp: Stamp) {
        let inner = self.inner;
        let value = inner.hit(value);
        self.origin = Origin::Hit;
        if let Some(memory) = &inner.memory {
            memory.touch(self.call.key, inner.clock.now_ms());
        }
        if self.key.is_none() {
            return self.finish(value);
        }
        self.touching = Some((value, stamp.created_ms));
        self.state = State::Read {
            tier: 0,
            pass: Pass::Touch,
        };
    }

    /// The first persistent tier's answer to the read of a use to record: the same write is
    /// rewritten with the use, holding the memory entry's value (two writes of one millisecond
    /// look the same: the tier then takes the value this process serves, never the reverse);
    /// anything else is left as it is. Memory keeps its entry.
    pub(super) fn read_touched(&mut self, tier: usize, answer: Result<Option<Entry<V>>>) {
        let Some((value, created_ms)) = self.touching.take() else {
            log::out_of_step("a touch keeps its value until it is written or served")
        };
        match answer {
            Ok(Some(entry)) if entry.created_ms == created_ms => {
                let inner = self.inner;
                let Some(storing) = inner.flights.begin_store(self.hash, self.generation) else {
                    return self.finish(value);
                };
                self.storing = Some(storing);
                let mut entry = Entry {
                    value,
                    touched_ms: inner.clock.now_ms(),
                    ..entry
                };
                entry.expires_ms = inner.ttl.expires_ms(entry.stamp());
                self.state = State::Write {
                    entry,
                    tier,
                    upto: tier + 1,
                    fill: true,
                };
            }
            Ok(_) => self.finish(value),
            Err(e) => {
                self.note_failure(tier, &e);
                self.inner
                    .report(self.inner.backends[tier].name(), "read", &e);
                self.finish(value);
            }
        }
    }

    /// No persistent tier had the write whose use was to be recorded: the memory entry's value
    /// is the call's.
    pub(super) fn touched(&mut self) {
        match self.touching.take() {
            Some((value, _)) => self.finish(value),
            None => log::out_of_step("a touch keeps its value until it is written or served"),
        }
    }

    /// The background refresh this call claimed, if any: its caller hands it the function.
    pub(in crate::cache) fn take_refresh(&mut self) -> Option<Ticket> {
        self.refresh.take()
    }

    /// A background refresh failed: the stale entry stays, the function backs off.
    pub(in crate::cache) fn refresh_failed(&self) {
        let inner = self.inner;
        inner.stats.error("refresh");
        inner.outages.failed(self.hash, inner.clock.now_ms());
        log::refresh_failed(inner.namespace());
    }
}
