//! [`Listing`] for Redis: `SCAN MATCH cacher:{*` (entries only: the rate limiter's and the
//! locks' keys never match), then per key its first bytes, its length and its expiry.

use std::ops::ControlFlow;

use super::{RedisBackend, SCAN_BATCH};
use crate::backend::listing::{Found, Listed, Listing, META_PREFIX_LEN, classify};
use crate::error::Result;
use crate::format::Formatter;

/// Every entry key of every namespace.
const ENTRY_PATTERN: &str = "cacher:{*";

impl<F: Formatter> RedisBackend<F> {
    /// What is at `key`: `None` when it expired or was removed since the scan.
    fn listed(&self, key: String) -> Result<Option<Listed>> {
        let mut pipe = redis::pipe();
        pipe.cmd("GETRANGE")
            .arg(&key)
            .arg(0)
            .arg(META_PREFIX_LEN - 1)
            .cmd("STRLEN")
            .arg(&key)
            .cmd("PTTL")
            .arg(&key);
        let (head, size, pttl): (Vec<u8>, u64, i64) = self
            .conn
            .query_pipe(&pipe)
            .map_err(|e| self.conn.error(&format!("GETRANGE {key}"), e))?;
        if pttl == -2 {
            return Ok(None);
        }
        let found = if head.is_empty() {
            Found::Corrupt
        } else {
            classify(&head, None, true)
        };
        Ok(Some(Listed {
            location: key,
            size,
            modified_ms: None,
            expires_in_ms: u64::try_from(pttl).ok(),
            found,
        }))
    }
}

impl<F: Formatter> Listing for RedisBackend<F> {
    fn list(&self, visit: &mut dyn FnMut(Listed) -> ControlFlow<()>) -> Result<()> {
        let mut cursor: u64 = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = self
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
            for key in keys {
                if let Some(listed) = self.listed(key)? {
                    if visit(listed).is_break() {
                        return Ok(());
                    }
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
            .query(redis::cmd("GET").arg(location))
            .map_err(|e| self.conn.error(&format!("GET {location}"), e))
    }

    fn remove_at(&self, location: &str) -> Result<()> {
        self.conn
            .query::<()>(redis::cmd("UNLINK").arg(location))
            .map_err(|e| self.conn.error(&format!("UNLINK {location}"), e))
    }
}
