//! [`Listing`] for Redis: `SCAN MATCH cacher:{*` (entries only: the rate limiter's and the
//! locks' keys never match), then for each batch of keys, in one round trip, their first bytes,
//! lengths and expiries.

use std::collections::HashSet;
use std::ops::ControlFlow;

use super::{RedisBackend, SCAN_BATCH};
use crate::backend::listing::{
    Found, Listed, Listing, META_PREFIX_LEN, bytes_of_location, classify, header_goes_on,
    location_of,
};
use crate::entry::MAX_ENTRY_BYTES;
use crate::error::{Error, Result};
use crate::format::Formatter;

/// Every entry key of every namespace.
const ENTRY_PATTERN: &str = "cacher:{*";

impl<F: Formatter> RedisBackend<F> {
    /// What is at each of `keys`, in one round trip; a key that expired or was removed since
    /// the scan is left out.
    fn listed(&self, keys: Vec<Vec<u8>>) -> Result<Vec<Listed>> {
        // A `SCAN` batch may hold no key of cacher's (an empty database, or a batch of other
        // keys under `MATCH`), and an empty pipeline is the client's error.
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for key in &keys {
            pipe.cmd("GETRANGE")
                .arg(key)
                .arg(0)
                .arg(META_PREFIX_LEN - 1);
            pipe.cmd("STRLEN").arg(key);
            pipe.cmd("PTTL").arg(key);
        }
        // Each key's own failure in its reply, so that one value of another type is that
        // key's answer, not the batch's.
        pipe.ignore_errors();
        let replies: Vec<(Vec<u8>, u64, i64)> = self
            .conn
            .query_pipe::<Vec<redis::Value>>(&pipe)
            .and_then(|values| values.chunks(3).map(reply).collect())
            .map_err(|e| self.conn.error("GETRANGE, STRLEN, PTTL (listing)", e))?;
        let listed = keys.into_iter().zip(replies);
        listed
            .filter(|(_, (_, _, pttl))| *pttl != -2)
            .map(|(key, (head, size, pttl))| {
                Ok(Listed {
                    found: self.found(&key, &head, size)?,
                    location: location_of(&key),
                    size,
                    modified_ms: None,
                    expires_in_ms: u64::try_from(pttl).ok(),
                })
            })
            .collect()
    }

    /// What the value at `key` is, from its first bytes `head` of `size`; read again whole (one
    /// more round trip) when its header goes on past them (a key longer than the first read)
    /// and the whole is what a read accepts.
    fn found(&self, key: &[u8], head: &[u8], size: u64) -> Result<Found> {
        if head.is_empty() {
            return Ok(Found::Corrupt);
        }
        let found = classify(head, None, true);
        if !header_goes_on(&found, head.len(), size) || size > MAX_ENTRY_BYTES as u64 {
            return Ok(found);
        }
        let whole: Option<Vec<u8>> = self
            .conn
            .query(redis::cmd("GET").arg(key))
            .map_err(|e| self.conn.error("GET (listing)", e))?;
        Ok(whole.map_or(found, |whole| classify(&whole, None, true)))
    }
}

/// The keys of `batch` not in `seen`, which records them.
fn unseen(seen: &mut HashSet<Vec<u8>>, mut batch: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    batch.retain(|key| seen.insert(key.clone()));
    batch
}

/// One key's first bytes, length and expiry. A value of another type than a string under an
/// entry's key (a list planted there) answers `WRONGTYPE` to the first two: no bytes, listed as a
/// corrupt entry (which `verify --repair` removes), as a corrupt file is; any other failure is
/// the listing's.
fn reply(reply: &[redis::Value]) -> redis::RedisResult<(Vec<u8>, u64, i64)> {
    let not_a_string = |value: &redis::Value| matches!(value, redis::Value::ServerError(e) if e.code() == "WRONGTYPE");
    match reply {
        [head, size, pttl] if not_a_string(head) && not_a_string(size) => {
            Ok((Vec::new(), 0, redis::from_redis_value(pttl.clone())?))
        }
        _ => Ok(redis::from_redis_value(redis::Value::Array(
            reply.to_vec(),
        ))?),
    }
}

