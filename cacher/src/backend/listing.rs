//! Seeing what a backend holds: every entry with its metadata, and every other thing in its
//! place, without decoding values. What the `cacher` command is built on.

use std::ops::ControlFlow;

use serde::Serialize;

use crate::entry::{self, EntryMeta};
use crate::error::Result;

/// The bytes a listing reads of each entry to find its metadata, at first: an entry whose header
/// (its key, mostly) is longer is read again whole, up to the entry size a read accepts.
pub const META_PREFIX_LEN: usize = 16 * 1024;

/// What one thing found by a [`Listing`] is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Found {
    /// An entry of the current layout, with its metadata.
    Entry(EntryMeta),
    /// A writer's temporary file; `orphaned` once it is old enough that no writer is still at it
    /// (a minute), which only a crashed writer leaves.
    Temporary {
        /// Whether no writer can still be at work on it.
        orphaned: bool,
    },
    /// An entry of an older layout of cacher's (an earlier release): no read accepts it. (A
    /// later release's layout is [`Other`](Self::Other): not this release's to judge.)
    Foreign {
        /// Its layout number.
        layout: u32,
    },
    /// Placed as an entry (a store's row, a Redis key of cacher's), or starting as one (a file),
    /// but not one: truncated, garbage, or a header too long.
    Corrupt,
    /// Could not be read: permissions, not a regular file, over the size cap.
    Unreadable {
        /// Why, without stored data.
        reason: String,
    },
    /// Not cacher's (a user's file in a shared directory): listed, never removed by the tool.
    Other,
}

/// One thing in a backend's place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listed {
    /// Where it is: a path relative to the file backend's directory (with `/`), a Redis key.
    pub location: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written, in milliseconds since the Unix epoch, when the backend knows.
    pub modified_ms: Option<u64>,
    /// In how many milliseconds the backend itself drops it (Redis's expiry), if it will.
    pub expires_in_ms: Option<u64>,
    /// What it is.
    #[serde(flatten)]
    pub found: Found,
}

impl Listed {
    /// Its metadata, when it is an entry.
    #[must_use]
    pub fn meta(&self) -> Option<&EntryMeta> {
        match &self.found {
            Found::Entry(meta) => Some(meta),
            _ => None,
        }
    }
}

/// A backend whose entries can be listed, read raw and removed one by one, whatever their
/// namespace or type: [`SeparateFileBackend`](crate::SeparateFileBackend) (a walk of its
/// directory) and [`RedisBackend`](crate::RedisBackend) (`SCAN`). A listing reads each entry's
/// first [`META_PREFIX_LEN`] bytes at most, never decodes a value, and sees a place being
/// written as it is: an entry replaced meanwhile is listed once, old or new; one removed
/// meanwhile may be missing.
///
/// # Examples
///
/// ```
/// use std::ops::ControlFlow;
/// use cacher::{Cache, HashKeyer, Listing, SeparateFileBackend};
///
/// let dir = tempfile::tempdir().unwrap();
/// let cache: Cache<String, usize> = Cache::builder()
///     .namespace("app::len")
///     .keyer(HashKeyer)
///     .backend(SeparateFileBackend::new(dir.path()))
///     .build()
///     .unwrap();
/// cache.get_or_compute("hello", || 5);
///
/// let mut args = Vec::new();
/// SeparateFileBackend::new(dir.path())
///     .list(&mut |listed| {
///         if let Some(meta) = listed.meta() {
///             args.push((meta.namespace.clone(), meta.args.clone()));
///         }
///         ControlFlow::Continue(())
///     })
///     .unwrap();
/// // The key is a hash, but the entry says what it is for.
/// assert_eq!(args, [("app::len".to_owned(), Some("(v2)hello".to_owned()))]);
/// ```
pub trait Listing: Send + Sync {
    /// Calls `visit` with each thing in the backend's place, in no particular order, until it
    /// returns [`ControlFlow::Break`].
    ///
    /// # Errors
    /// When the place cannot be listed at all (Redis down, directory unreadable); a single
    /// unreadable file is reported as [`Found::Unreadable`] instead.
    fn list(&self, visit: &mut dyn FnMut(Listed) -> ControlFlow<()>) -> Result<()>;

    /// The whole stored bytes at `location` (as listed), `None` when nothing is there any more.
    ///
    /// # Errors
    /// I/O failures, and a location outside the backend's place.
    fn read_at(&self, location: &str) -> Result<Option<Vec<u8>>>;

    /// Removes what is at `location` (as listed); nothing there is not an error.
    ///
    /// # Errors
    /// I/O failures, and a location outside the backend's place.
    fn remove_at(&self, location: &str) -> Result<()>;

