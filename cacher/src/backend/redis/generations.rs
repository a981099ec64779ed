//! Redis's generations of its keys ([`PersistentBackend::generation`]): a hash per namespace,
//! `cacher:gen:{<namespace>}` (the hash tag of the namespace's entries: one Cluster slot, so that
//! a script reaches both), whose field `all` counts the namespace's clears and whose field per
//! key stripe (of 4 096) records the stripe's invalidations: `count,h1,h2,h3,h4`, their count and
//! the hashes of the last four keys that moved it ([`Moves`](crate::backend::generation::Moves),
//! as the file and store tiers keep it). An `insert` or `remove` moves it and writes in one
//! script, a forced refresh's start moves it alone ([`MOVED`]); a computed value's write compares it and writes in one script: no other machine's
//! invalidation comes between. The hash has no expiry (at most 4 097 short fields a namespace),
//! and `clear` keeps it.
//!
//! `all` starts at a random value ([`start`]), set by the first read or clear that finds none:
//! a hash Redis lost (a restart without persistence, a flush, its eviction) and made anew then
//! has counts that may repeat the lost one's, and a computation that read those before the loss
//! would otherwise take them for unmoved. A generation is only ever read with `all` set, and a
//! hash without it (or with another start) refuses it.
//!
//! [`PersistentBackend::generation`]: crate::PersistentBackend::generation

use std::sync::LazyLock;

use redis::Cmd;

use crate::backend::Generation;
use crate::backend::generation::{self, stripe_of};
use crate::redis::{Eval, Lua};

/// The scripts, sent by their hash (`EVALSHA`, `crate::redis::Eval`).
static INVALIDATE_LUA: LazyLock<Lua> = LazyLock::new(|| Lua::new(&[OWNED, RECORD, INVALIDATE]));
static SINCE_LUA: LazyLock<Lua> = LazyLock::new(|| Lua::new(&[OWNED, RECORD, SINCE]));
static START_LUA: LazyLock<Lua> = LazyLock::new(|| Lua::new(&[OWNED, START]));
static CLEAR_LUA: LazyLock<Lua> = LazyLock::new(|| Lua::new(&[OWNED, CLEAR]));
static REMOVE_IF_LUA: LazyLock<Lua> = LazyLock::new(|| Lua::new(&[OWNED, RECORD, REMOVE_IF]));
static MOVED_LUA: LazyLock<Lua> = LazyLock::new(|| Lua::new(&[OWNED, RECORD, MOVED]));

/// Stripes per namespace.
const STRIPES: u64 = 4096;

/// Deletes what is at the hash unless it is one of ours: a value of another type, or a hash
/// whose `all` is not a count of ours (planted, or another program's), is a lost hash, made
/// anew. A count is digits only, below 2^53: `tonumber` alone took `1.5`, `-1`, `1e3`, `0x10`
/// and `nan` for one, which [`generation()`] does not parse and `HINCRBY` refuses.
const OWNED: &str = r"
local function count(text)
  local n = string.find(text, '^%d+$') and tonumber(text)
  if n and n < 9007199254740992 then return n end
end
local function owned(gen)
  if redis.call('TYPE', gen).ok ~= 'hash' then redis.call('DEL', gen); return end
  local all = redis.call('HGET', gen, 'all')
  if all and not count(all) then redis.call('DEL', gen) end
end
";

/// Reads a stripe's record; the next two move it. `string.format('%d')`: counts stay below 2^53.
/// What is at the hash is [`OWNED`] before a move. A count that is not one of [`OWNED`]'s (planted:
/// `-5`, `1e309`) is 0, as [`generation()`] reads it: `tonumber` alone made `moves` negative or
/// NaN, which refused every store of the stripe for good and failed every removal (helper-111).
const RECORD: &str = r"
local function record(gen, stripe)
  local r = {0, '', '', '', ''}
  local raw = redis.call('HGET', gen, stripe)
  if raw then
    local i = 1
    for part in string.gmatch(raw, '[^,]+') do
      if i <= 5 then r[i] = part end
      i = i + 1
    end
    r[1] = count(r[1]) or 0
  end
  return r
end
local function moved(gen, stripe, key)
  owned(gen)
  local r = record(gen, stripe)
  r[2 + (r[1] % 4)] = key
  r[1] = r[1] + 1
  redis.call('HSET', gen, stripe, string.format('%d', r[1]) .. ',' .. table.concat(r, ',', 2))
end
local function set(key, bytes, px)
  if px == '0' then redis.call('UNLINK', key); return 0 end
  if px == '' then redis.call('SET', key, bytes) else redis.call('SET', key, bytes, 'PX', px) end
  return 1
end
";

/// KEYS: hash, entry. ARGV: stripe, key's hash, then the value and its `PX` ('' for none; '0':
/// its time is up, the entry is taken out), or nothing for a removal.
const INVALIDATE: &str = r"
moved(KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] then set(KEYS[2], ARGV[3], ARGV[4]) else redis.call('UNLINK', KEYS[2]) end
return 1
";