impl<F: Formatter> Listing for RedisBackend<F> {
    fn list(&self, visit: &mut dyn FnMut(Listed) -> ControlFlow<()>) -> Result<()> {
        let mut cursor: u64 = 0;
        // `SCAN` may return a key twice (its table resized between batches): listed once.
        let mut seen = HashSet::new();
        loop {
            // Keys as bytes: one that is not UTF-8 is listed (as `\xff`), not an error.
            let (next, keys): (u64, Vec<Vec<u8>>) = self
                .conn
                .query(
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(ENTRY_PATTERN)
                        .arg("COUNT")
                        .arg(SCAN_BATCH),
                )
                .map_err(|e| self.conn.error(&format!("SCAN MATCH {ENTRY_PATTERN}"), e))?;
            for listed in self.listed(unseen(&mut seen, keys))? {
                if visit(listed).is_break() {
                    return Ok(());
                }
            }
            if next == 0 {
                return Ok(());
            }
            cursor = next;
        }
    }

    fn read_at(&self, location: &str) -> Result<Option<Vec<u8>>> {
        self.conn
            .query(redis::cmd("GET").arg(key_of(location)?))
            .map_err(|e| self.conn.error(&format!("GET {location}"), e))
    }

    /// An entry's key is removed as `remove` removes it, with the move of its generation (a
    /// value computed before `cacher clear` does not land after it); another key by `UNLINK`.
    fn remove_at(&self, location: &str) -> Result<()> {
        let key = key_of(location)?;
        let removed = match super::generations::remove_listed(&key) {
            Some(eval) => self.conn.eval::<()>(&eval),
            None => self.conn.query::<()>(redis::cmd("UNLINK").arg(&key)),
        };
        removed.map_err(|e| self.conn.error(&format!("UNLINK {location}"), e))
    }

    /// As [`remove_at`](Self::remove_at), if the key still holds what was listed: its value read
    /// (one round trip), then removed only if it is still those bytes (the script compares
    /// them): a value written there since — a fresh one over the expired one `prune` listed —
    /// stays, and its key's generation does not move.
    fn remove_listed(&self, listed: &Listed) -> Result<bool> {
        let Found::Entry(_) = &listed.found else {
            return self.remove_at(&listed.location).map(|()| true);
        };
        let key = key_of(&listed.location)?;
        let read = self.conn.query(redis::cmd("GET").arg(&key));
        let bytes: Vec<u8> = match read {
            Ok(Some(bytes)) => bytes,
            // Gone, or a value of another type now: not what was listed.
            Ok(None) => return Ok(false),
            Err(e) if e.code() == Some("WRONGTYPE") => return Ok(false),
            Err(e) => return Err(self.conn.error(&format!("GET {}", listed.location), e)),
        };
        if classify(&bytes, None, true) != listed.found {
            return Ok(false);
        }
        let Some(eval) = super::generations::remove_if(&key, &bytes) else {
            return self.remove_at(&listed.location).map(|()| true);
        };
        let removed: i64 = (self.conn.eval(&eval))
            .map_err(|e| self.conn.error(&format!("UNLINK {}", listed.location), e))?;
        Ok(removed == 1)
    }

    /// Moves every key's generation of `namespace`, as `clear` does: its hash's `all`.
    fn invalidate_namespace(&self, namespace: &str, _locations: &[&str]) -> Result<()> {
        let hash = Self::hash_key(namespace);
        self.conn
            .eval::<()>(&super::generations::clear(&hash))
            .map_err(|e| self.conn.error(&format!("HINCRBY {hash}"), e))
    }
}

/// The key a location names (as [`location_of`] wrote it).
fn key_of(location: &str) -> Result<Vec<u8>> {
    bytes_of_location(location)
        .ok_or_else(|| Error::Config(format!("not a Redis location: {location:?}")))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::unseen;

    /// Redis's `SCAN` may return a key in two batches (when its table shrinks or grows between
    /// them): the listing promises each entry once, so `ls` counts it once and `clear` removes
    /// it once.
    #[test]
    fn a_key_scan_returns_again_is_listed_once() {
        let mut seen = HashSet::new();
        let key = |k: &str| k.as_bytes().to_vec();
        assert_eq!(
            unseen(&mut seen, vec![key("a"), key("b")]),
            [key("a"), key("b")]
        );
        assert_eq!(
            unseen(&mut seen, vec![key("b"), key("c"), key("a")]),
            [key("c")]
        );
    }
}