    /// Removes the entry `listed` if it is still what was listed at its location — the same
    /// [`EntryMeta`]: namespace, key, code, creation and use times — so that one written there
    /// since (another namespace's entry renamed over it, a fresh value over an expired one)
    /// stays. Whether it removed. The file, store and Redis backends check it in the removal's
    /// own step; by default (a backend of the user's) [`remove_at`](Self::remove_at).
    ///
    /// # Errors
    /// As [`remove_at`](Self::remove_at).
    fn remove_listed(&self, listed: &Listed) -> Result<bool> {
        self.remove_at(&listed.location).map(|()| true)
    }

    /// Moves the generation of every key of `namespace`, as a cache's `clear` does first, where
    /// its entries (found at `locations`) are kept: a value that a call began computing before
    /// does not land after it, whatever its key — one of a key that has no entry yet too, which
    /// no removal of [`remove_at`](Self::remove_at) reaches. What `cacher clear` does before
    /// it removes a namespace's entries. By default, nothing.
    ///
    /// # Errors
    /// I/O failures, and a location outside the backend's place.
    fn invalidate_namespace(&self, namespace: &str, locations: &[&str]) -> Result<()> {
        let _ = (namespace, locations);
        Ok(())
    }
}

/// What a file's first bytes say it is. Its directory may be the platform's whole cache
/// directory, other programs' files and all, so a file is a problem of cacher's only when its
/// bytes start as an entry does: `{"cacher":`, or — in a file named `.bin` or `.postcard` — that
/// format's layout number and namespace. A user's `settings.json`, an empty file, notes that
/// start with a blank line (which read as a postcard layout number) are [`Found::Other`].
pub(crate) fn classify_file(prefix: &[u8], extension: Option<&str>) -> Found {
    let marked = prefix.first() == Some(&b'{') || matches!(extension, Some("bin" | "postcard"));
    match classify(prefix, extension, false) {
        Found::Foreign { .. } | Found::Corrupt if !marked => Found::Other,
        found => found,
    }
}

/// What the first bytes of something stored say it is; `named` when its place says it is an
/// entry (a Redis key of cacher's, a store's row).
pub(crate) fn classify(prefix: &[u8], extension: Option<&str>, named: bool) -> Found {
    if let Some(meta) = entry::meta_any(prefix, extension) {
        return Found::Entry(meta);
    }
    match entry::layout_any(prefix, extension) {
        // A later release's layout (the other half of a rolling deploy), or another program's
        // file that starts as one would (a protobuf message whose first field is a string reads
        // as layout 10 and a namespace): not this release's to judge, left alone.
        Some(layout) if layout > entry::LAYOUT => Found::Other,
        Some(layout) if layout != entry::LAYOUT => Found::Foreign { layout },
        Some(_) => Found::Corrupt,
        None if named => Found::Corrupt,
        None => Found::Other,
    }
}

/// Whether what was classified `found` from its first `read` bytes of `len` may be a whole entry
/// whose header goes on past them (a key longer than [`META_PREFIX_LEN`]: a custom keyer's key of
/// a long argument): then it is worth classifying again from all its bytes, which a listing
/// reads only for such rare things.
pub(crate) fn header_goes_on(found: &Found, read: usize, len: u64) -> bool {
    *found == Found::Corrupt && read >= META_PREFIX_LEN && len > read as u64
}

/// Stored bytes (a store's or a Redis key) as a printable location that reads back exactly:
/// `\` written `\\`, a NUL `\0`, a byte that is not UTF-8 `\xff`.
pub(crate) fn location_of(id: &[u8]) -> String {
    let mut location = String::with_capacity(id.len());
    for chunk in id.utf8_chunks() {
        location.push_str(&chunk.valid().replace('\\', "\\\\").replace('\0', "\\0"));
        for byte in chunk.invalid() {
            location.push_str(&format!("\\x{byte:02x}"));
        }
    }
    location
}

/// The bytes [`location_of`] wrote `location` from; `None` when it is not such a location.
pub(crate) fn bytes_of_location(location: &str) -> Option<Vec<u8>> {
    let mut id = Vec::with_capacity(location.len());
    let mut chars = location.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            id.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
            continue;
        }
        match chars.next()? {
            '0' => id.push(0),
            '\\' => id.push(b'\\'),
            'x' => {
                let digits: String = chars.by_ref().take(2).collect();
                let hex = digits.len() == 2 && digits.bytes().all(|b| b.is_ascii_hexdigit());
                id.push(u8::from_str_radix(&digits, 16).ok().filter(|_| hex)?);
            }
            _ => return None,
        }
    }
    Some(id)
}
