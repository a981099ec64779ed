//! The persistent tiers' generations of the key ([`Generation`]), read before the function runs
//! ([`Step::Generations`]), and how each tier's write is made with them ([`Put`]): a value
//! computed before another process invalidated the key in a tier they share is not stored there
//! after it, as the key's generation in this process keeps it out of every tier.

use super::values::Read;
use super::{Core, Goal, Phase, Step, Values};
use crate::backend::Generation;

/// How a tier's write is made (`drive::write_tier`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::cache) enum Put {
    /// A later tier's entry copied in: only where the tier holds none.
    Fill,
    /// An `insert`'s value: over any entry (the tier's generation moves).
    Insert,
    /// A computed value: only if the tier's generation is still the one read before the
    /// function ran.
    Since(Generation),
    /// A computed value for a tier whose generation could not be read: not written.
    Skip,
}

impl<'a> Core<'a> {
    /// Whether the call is about to run its function without the tiers' generations, which its
    /// store will need. Asked each time the core is in `Phase::Compute`: first before the step
    /// (then `Step::Generations`), then after it, read (then the function runs). A call runs its
    /// function once; a waiter whose leader failed reads them when it comes to run its own.
    pub(super) fn reads_generations(&self) -> Option<Step<'a>> {
        let computes = matches!(self.goal, Goal::Compute | Goal::Refresh | Goal::Revalidate);
        (computes && self.tiers > 0 && self.key.is_some() && self.seen.is_none())
            .then_some(Step::Generations)
    }

    /// The tiers' generations, read for [`Step::Generations`]: a tier that failed to read its
    /// own is reported as a failed read (and is down for the call, for a service error), and
    /// takes no value.
    pub(super) fn seen(&mut self, read: Read, v: &mut dyn Values<'a>) {
        let mut seen = Vec::with_capacity(read.len());
        for (tier, read) in read.into_iter().enumerate() {
            seen.push(match read {
                Some(Ok(generation)) => Some(generation),
                Some(Err(e)) => {
                    self.note_failure(tier, &e);
                    self.shared.report(v.tier_name(tier), "read", &e);
                    None
                }
                None => None,
            });
        }
        self.seen = Some(seen);
    }

    /// How tier `tier`'s write of the store under way is made.
    pub(super) fn put(&self, tier: usize) -> Put {
        match (self.phase, self.goal) {
            (Phase::Write { fill: true, .. }, _) => Put::Fill,
            (_, Goal::Store) => Put::Insert,
            _ => match self.seen.as_ref().and_then(|seen| seen.get(tier)) {
                Some(Some(generation)) => Put::Since(*generation),
                _ => Put::Skip,
            },
        }
    }

    /// Reads the tiers' generations (blocking), for [`Step::Generations`].
    #[inline(never)]
    pub(super) fn generations_step(&mut self, v: &mut dyn Values<'a>) {
        let read = v.generations(self.key, self.down);
        self.seen(read, v);
    }
}
