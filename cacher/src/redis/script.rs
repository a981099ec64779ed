//! Lua scripts sent by their hash: `EVALSHA`, and `EVAL` with the script's text when the server
//! does not hold it yet (`NOSCRIPT`: after its start, a `SCRIPT FLUSH`, a failover), which loads
//! it. A write then carries its arguments, not the script's kilobyte of text, and the server
//! hashes no script per call.

use redis::{Cmd, ToRedisArgs};

/// A script's text and its SHA-1 (as Redis names it).
pub(crate) struct Lua {
    text: String,
    sha: String,
}

impl Lua {
    /// The script of `parts` joined.
    pub(crate) fn new(parts: &[&str]) -> Self {
        let text = parts.concat();
        let sha = redis::Script::new(&text).get_hash().to_owned();
        Self { text, sha }
    }
}

/// One call of a script: its keys' count, keys and arguments.
pub(crate) struct Eval<'l> {
    lua: &'l Lua,
    args: Vec<Vec<u8>>,
}

impl<'l> Eval<'l> {
    /// A call of `lua` with `keys` (the arguments follow, [`arg`](Self::arg)).
    pub(crate) fn new(lua: &'l Lua, keys: &[&[u8]]) -> Self {
        let mut args = keys.len().to_redis_args();
        args.extend(keys.iter().map(|key| key.to_vec()));
        Self { lua, args }
    }

    /// One more argument.
    #[must_use]
    pub(crate) fn arg(mut self, arg: impl ToRedisArgs) -> Self {
        self.args.extend(arg.to_redis_args());
        self
    }

    /// The command: by the script's hash, or (`by_hash` false) with its text.
    pub(crate) fn cmd(&self, by_hash: bool) -> Cmd {
        let mut cmd = redis::cmd(if by_hash { "EVALSHA" } else { "EVAL" });
        cmd.arg(if by_hash {
            &self.lua.sha
        } else {
            &self.lua.text
        });
        for arg in &self.args {
            cmd.arg(arg.as_slice());
        }
        cmd
    }

    /// The arguments after the script (its keys' count first), for tests.
    #[cfg(test)]
    pub(crate) fn args(&self) -> &[Vec<u8>] {
        &self.args
    }
}

/// Whether a script sent by its hash was not held by the server.
pub(crate) fn not_held(error: &redis::RedisError) -> bool {
    error.code() == Some("NOSCRIPT")
}