/// KEYS: hash, entry. ARGV: stripe, key's hash. A forced refresh's start: the key's generation
/// moved, its entry left.
const MOVED: &str = r"
moved(KEYS[1], ARGV[1], ARGV[2])
return 1
";

/// KEYS: hash, entry. ARGV: stripe, key's hash, the entry's bytes as they were read. A removal
/// (as [`INVALIDATE`]'s) made only if the key still holds a string of exactly those bytes:
/// whether it was made.
const REMOVE_IF: &str = r"
if redis.call('TYPE', KEYS[2]).ok ~= 'string' then return 0 end
if redis.call('GET', KEYS[2]) ~= ARGV[3] then return 0 end
moved(KEYS[1], ARGV[1], ARGV[2])
redis.call('UNLINK', KEYS[2])
return 1
";

/// KEYS: hash, entry. ARGV: stripe, key's hash, clears seen, count seen, value, `PX` (as
/// [`INVALIDATE`]'s: '0' takes the older entry out, and answers 0), and `nx` for a fill (only
/// where the key has no entry).
const SINCE: &str = r"
if ARGV[7] == 'nx' and redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return 0 end
local all = tonumber(redis.call('HGET', KEYS[1], 'all') or '0')
if all ~= tonumber(ARGV[3]) then return 0 end
local r = record(KEYS[1], ARGV[1])
local seen = tonumber(ARGV[4])
local moves = r[1] - seen
if moves < 0 or moves > 4 then return 0 end
for i = 0, moves - 1 do
  if r[2 + ((seen + i) % 4)] == ARGV[2] then return 0 end
end
return set(KEYS[2], ARGV[5], ARGV[6])
";

/// The generations hash of `namespace` (escaped as in the entries' keys).
pub(super) fn hash_key(escaped_namespace: &str) -> String {
    format!("cacher:gen:{{{escaped_namespace}}}")
}

/// The stripe field and the key's hash, of the entry at `redis_key`.
fn stripe(redis_key: &[u8]) -> (String, String) {
    let (stripe, key) = stripe_of(redis_key, STRIPES);
    (stripe.to_string(), key.to_string())
}

/// KEYS: hash. ARGV: a start for `all`, the stripe. `all` set if the hash has none (what is
/// there [`OWNED`] first), then read as [`read`] does.
const START: &str = r"
owned(KEYS[1])
redis.call('HSETNX', KEYS[1], 'all', ARGV[1])
return redis.call('HMGET', KEYS[1], 'all', ARGV[2])
";

/// KEYS: hash. ARGV: a start for `all`. A clear's move of every key's generation: `all` set if
/// the hash has none (as [`START`]), else moved by one.
const CLEAR: &str = r"
owned(KEYS[1])
if redis.call('HSETNX', KEYS[1], 'all', ARGV[1]) == 0 then
  redis.call('HINCRBY', KEYS[1], 'all', 1)
end
return 1
";

/// `HMGET hash all <stripe>`: the generation of the entry at `redis_key`, with [`generation()`].
pub(super) fn read(hash: &str, redis_key: &str) -> Cmd {
    let mut cmd = redis::cmd("HMGET");
    cmd.arg(hash).arg("all").arg(stripe(redis_key.as_bytes()).0);
    cmd
}

/// What [`read`] answers, `None` when the hash has no `all` (new, or lost) or one that is not a
/// number: [`start`] it then.
pub(super) fn generation((all, record): (Option<String>, Option<String>)) -> Option<Generation> {
    // A stripe's count that is not one is 0, as to the scripts (`RECORD`).
    let moved = (record.as_deref())
        .and_then(|r| count(r.split(',').next()?))
        .unwrap_or(0);
    // An `all` that is not a count is not ours: a lost hash, which `start` makes anew (`OWNED`).
    let all = count(all.as_deref()?)?;
    Some(Generation::new(u128::from(all) << 64 | u128::from(moved)))
}

/// A count of the hash as the scripts take one (`OWNED`'s `count`): digits only, below 2^53.
fn count(text: &str) -> Option<u64> {
    (text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse::<u64>().ok())
        .flatten()
        .filter(|count| *count < 1 << 53)
}

/// What [`read`] answered: `Ok(None)` when the hash has no `all`, or is a value of another type
/// (`WRONGTYPE`: another program's, or planted), which [`start`] replaces, as a lost hash.
pub(super) fn answered(
    read: redis::RedisResult<(Option<String>, Option<String>)>,
) -> redis::RedisResult<Option<Generation>> {
    match read {
        Err(e) if e.code() == Some("WRONGTYPE") => Ok(None),
        read => read.map(generation),
    }
}

/// [`read`], `all` set first at a random start if the hash has none, in one script.
pub(super) fn start(hash: &str, redis_key: &str) -> Eval<'static> {
    Eval::new(&START_LUA, &[hash.as_bytes()])
        .arg(random_start())
        .arg(stripe(redis_key.as_bytes()).0)
}

