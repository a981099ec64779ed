//! The blocking driver's steps that need no value of the caller's: tier reads and writes (done
//! by the shell, in their spans), waits for another caller, the cross-process lock. Taken here,
//! in the core, so that the blocking driver (a copy per function) is only the function's run.

use super::values::tiers_of;
use super::{Core, Phase, Step, Values};
use crate::cache::generation::Storing;

impl<'a> Core<'a> {
    /// Performs the steps up to the next that needs the caller: the function's run
    /// ([`Step::Compute`]) or the value ([`Step::Done`]).
    ///
    /// A value stored in memory alone is done when `computed` returns: that end is answered
    /// here, inline, rather than by a call of the step loop, whose entry costs a memory-only
    /// miss as much as the step itself (it loads the shell's methods for the whole loop).
    #[cfg_attr(not(debug_assertions), inline)]
    pub(in crate::cache) fn advance(&mut self, v: &mut dyn Values<'a>) -> Step<'a> {
        if let Phase::Done = self.phase {
            self.phase = Phase::Over;
            return Step::Done;
        }
        self.steps(v)
    }

    /// [`advance`](Self::advance)'s loop. The steps' I/O out of line: a memory-only miss takes
    /// none, and inlined here they made the loop's entry load the shell's methods they call.
    fn steps(&mut self, v: &mut dyn Values<'a>) -> Step<'a> {
        loop {
            match self.next(v) {
                Step::Read(tier) => self.read_step(tier, v),
                Step::Write(tier) => self.write_step(tier, v),
                Step::Wait(bound) => self.wait_step(bound, v),
                Step::Lock(lock, name) => self.locked(lock.lock(name), v),
                Step::Generations(upto) => self.generations_step(upto, v),
                step @ (Step::Compute(_) | Step::Done) => return step,
            }
        }
    }

    /// Reads persistent tier `tier` (blocking), for [`Step::Read`].
    #[inline(never)]
    fn read_step(&mut self, tier: usize, v: &mut dyn Values<'a>) {
        let answer = tiers_of(v).read(tier, self.key);
        self.read(answer, v);
    }

    /// Writes persistent tier `tier` (blocking), for [`Step::Write`]: the call's value, or a
    /// later tier's entry as a fill ([`put`](Self::put)); the key taken out instead when an
    /// invalidation went on without this store (`tier_io::write_tier`, as the async driver's job).
    #[inline(never)]
    fn write_step(&mut self, tier: usize, v: &mut dyn Values<'a>) {
        let result = tiers_of(v).write(tier, self.key, self.put(tier), &|| self.went_on());
        self.wrote(result, v);
    }

    /// Waits for the flight this call joined (blocking), for [`Step::Wait`].
    #[inline(never)]
    fn wait_step(&mut self, bound: std::time::Duration, v: &mut dyn Values<'a>) {
        let outcome = self.flight().wait(bound);
        self.waited_for(outcome, v);
    }

    /// Whether an invalidation went on without the store under way (waited out its bound).
    fn went_on(&self) -> bool {
        self.storing.as_ref().is_some_and(Storing::went_on)
    }
}
