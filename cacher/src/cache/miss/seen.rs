//! The persistent tiers' generations of the key ([`Generation`](crate::backend::Generation)),
//! read before the function runs and, for a tier that missed, before the next tier is read
//! ([`Step::Generations`]), and how each tier's write is made with them ([`Put`]): a value
//! computed — or read from a later tier — before another process invalidated the key in a tier
//! they share is not stored there after it, as the key's generation in this process keeps it
//! out of every tier.

use super::values::{Read, tiers_of};
use super::{Core, Goal, Pass, Phase, Step, Values};
use crate::cache::tier_io::Put;

impl<'a> Core<'a> {
    /// Whether the call is about to run its function without every tier's generation, which its
    /// store will need. Asked each time the core is in `Phase::Compute`: first before the step
    /// (then `Step::Generations`), then after it, read (then the function runs). Those read
    /// earlier in the call (a tier that missed before a later one was read) are kept: read
    /// before the function runs, they are as good. A waiter whose leader failed reads the rest
    /// when it comes to run its own.
    pub(super) fn reads_generations(&self) -> Option<Step<'a>> {
        let computes = matches!(self.goal, Goal::Compute | Goal::Refresh | Goal::Revalidate);
        (computes && self.key.is_some() && self.seen.len() < self.tiers)
            .then_some(Step::Generations(self.tiers))
    }

    /// Whether the generations of the tiers before `tier` are to be read before `tier` is: they
    /// missed, and a hit in `tier` would be copied into them (a fill; a peek and a look for a
    /// failed function's fallback copy nothing).
    pub(super) fn reads_before(&self, tier: usize, pass: Pass) -> Option<Step<'a>> {
        let fills = self.goal != Goal::Peek && pass != Pass::Fallback;
        (fills && self.seen.len() < tier).then_some(Step::Generations(tier))
    }

    /// The generations read for [`Step::Generations`], of the tiers from the first not read
    /// yet: a tier that failed to read its own is reported as a failed read (and is down for
    /// the call, for a service error), and takes no value.
    pub(super) fn seen(&mut self, read: Read, v: &mut dyn Values<'a>) {
        for read in read {
            let tier = self.seen.len();
            let seen = match read {
                Some(Ok(generation)) => Some(generation),
                Some(Err(e)) => {
                    self.note_failure(tier, &e);
                    self.shared.report(tiers_of(v).tier_name(tier), "read", &e);
                    None
                }
                None => None,
            };
            self.seen.push(seen);
        }
    }

    /// How many tiers' generations were read (those before it).
    #[cfg(feature = "tokio")]
    pub(super) fn seen_len(&self) -> usize {
        self.seen.len()
    }

    /// How tier `tier`'s write of the store under way is made.
    pub(super) fn put(&self, tier: usize) -> Put {
        let seen = self.seen.get(tier).copied().flatten();
        match (self.phase, self.goal, seen) {
            (_, Goal::Store, _) => Put::Insert,
            (_, _, None) => Put::Skip,
            (Phase::Write { fill: true, .. }, _, Some(seen)) => Put::Fill(seen),
            (_, Goal::Refresh, Some(seen)) => Put::Refresh(seen, self.began_ms),
            (_, _, Some(seen)) => Put::Since(seen),
        }
    }

    /// Reads the generations of the tiers not read yet before `upto` (blocking), for
    /// [`Step::Generations`].
    #[inline(never)]
    pub(super) fn generations_step(&mut self, upto: usize, v: &mut dyn Values<'a>) {
        let refresh = self.moves_generations();
        let read = tiers_of(v).generations(self.key, self.down, refresh, self.seen.len()..upto);
        self.seen(read, v);
    }
}