/// A start for `all`, in [2^51, 2^52): random (51 bits), so that a hash made anew does not
/// repeat a lost one's counts; below 2^53, which Lua's numbers hold exactly, with room for the
/// clears that add to it.
fn random_start() -> u64 {
    (generation::random() >> 13) | 1 << 51
}

fn script(lua: &'static Lua, (hash, redis_key): (&[u8], &[u8])) -> Eval<'static> {
    let (field, key) = stripe(redis_key);
    Eval::new(lua, &[hash, redis_key]).arg(field).arg(key)
}

/// An `insert` (`set`: the value and its `PX`, `None` for none) or a removal (`None`), with
/// the move of the key's generation.
pub(super) fn invalidate(
    (hash, redis_key): (&str, &str),
    set: Option<(&[u8], Option<u64>)>,
) -> Eval<'static> {
    let eval = script(&INVALIDATE_LUA, (hash.as_bytes(), redis_key.as_bytes()));
    match set {
        Some((bytes, px)) => eval
            .arg(bytes)
            .arg(px.map_or(String::new(), |px| px.to_string())),
        None => eval,
    }
}

/// A computed value's `SET` (a fill's, `nx`: only where the key has no entry), made only if
/// the key was not invalidated since `seen`: the script answers 1 if it wrote.
pub(super) fn since(
    at: (&str, &str),
    (seen, nx): (Generation, bool),
    (bytes, px): (&[u8], Option<u64>),
) -> Eval<'static> {
    let seen = seen.value();
    script(&SINCE_LUA, (at.0.as_bytes(), at.1.as_bytes()))
        .arg((seen >> 64) as u64)
        .arg(seen as u64)
        .arg(bytes)
        .arg(px.map_or(String::new(), |px| px.to_string()))
        .arg(if nx { "nx" } else { "" })
}

/// A forced refresh's start: the move of the key's generation alone.
pub(super) fn moved((hash, redis_key): (&str, &str)) -> Eval<'static> {
    script(&MOVED_LUA, (hash.as_bytes(), redis_key.as_bytes()))
}

/// The removal of the value at `redis_key` by its location (`Listing::remove_at`: `cacher
/// clear`, `prune`, `verify --repair`), with the move of its generation as a `remove`'s, when it
/// is an entry's key (`cacher:{<namespace>}:…`, the namespace escaped: it ends at the first
/// `}`); `None` for another key.
pub(super) fn remove_listed(redis_key: &[u8]) -> Option<Eval<'static>> {
    let hash = hash_of_entry(redis_key)?;
    Some(script(&INVALIDATE_LUA, (&hash, redis_key)))
}

/// [`remove_listed`], made only if the entry at `redis_key` is still `bytes` (as read): the
/// script answers 1 if it removed it. `None` for a key that is no entry's.
pub(super) fn remove_if(redis_key: &[u8], bytes: &[u8]) -> Option<Eval<'static>> {
    let hash = hash_of_entry(redis_key)?;
    Some(script(&REMOVE_IF_LUA, (&hash, redis_key)).arg(bytes))
}

/// The generations hash of the entry at `redis_key` (`cacher:{<namespace>}:…`, the namespace
/// escaped: it ends at the first `}`); `None` for a key that is no entry's.
fn hash_of_entry(redis_key: &[u8]) -> Option<Vec<u8>> {
    let namespace = redis_key.strip_prefix(b"cacher:{")?;
    let end = namespace.iter().position(|&b| b == b'}')?;
    Some([b"cacher:gen:{", &namespace[..=end]].concat())
}

/// A clear's move of every key's generation, before its deletes: `all` plus one (started at
/// random if the hash has none, as [`start`]).
pub(super) fn clear(hash: &str) -> Eval<'static> {
    Eval::new(&CLEAR_LUA, &[hash.as_bytes()]).arg(random_start())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generation_is_read_from_the_clears_and_the_stripes_count() {
        assert_eq!(generation((None, Some("5".into()))), None, "to start");
        let read = generation((Some("2".into()), None));
        assert_eq!(read, Some(Generation::new(2 << 64)));
        let read = generation((Some("2".into()), Some("5,1,2,3,4".into())));
        assert_eq!(read, Some(Generation::new(2 << 64 | 5)));
    }

    #[test]
    fn a_removal_by_location_moves_the_generations_of_its_namespace() {
        // After the keys' count: the hash, the entry's key, the stripe's field.
        let at = |key: &[u8]| {
            remove_listed(key).map(|eval| (eval.args()[1].clone(), eval.args()[3].clone()))
        };
        let key = b"cacher:{app::f%7D}:v=2:(v2)1";
        let (field, _) = stripe(key);
        assert_eq!(
            at(key),
            Some((b"cacher:gen:{app::f%7D}".to_vec(), field.into_bytes()))
        );
        assert_eq!(at(b"cacher:lock:x"), None);
        assert_eq!(at(b"cacher:{unended"), None);
    }

    #[test]
    fn a_start_is_random_below_two_to_the_53() {
        let (one, two) = (random_start(), random_start());
        assert_ne!(one, two);
        for start in [one, two] {
            assert!((1 << 51..1 << 52).contains(&start), "{start}");
        }
    }
}
