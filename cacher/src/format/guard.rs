//! The rules every formatter enforces on both sides, so that what one encodes the same one decodes
//! back, and so that no stored bytes can crash or spin the reader.
//!
//! One [`Guard`] watches one encode or one decode. The serializer ([`Checked`]) and deserializer
//! ([`Seed`]) wrappers forward every call to the format's own and count on the way:
//!
//! - **Depth.** Each `Some`, newtype struct, sequence, tuple, map, struct and enum variant (an enum
//!   counts one level, its tuple or struct content one more) opens a level. More than
//!   [`MAX_DEPTH`](super::MAX_DEPTH) levels is refused on encode, and on decode before the
//!   format's recursion goes deeper, so no entry can overflow the reader's stack.
//! - **Items.** Every sequence element, tuple and struct field and map entry is an item. A binary
//!   entry may hold at most its length in bytes plus
//!   [`ZERO_SIZED_ITEMS`](super::ZERO_SIZED_ITEMS) items (elements of zero-sized types take no
//!   byte); a length prefix that claims more than is left is refused before any element is read.
//! - **JSON's gaps.** JSON has no NaN or infinity (serde_json writes them as `null`) and writes
//!   `Some(x)` as `x`, so `Some(None)` and `Some(())` would read back as `None`: the JSON guard
//!   refuses non-finite floats and a `Some` whose content writes `null`.
//! - **Skipped fields.** A binary format reads fields by position, so a struct that leaves a field
//!   out (`#[serde(skip_serializing_if)]`) would be misread: refused on encode.
//!
//! A guard's own refusals carry messages without stored data; the first is remembered
//! ([`Guard::refusal`]) because some formats (postcard) drop the text of custom errors.

mod de;
mod ser;

use std::cell::Cell;

pub(crate) use self::de::Seed;
pub(crate) use self::ser::Checked;

/// Which rules a guard applies beyond depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// JSON: finite floats, no `Some` of `null`. Items are not limited (each takes a byte).
    Json,
    /// postcard, bincode: items limited by the length, no skipped struct fields.
    Binary,
}

/// The state of one encode or decode.
#[derive(Debug)]
pub(crate) struct Guard {
    mode: Mode,
    depth: Cell<usize>,
    /// Items seen so far.
    items: Cell<u64>,
    /// Items allowed in all (decode); `u64::MAX` while encoding, checked at the end.
    budget: u64,
    refusal: Cell<Option<&'static str>>,
    /// Decoding reads each `str` as bytes and checks their UTF-8 itself ([`Guard::str_as_bytes`]).
    str_as_bytes: bool,
}

impl Guard {
    /// A guard for encoding; [`Guard::check_items`] runs once the length is known.
    pub(crate) fn encoding(mode: Mode) -> Self {
        Self::new(mode, u64::MAX)
    }

    /// A guard for decoding `len` bytes.
    pub(crate) fn decoding(mode: Mode, len: usize) -> Self {
        Self::new(mode, item_budget(len))
    }

    /// A guard for decoding a part of a whole of `len` bytes, as the whole's guard would be
    /// there: `depth` levels open, `items` counted.
    pub(crate) fn decoding_within(mode: Mode, len: usize, depth: usize, items: u64) -> Self {
        let guard = Self::new(mode, item_budget(len));
        guard.depth.set(depth);
        guard.items.set(items);
        guard
    }

    fn new(mode: Mode, budget: u64) -> Self {
        Self {
            mode,
            depth: Cell::new(0),
            items: Cell::new(0),
            budget,
            refusal: Cell::new(None),
            str_as_bytes: false,
        }
    }

    /// For a format that writes a `str` as it writes bytes (postcard: its length, then its
    /// bytes): decoding asks for the bytes and checks their UTF-8 itself, vectorized for long
    /// strings ([`de`]). The same strings are accepted and refused.
    pub(crate) fn str_as_bytes(mut self) -> Self {
        self.str_as_bytes = true;
        self
    }

    /// Whether decoding reads each `str` as bytes.
    pub(crate) fn reads_str_as_bytes(&self) -> bool {
        self.str_as_bytes
    }

    pub(crate) fn mode(&self) -> Mode {
        self.mode
    }

    /// The first rule this guard refused on, if any.
    pub(crate) fn refusal(&self) -> Option<&'static str> {
        self.refusal.get()
    }

    /// Records a refusal and returns its message, for the format's error type.
    pub(crate) fn refuse(&self, why: &'static str) -> &'static str {
        if self.refusal.get().is_none() {
            self.refusal.set(Some(why));
        }
        why
    }

    /// Opens `levels` levels of nesting.
    pub(crate) fn enter(&self, levels: usize) -> Result<(), &'static str> {
        let depth = self.depth.get() + levels;
        if depth > super::MAX_DEPTH {
            return Err(self.refuse("nested deeper than the formatter's depth limit"));
        }
        self.depth.set(depth);
        Ok(())
    }

    /// Closes `levels` levels.
    pub(crate) fn leave(&self, levels: usize) {
        self.depth.set(self.depth.get().saturating_sub(levels));
    }

    /// Counts one item.
    pub(crate) fn item(&self) -> Result<(), &'static str> {
        self.claim(1)
    }

    /// Refuses a length prefix of `n` items when fewer are left (binary decoding).
    pub(crate) fn claim_ahead(&self, n: usize) -> Result<(), &'static str> {
        let left = self.budget - self.items.get().min(self.budget);
        if self.mode == Mode::Binary && n as u64 > left {
            return Err(self.refuse("a length prefix claims more items than the entry can hold"));
        }
        Ok(())
    }

    fn claim(&self, n: u64) -> Result<(), &'static str> {
        let items = self.items.get().saturating_add(n);
        if self.mode == Mode::Binary && items > self.budget {
            return Err(self.refuse("more items than the entry's length allows"));
        }
        self.items.set(items);
        Ok(())
    }

    /// After encoding `len` bytes: refuses what decoding those bytes would refuse.
    pub(crate) fn check_items(&self, len: usize) -> Result<(), &'static str> {
        if self.mode == Mode::Binary && self.items.get() > item_budget(len) {
            return Err(self.refuse(
                "too many zero-sized items: more than the entry's length allows to read back",
            ));
        }
        Ok(())
    }
}

fn item_budget(len: usize) -> u64 {
    (len as u64).saturating_add(super::ZERO_SIZED_ITEMS)
}
