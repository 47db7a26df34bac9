//! Redis storage: every process of a fleet shares the switches, keeps a
//! replica, and follows changes through pub/sub.
//!
//! Key layout, under a prefix (default `gate`):
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `{prefix}:switches` | hash | storage key → switch JSON (allow-list and version left out) |
//! | `{prefix}:versions` | hash | storage key → version, bumped atomically by every write |
//! | `{prefix}:users:{key}` | set | the switch's allow-list |
//! | `{prefix}:changes` | pub/sub channel | one JSON notification per write |
//! | `{prefix}:ops:{id}` | string, expires after an hour | the answer of the write with that operation id |
//! | `{prefix}:epoch` | string | a marker set once (`SET NX`) by the first node, replaced by `gate restore` |
//!
//! A node remembers the marker it follows (and keeps it in its snapshot
//! file). The marker gone or replaced while the node holds switches means
//! the store lost its data (restarted without persistence, flushed): the
//! node keeps serving its last state, reports it once, leaves its snapshot
//! file alone, and takes the store's state as a whole again only once the
//! store is restored (a marker `restored:…`, or its own marker back).
//!
//! Every write is one Lua script: it checks, writes, bumps the version,
//! records its operation id and publishes, atomically (see [`ops`]).
//! Allow-lists of more than [`INLINE_IDS`] ids are first staged in a
//! temporary set, so no script call carries a million ids. Storage keys are
//! `name` or `namespace.name`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime};

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::{Deserialize, Serialize};

use super::snapshot::{read_snapshot, write_snapshot, Snapshot};
use super::{
    in_tree, shortcut, split_key, AppliedShortcut, BatchWrite, BoxFuture, Record, ReplicaSource,
    Shortcut, Storage, SyncStatus, WriteOutcome,
};
use crate::error::Error;
use crate::history::{now_ms, Action, HistoryEntry, DEFAULT_HISTORY_CAPACITY, LISTED_IDS};
use crate::manager::{Apply, Manager, Shared};
use crate::signals::{Origin, RecordSkipped, Signals, StoreDataLost};
use crate::switch::{Switch, Users};

mod ops;

// Every script that writes also pushes its audit entry onto the history
// list (KEYS[4]) and trims it to ARGV[cap]: the change and its entry are
// one atomic step.

// KEYS: switches, versions, users, history, [staging]
// ARGV: key, json, channel, id count, entry, cap, ids...
const INSERT: &str = r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return -1 end
if KEYS[5] and redis.call('SCARD', KEYS[5]) ~= tonumber(ARGV[4]) then return -2 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[1])
local v = redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('UNLINK', KEYS[3])
if KEYS[5] then
  if tonumber(ARGV[4]) > 0 then redis.call('RENAME', KEYS[5], KEYS[3]) end
else
  for i = 7, #ARGV do redis.call('SADD', KEYS[3], ARGV[i]) end
end
redis.call('LPUSH', KEYS[4], ARGV[5])
redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[6]) - 1)
redis.call('PUBLISH', ARGV[3], cjson.encode({op = 'put', key = ARGV[1], version = v}))
return v
";

// KEYS: switches, versions, users, history, [staging]
// ARGV: key, json, channel, expected version, entry, cap,
//       added count (or the staged list's size), added..., removed...
const UPDATE: &str = r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return {1, 0} end
local cur = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if cur ~= tonumber(ARGV[4]) then return {2, cur} end
if KEYS[5] and redis.call('SCARD', KEYS[5]) ~= tonumber(ARGV[7]) then return {3, cur} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if KEYS[5] then
  redis.call('UNLINK', KEYS[3])
  if tonumber(ARGV[7]) > 0 then redis.call('RENAME', KEYS[5], KEYS[3]) end
else
  local n = tonumber(ARGV[7])
  for i = 8, 7 + n do redis.call('SADD', KEYS[3], ARGV[i]) end
  for i = 8 + n, #ARGV do redis.call('SREM', KEYS[3], ARGV[i]) end
end
local v = redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('LPUSH', KEYS[4], ARGV[5])
redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[6]) - 1)
local users = KEYS[5] ~= nil or #ARGV > 7
redis.call('PUBLISH', ARGV[3], cjson.encode({op = 'put', key = ARGV[1], version = v, users = users}))
return {0, v}
";

// A rollout shortcut, applied to the switch as stored: never a conflict.
// KEYS: switches, versions, users, history
// ARGV: key, channel, op ('state' | 'toggle' | 'percent' | 'condition' |
//       'allow' | 'disallow'), operand (the state, or the condition's
//       JSON), the record's canonical start ('{"name":<name>,"state":"'),
//       the record and the audit entry if the switch is created, the
//       entry of a change without its closing brace (the script adds the
//       version and what changed), cap, listed ids, the caller's version
//       ('' if none), users limit, ids...
// The record is edited as text: the state's value, or one element of the
// conditions array spliced in or replaced. Nothing else is decoded and
// encoded again, so every number keeps its exact digits (cjson would turn
// them into doubles with 14 significant digits). A record not in the form
// gate writes answers {2}: the caller falls back to read-modify-write.
// Replies {status (0 applied, 1 created, 2 fall back), version before,
// version after, record, users mode, users}: mode 0 when the caller's
// version was the one changed (it applies the change to its own copy),
// 1 with the whole allow-list, 2 when that list is over the limit.
const SHORTCUT: &str = r#"
local key, op, operand = ARGV[1], ARGV[3], ARGV[4]
local json = redis.call('HGET', KEYS[1], key)
if not json then
  redis.call('HSET', KEYS[1], key, ARGV[6])
  redis.call('HDEL', KEYS[2], key)
  local v = redis.call('HINCRBY', KEYS[2], key, 1)
  redis.call('UNLINK', KEYS[3])
  if op == 'allow' then
    for i = 13, #ARGV do redis.call('SADD', KEYS[3], ARGV[i]) end
  end
  redis.call('LPUSH', KEYS[4], ARGV[7])
  redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[9]) - 1)
  redis.call('PUBLISH', ARGV[2], cjson.encode({op = 'put', key = key, version = v}))
  return {1, 0, v, ARGV[6], 0, {}}
end
local fallback = {2, 0, 0, '', 0, {}}
-- Checked before anything is written: a script that fails midway is not
-- rolled back.
local before = tonumber(redis.call('HGET', KEYS[2], key) or '0')
local users_type = redis.call('TYPE', KEYS[3]).ok
if not before or (users_type ~= 'set' and users_type ~= 'none') then return fallback end
local start = ARGV[5]
if string.sub(json, 1, #start) ~= start then return fallback end
local ok, record = pcall(cjson.decode, json)
if not ok or type(record) ~= 'table' then return fallback end
local state_end = string.find(json, '"', #start + 1, true)
if not state_end then return fallback end
local state = string.sub(json, #start + 1, state_end - 1)
if record.state ~= state or (state ~= 'disabled' and state ~= 'selective' and state ~= 'global') then
  return fallback
end
local conditions = record.conditions
if type(conditions) ~= 'table' then conditions = {} end
local after = json
local change = nil
local changed = {}
if op == 'allow' or op == 'disallow' then
  for i = 13, #ARGV do
    local n
    if op == 'allow' then n = redis.call('SADD', KEYS[3], ARGV[i])
    else n = redis.call('SREM', KEYS[3], ARGV[i]) end
    if n == 1 then table.insert(changed, ARGV[i]) end
  end
elseif op == 'state' or op == 'toggle' then
  local to = operand
  if op == 'toggle' then
    if state ~= 'disabled' then to = 'disabled'
    elseif #conditions == 0 and redis.call('SCARD', KEYS[3]) == 0 then to = 'global'
    else to = 'selective' end
  end
  if to ~= state then
    after = start .. to .. string.sub(json, state_end)
    change = '"changes":{"state":{"previous":"' .. state .. '","current":"' .. to .. '"}}'
  end
else
  local _, open = string.find(json, '^","compounded":%a+,"concent":%a+,"conditions":%[', state_end)
  if not open then return fallback end
  -- The elements of the conditions array, as [first, last] byte spans:
  -- jumps from bracket to bracket, over strings.
  local spans, close = {}, nil
  local depth, first, i = 0, 0, open + 1
  while not close do
    local j = string.find(json, '[%[%]{}"]', i)
    if not j then return fallback end
    local c = string.byte(json, j)
    i = j + 1
    if c == 34 then
      while true do
        local q = string.find(json, '["\\]', i)
        if not q then return fallback end
        if string.byte(json, q) == 92 then i = q + 2 else i = q + 1 break end
      end
    elseif c == 123 or c == 91 then
      if depth == 0 then first = j end
      depth = depth + 1
    elseif depth == 0 then
      close = j
    else
      depth = depth - 1
      if depth == 0 then table.insert(spans, {first, j}) end
    end
  end
  if not close or #spans ~= #conditions then return fallback end
  local at = nil
  if op == 'percent' then
    for i, c in ipairs(conditions) do
      if type(c) == 'table' and c.argument == '@id' and c.negative ~= true
        and type(c.operator) == 'table' and c.operator.percent ~= nil then
        at = spans[i]
        break
      end
    end
  else
    -- An equal condition (as gate writes it) is not added again.
    for _, span in ipairs(spans) do
      if string.sub(json, span[1], span[2]) == operand then at = span end
    end
  end
  -- A condition more than the limit (crate::limits::MAX_CONDITIONS): the
  -- caller's read-modify-write refuses it with the rule's error.
  if not at and #spans >= 100 then return fallback end
  if at then
    if string.sub(json, at[1], at[2]) ~= operand then
      after = string.sub(json, 1, at[1] - 1) .. operand .. string.sub(json, at[2] + 1)
    end
  elseif #spans == 0 then
    after = string.sub(json, 1, close - 1) .. operand .. string.sub(json, close)
  else
    after = string.sub(json, 1, close - 1) .. ',' .. operand .. string.sub(json, close)
  end
  if after ~= json then
    if at then
      -- Replaced in place: both lists (a condition moved is not a
      -- "remove some, append some" change).
      local closed = close + #after - #json
      change = '"changes":{"conditions":{"previous":' .. string.sub(json, open, close) ..
        ',"current":' .. string.sub(after, open, closed) .. '}}'
    else
      -- Appended: only the new condition (a compact audit entry).
      change = '"lists":{"conditions":{"added":[' .. operand .. ']}}'
    end
  end
end
local v = before
if change then
  redis.call('HSET', KEYS[1], key, after)
  v = redis.call('HINCRBY', KEYS[2], key, 1)
  redis.call('LPUSH', KEYS[4], ARGV[8] .. ',"version":' .. v .. ',' .. change .. '}')
  redis.call('PUBLISH', ARGV[2], cjson.encode({op = 'put', key = key, version = v, users = false}))
elseif #changed > 0 then
  v = redis.call('HINCRBY', KEYS[2], key, 1)
  local listed = {}
  for i = 1, math.min(#changed, tonumber(ARGV[10])) do listed[i] = changed[i] end
  local side = 'removed'
  if op == 'allow' then side = 'added' end
  redis.call('LPUSH', KEYS[4], ARGV[8] .. ',"version":' .. v .. ',"users":{"' .. side .. '":' ..
    cjson.encode(listed) .. ',"' .. side .. '_count":' .. #changed .. '}}')
  redis.call('PUBLISH', ARGV[2], cjson.encode({op = op, key = key, version = v, ids = changed}))
end
if v ~= before then redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[9]) - 1) end
if ARGV[11] ~= '' and tonumber(ARGV[11]) == before then return {0, before, v, after, 0, {}} end
if redis.call('SCARD', KEYS[3]) > tonumber(ARGV[12]) then return {0, before, v, after, 2, {}} end
return {0, before, v, after, 1, redis.call('SMEMBERS', KEYS[3])}
"#;

// KEYS: switches, versions, history
// ARGV: root key, channel, users key prefix, entry without its key and
//       closing brace, cap
// The tree is removed in key order (a parent before its children,
// siblings by name), never in HKEYS order, which depends on the server's
// hash seed: the trail, newest first, lists descendants first.
const REMOVE_TREE: &str = r#"
local removed = {}
local out = {}
for _, k in ipairs(redis.call('HKEYS', KEYS[1])) do
  if k == ARGV[1] or string.sub(k, 1, #ARGV[1] + 1) == ARGV[1] .. ':' then
    table.insert(removed, k)
  end
end
table.sort(removed)
for _, k in ipairs(removed) do
  table.insert(out, k)
  table.insert(out, redis.call('HGET', KEYS[1], k))
  table.insert(out, redis.call('HGET', KEYS[2], k) or '0')
  redis.call('HDEL', KEYS[1], k)
  redis.call('HDEL', KEYS[2], k)
  redis.call('UNLINK', ARGV[3] .. k)
  redis.call('LPUSH', KEYS[3], ARGV[4] .. ',"key":' .. cjson.encode(k) .. '}')
end
if #removed > 0 then
  redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[5]) - 1)
  redis.call('PUBLISH', ARGV[2], cjson.encode({op = 'del', keys = removed}))
end
return out
"#;

// KEYS: switches, versions, history
// ARGV: channel, users key prefix, cap, n, then n items of
//       key, json, expected version ('' to create), entry without its
//       closing brace, staging set ('' if the ids follow inline), id count
//       (or the staged set's size), ids...
// Checks every item first, then writes them all: all or nothing.
const BATCH: &str = r#"
local items = {}
local i = 5
for j = 1, tonumber(ARGV[4]) do
  local nu = tonumber(ARGV[i + 5])
  local inline = 0
  if ARGV[i + 4] == '' then inline = nu end
  items[j] = {ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], i + 6, nu, ARGV[i + 4]}
  i = i + 6 + inline
end
for j, it in ipairs(items) do
  local exists = redis.call('HEXISTS', KEYS[1], it[1]) == 1
  if it[3] == '' then
    if exists then return {1, j} end
  else
    if not exists then return {2, j} end
    local cur = tonumber(redis.call('HGET', KEYS[2], it[1]) or '0')
    if cur ~= tonumber(it[3]) then return {3, j, cur} end
  end
  if it[7] ~= '' and redis.call('SCARD', it[7]) ~= it[6] then return {4, j} end
end
local out = {0}
for j, it in ipairs(items) do
  redis.call('HSET', KEYS[1], it[1], it[2])
  if it[3] == '' then redis.call('HDEL', KEYS[2], it[1]) end
  local v = redis.call('HINCRBY', KEYS[2], it[1], 1)
  local users = ARGV[2] .. it[1]
  redis.call('UNLINK', users)
  if it[7] ~= '' then
    if it[6] > 0 then redis.call('RENAME', it[7], users) end
  else
    for k = it[5], it[5] + it[6] - 1 do redis.call('SADD', users, ARGV[k]) end
  end
  redis.call('LPUSH', KEYS[3], it[4] .. ',"version":' .. v .. '}')
  redis.call('PUBLISH', ARGV[1], cjson.encode({op = 'put', key = it[1], version = v}))
  table.insert(out, v)
end
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[3]) - 1)
return out
"#;

// KEYS: switches, versions, users, history
// ARGV: key, json, channel, entry without its closing brace, cap, ids...
// Stores the switch whatever the key holds, also an unreadable record: a
// version that is not a whole number starts again from 0, an allow-list
// that is not a set is replaced.
const REPAIR: &str = r#"
local cur = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if not cur or cur < 0 or cur ~= math.floor(cur) or cur > 2^52 then cur = 0 end
local v = cur + 1
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], string.format('%d', v))
redis.call('UNLINK', KEYS[3])
for i = 6, #ARGV do redis.call('SADD', KEYS[3], ARGV[i]) end
redis.call('LPUSH', KEYS[4], ARGV[4] .. ',"version":' .. string.format('%d', v) .. '}')
redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[5]) - 1)
redis.call('PUBLISH', ARGV[3], cjson.encode({op = 'put', key = ARGV[1], version = v}))
return v
"#;

/// A number that differs between calls (time and a counter), for markers.
fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    u64::from(nanos) ^ (NEXT.fetch_add(1, Ordering::Relaxed) << 32)
}

/// The prefix of a store marker written by a restore.
const RESTORED: &str = "restored:";

/// Up to this many ids travel inside a write's script; more are first
/// staged in a temporary set, so that no single call carries a million
/// arguments (and runs into the timeout).
const INLINE_IDS: usize = 1_000;
/// At most this many ids travel inside one batch script, all switches
/// together; the allow-lists beyond are staged.
const INLINE_BATCH_IDS: usize = 10 * INLINE_IDS;
/// Ids per `SADD` while staging.
const STAGE_CHUNK: usize = 10_000;
/// A staging set left behind by a process that died mid-write expires.
const STAGE_TTL_SECONDS: i64 = 600;
/// Allow-lists up to this size are read with one `SMEMBERS`; larger ones
/// with `SSCAN` pages, so no single reply outlasts the timeout.
const READ_WHOLE: usize = 100_000;
/// A shortcut sends the allow-list back (for the caller's replica) up to
/// this size; the guard keeps that answer with the operation's record for
/// an hour, so it stays small. A larger list reaches the replica through
/// the change notification.
const SHORTCUT_USERS_BACK: usize = 10_000;
/// Ids asked for per `SSCAN` page.
const SCAN_PAGE: usize = 50_000;
/// How often a following node asks Redis whether it still answers; with
/// [`PING_TIMEOUT`], a hung server is reported within 2 s.
const HEALTH_INTERVAL: Duration = Duration::from_millis(500);
/// How long that question may take (or the configured timeout, if less).
const PING_TIMEOUT: Duration = Duration::from_millis(1_000);

/// A notification on the changes channel.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Notification {
    /// The switch at `key` was written: read it again. `users: false`
    /// says its allow-list did not change, so a replica one version
    /// behind reads only the record.
    Put {
        key: String,
        version: u64,
        #[serde(default = "changed")]
        users: bool,
    },
    /// These switches were removed.
    Del { keys: Vec<String> },
    /// These ids were added to the allow-list.
    Allow {
        key: String,
        version: u64,
        ids: Vec<String>,
    },
    /// These ids were removed from the allow-list.
    Disallow {
        key: String,
        version: u64,
        ids: Vec<String>,
    },
    /// The store was restored after a data loss: read it all again.
    Restored,
}

#[derive(Debug)]
struct Keys {
    switches: String,
    versions: String,
    users_prefix: String,
    channel: String,
    history: String,
    ops_prefix: String,
    epoch: String,
}

impl Keys {
    fn new(prefix: &str) -> Self {
        Keys {
            switches: format!("{prefix}:switches"),
            versions: format!("{prefix}:versions"),
            users_prefix: format!("{prefix}:users:"),
            channel: format!("{prefix}:changes"),
            history: format!("{prefix}:history"),
            ops_prefix: format!("{prefix}:ops:"),
            epoch: format!("{prefix}:epoch"),
        }
    }

    /// The record of the write with operation id `id`.
    fn op(&self, id: &str) -> String {
        format!("{}{id}", self.ops_prefix)
    }

    fn users(&self, key: &str) -> String {
        format!("{}{key}", self.users_prefix)
    }

    /// A fresh, unique key for a staging set.
    fn staging(&self) -> String {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        format!(
            "{}staging:{}:{nanos}:{}",
            self.users_prefix.trim_end_matches("users:"),
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        )
    }
}

struct Scripts {
    insert: redis::Script,
    update: redis::Script,
    shortcut: redis::Script,
    remove_tree: redis::Script,
    batch: redis::Script,
    outcome: redis::Script,
    repair: redis::Script,
}

/// One write: its operation id, its record's key, its kind (`register`,
/// `update`, `allow`, `disallow`, `unregister`, `batch`) and the switch it
/// is about (the first one, for a batch).
struct Op {
    id: String,
    record: String,
    kind: &'static str,
    name: String,
}

/// What a check of an operation id found.
enum Checked {
    /// The write's record: its kind and answer (as JSON).
    Answered(String, serde_json::Value),
    /// The write was cancelled (by this check or an earlier one).
    Cancelled,
    /// No record, but the audit trail names the id: applied.
    InHistory,
    /// No record, and the id is too old to cancel anything.
    Nothing,
}

/// Switches in Redis, shared by every manager with the same URL and
/// prefix. Build a manager on it with
/// [`Manager::builder().redis(url)`](crate::Builder::redis).
#[derive(Clone)]
pub struct RedisStorage {
    client: redis::Client,
    connection: ConnectionManager,
    keys: Arc<Keys>,
    scripts: Arc<Scripts>,
    timeout: Duration,
    /// How many audit entries the history list keeps.
    history_capacity: usize,
    /// The URL without its password, for messages.
    url: Arc<str>,
    /// The manager's sync status, which a timed-out call marks.
    status: Arc<ops::StatusLink>,
}

impl std::fmt::Debug for RedisStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStorage")
            .field("url", &self.url)
            .field("keys", &self.keys)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RedisStorage {
    fn storage_error(&self, what: &str, error: impl std::fmt::Display) -> Error {
        Error::Storage(format!("Redis at {} failed to {what}: {error}", self.url))
    }

    /// Runs a Redis call with the configured timeout.
    async fn call<T>(
        &self,
        what: &str,
        call: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, Error> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(value)) => {
                self.status.answered();
                Ok(value)
            }
            Ok(Err(e)) => {
                let error = self.storage_error(what, &e);
                if e.is_timeout() {
                    self.status.hung(&error.to_string());
                }
                Err(error)
            }
            Err(_) => {
                let error =
                    self.storage_error(what, format_args!("no answer within {:?}", self.timeout));
                self.status.hung(&error.to_string());
                Err(error)
            }
        }
    }

    /// Whether Redis answers a `PING` within [`PING_TIMEOUT`].
    async fn ping(&self) -> Result<(), Error> {
        let mut connection = self.connection.clone();
        let limit = self.timeout.min(PING_TIMEOUT);
        let command = redis::cmd("PING");
        let ping = command.query_async::<()>(&mut connection);
        match tokio::time::timeout(limit, ping).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(self.storage_error("answer a PING", e)),
            Err(_) => Err(self.storage_error(
                "answer a PING",
                format_args!("no answer within {limit:?} (is the server hung?)"),
            )),
        }
    }

    /// A new operation for a write of `kind` to the switch `name`.
    fn op(&self, kind: &'static str, name: &str) -> Op {
        let id = ops::new_id();
        Op {
            record: self.keys.op(&id),
            id,
            kind,
            name: name.to_owned(),
        }
    }

    /// An invocation of the guarded write `script` for `op`: the record's
    /// key and the guard's arguments come first (see [`ops::guarded`]);
    /// `types`: the type each key of the script must have.
    fn invocation<'s>(
        &self,
        script: &'s redis::Script,
        op: &Op,
        types: &str,
    ) -> redis::ScriptInvocation<'s> {
        let mut invocation = script.prepare_invoke();
        invocation
            .key(&op.record)
            .arg(ops::OPS_TTL.as_millis() as u64)
            .arg(op.kind)
            .arg(types);
        invocation
    }

    /// [`invocation`](Self::invocation) of a script that writes one
    /// switch: KEYS switches, versions, its users set, history (then the
    /// script's own keys), and ARGV[1] its key.
    fn switch_invocation<'s>(
        &self,
        script: &'s redis::Script,
        op: &Op,
        types: &str,
        key: &str,
    ) -> redis::ScriptInvocation<'s> {
        let mut invocation = self.invocation(script, op, types);
        invocation
            .key(&self.keys.switches)
            .key(&self.keys.versions)
            .key(self.keys.users(key))
            .key(&self.keys.history)
            .arg(key);
        invocation
    }

    /// Runs a guarded write and reads its answer. A write that was sent
    /// but not answered is checked by its operation id (see
    /// [`resolve`](Self::resolve)): the result is then the write's own, a
    /// storage error if it was cancelled before it reached Redis, or
    /// [`Error::OutcomeUnknown`] if Redis did not answer the check either.
    /// A write that failed otherwise was not applied, and says so.
    async fn write<T: redis::FromRedisValue>(
        &self,
        op: &Op,
        what: &str,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<T, Error> {
        let mut connection = self.connection.clone();
        let sent = tokio::time::timeout(
            self.timeout,
            invocation.invoke_async::<redis::Value>(&mut connection),
        )
        .await;
        let answer = match sent {
            Ok(Ok(answer)) => {
                self.status.answered();
                answer
            }
            Ok(Err(e)) if ops::maybe_sent(&e) => {
                let reason = if e.is_timeout() {
                    let reason = format!(
                        "Redis at {} did not answer within {:?}",
                        self.url, self.timeout
                    );
                    self.status.hung(&reason);
                    reason
                } else {
                    format!(
                        "the connection to Redis at {} failed before the answer came ({e})",
                        self.url
                    )
                };
                self.resolve(op, what, reason).await?
            }
            Ok(Err(e)) if e.code().is_none() || ops::refused_whole(&e) => {
                return Err(self.storage_error(what, format_args!("{e}; nothing was written")))
            }
            Ok(Err(e)) => {
                // A script stopped part way: what it did before stays.
                return Err(self.storage_error(
                    what,
                    format_args!("the write stopped at an error ({e}); what it did before stays: see the switch and the audit trail"),
                ));
            }
            Err(_) => {
                let reason = format!(
                    "Redis at {} did not answer within {:?}",
                    self.url, self.timeout
                );
                self.status.hung(&reason);
                self.resolve(op, what, reason).await?
            }
        };
        T::from_redis_value(answer).map_err(|e| Error::OutcomeUnknown {
            name: op.name.clone(),
            operation: op.kind.to_owned(),
            id: op.id.clone(),
            reason: format!("Redis answered something gate cannot read ({e})"),
        })
    }

    /// Finds out what became of a write whose answer did not come, by its
    /// operation id, trying until the timeout runs out again: its answer
    /// if it was applied (or refused); if it was not applied yet, the
    /// check cancels it and the result is a storage error saying nothing
    /// was written; [`Error::OutcomeUnknown`] if Redis does not answer.
    async fn resolve(&self, op: &Op, what: &str, reason: String) -> Result<redis::Value, Error> {
        let deadline = Instant::now() + self.timeout;
        let pause = Duration::from_millis(20);
        loop {
            let left = deadline
                .saturating_duration_since(Instant::now())
                .max(pause);
            let checked = tokio::time::timeout(left, self.check(&op.id, true)).await;
            match checked {
                Ok(Ok(Checked::Answered(_, answer))) => return Ok(ops::to_value(&answer)),
                Ok(Ok(Checked::Cancelled)) => {
                    return Err(self.storage_error(
                        what,
                        format_args!("{reason}; the write had not reached Redis and was cancelled: nothing was written"),
                    ))
                }
                Ok(Ok(Checked::InHistory | Checked::Nothing)) => {}
                Ok(Err(_)) if Instant::now() + pause < deadline => {
                    tokio::time::sleep(pause).await;
                    continue;
                }
                Ok(Err(_)) | Err(_) => {}
            }
            return Err(Error::OutcomeUnknown {
                name: op.name.clone(),
                operation: op.kind.to_owned(),
                id: op.id.clone(),
                reason,
            });
        }
    }

    /// Checks the operation id `id`; `fence`: cancel the write if it was
    /// not applied yet (only for an id young enough that its record must
    /// still exist if it was).
    async fn check(&self, id: &str, fence: bool) -> Result<Checked, Error> {
        let mut connection = self.connection.clone();
        let mut invocation = self.scripts.outcome.prepare_invoke();
        invocation
            .key(self.keys.op(id))
            .key(&self.keys.history)
            .arg(ops::OPS_TTL.as_millis() as u64)
            .arg(id)
            .arg(if fence { "fence" } else { "look" });
        let (status, record): (u8, String) = self
            .call(
                "check a write's outcome",
                invocation.invoke_async(&mut connection),
            )
            .await?;
        Ok(match (status, record) {
            (1, record) if record == "cancelled" => Checked::Cancelled,
            (1, record) => {
                let record: serde_json::Value = serde_json::from_str(&record).unwrap_or_default();
                let kind = record.get(0).and_then(|k| k.as_str()).unwrap_or_default();
                let answer = record.get(1).cloned().unwrap_or_default();
                Checked::Answered(kind.to_owned(), answer)
            }
            (0, _) => Checked::Cancelled,
            (2, _) => Checked::InHistory,
            _ => Checked::Nothing,
        })
    }

    /// Puts `ids` into a new staging set, chunk by chunk (each chunk within
    /// the timeout), and returns its key. The set expires on its own if
    /// the write that consumes it never comes.
    async fn stage(&self, ids: &[&str]) -> Result<String, Error> {
        let key = self.keys.staging();
        let mut connection = self.connection.clone();
        for chunk in ids.chunks(STAGE_CHUNK) {
            let mut pipe = redis::pipe();
            pipe.sadd(&key, chunk)
                .ignore()
                .expire(&key, STAGE_TTL_SECONDS)
                .ignore();
            self.call(
                "stage an allow-list",
                pipe.query_async::<()>(&mut connection),
            )
            .await
            .map_err(|e| match e {
                Error::Storage(m) => Error::Storage(format!("{m}; nothing was written")),
                e => e,
            })?;
        }
        Ok(key)
    }

    /// Removes staging sets a write did not consume (best effort: they
    /// expire anyway).
    async fn unstage(&self, keys: &[String]) {
        let mut connection = self.connection.clone();
        let _ = self
            .call(
                "remove a staging set",
                redis::cmd("DEL")
                    .arg(keys)
                    .query_async::<()>(&mut connection),
            )
            .await;
    }

    fn record_json(switch: &Switch) -> String {
        let mut stored = switch.clone();
        stored.users = Users::default();
        stored.version = 0;
        stored.to_json()
    }

    fn parse(key: &str, json: &str, version: u64, users: Users) -> Result<Switch, Error> {
        let mut switch = Switch::from_json(json)?;
        let name = split_key(key).1;
        if switch.name != name {
            return Err(Error::InvalidJson {
                what: format!("switch {key:?}"),
                reason: format!("the record is named {:?}", switch.name),
            });
        }
        switch.version = version;
        switch.users = users;
        Ok(switch)
    }

    /// [`parse`](Self::parse), taking every condition equal to one of
    /// `reference`'s (the caller's copy) from it instead of building it
    /// again: a shortcut's answer does not recompile the regexes of a
    /// switch the caller already has.
    fn parse_reusing(
        key: &str,
        json: &str,
        version: u64,
        users: Users,
        reference: Option<&Switch>,
    ) -> Result<Switch, Error> {
        use serde_json::Value as Json;
        let Some(reference) = reference.filter(|r| !r.conditions.is_empty()) else {
            return Self::parse(key, json, version, users);
        };
        let invalid = |e: serde_json::Error| Error::InvalidJson {
            what: format!("switch {key:?}"),
            reason: e.to_string(),
        };
        let mut value: Json = serde_json::from_str(json).map_err(invalid)?;
        let raw = match value.get_mut("conditions") {
            Some(Json::Array(raw)) => std::mem::take(raw),
            _ => return Self::parse(key, json, version, users),
        };
        // Keyed by their JSON text as values (object keys sorted).
        let known: HashMap<String, &crate::condition::Condition> = reference
            .conditions
            .iter()
            .filter_map(|c| serde_json::to_value(c).ok().map(|v| (v.to_string(), c)))
            .collect();
        let mut conditions = Vec::with_capacity(raw.len());
        for condition in raw {
            conditions.push(match known.get(&condition.to_string()) {
                Some(same) => (*same).clone(),
                None => serde_json::from_value(condition).map_err(invalid)?,
            });
        }
        let mut switch: Switch = serde_json::from_value(value).map_err(invalid)?;
        switch.conditions = conditions;
        switch.validate()?;
        if switch.name != split_key(key).1 {
            return Err(Error::InvalidJson {
                what: format!("switch {key:?}"),
                reason: format!("the record is named {:?}", switch.name),
            });
        }
        switch.version = version;
        switch.users = users;
        Ok(switch)
    }

    /// A large allow-list, page by page (each page within the timeout).
    async fn scan_users(&self, key: &str, expected: usize) -> Result<Users, Error> {
        let mut connection = self.connection.clone();
        let set = self.keys.users(key);
        let mut ids: Vec<String> = Vec::with_capacity(expected);
        let mut cursor = 0u64;
        loop {
            let (next, page): (u64, Vec<String>) = self
                .call(
                    "read an allow-list",
                    redis::cmd("SSCAN")
                        .arg(&set)
                        .arg(cursor)
                        .arg("COUNT")
                        .arg(SCAN_PAGE)
                        .query_async(&mut connection),
                )
                .await?;
            ids.extend(page);
            if next == 0 {
                // SSCAN may return an id twice; the set keeps one.
                return Ok(ids.into_iter().collect());
            }
            cursor = next;
        }
    }

    /// One switch as stored: `Some(Err(Error::Unreadable))` if its record,
    /// version or allow-list cannot be read.
    ///
    /// A small allow-list is read with the record in one atomic pipeline;
    /// a large one page by page, and kept only if the switch's version did
    /// not move meanwhile (every write bumps it), so the result is always
    /// one consistent version. Every answer is checked on its own: a
    /// version that is not a number or an allow-list that is not a set
    /// makes this switch unreadable, never the read fail.
    async fn fetch(&self, key: &str) -> Result<Option<Result<Switch, Error>>, Error> {
        let mut connection = self.connection.clone();
        for _ in 0..3 {
            let answers: Vec<redis::RedisResult<redis::Value>> = self
                .call(
                    "read a switch",
                    redis::pipe()
                        .atomic()
                        .ignore_errors()
                        .hget(&self.keys.switches, key)
                        .hget(&self.keys.versions, key)
                        .scard(self.keys.users(key))
                        .query_async(&mut connection),
                )
                .await?;
            let [json, version, card] = self.answers("read a switch", answers)?;
            let Some(json) = raw_bytes(json).map_err(|e| self.storage_error("read a switch", e))?
            else {
                return Ok(None);
            };
            let version = raw_bytes(version).and_then(|v| version_of(v.as_deref()));
            let card = card_of(&self.keys.users(key), card);
            let (version, card) = match (version, card) {
                (Ok(version), Ok(card)) => (version, card),
                (Err(reason), _) | (_, Err(reason)) => {
                    return Ok(Some(Err(unreadable(key, reason))));
                }
            };
            if card == 0 {
                return Ok(Some(Self::parse_raw(key, &json, version, Users::default())));
            }
            if card <= READ_WHOLE {
                let answers: Vec<redis::RedisResult<redis::Value>> = self
                    .call(
                        "read a switch",
                        redis::pipe()
                            .atomic()
                            .ignore_errors()
                            .hget(&self.keys.switches, key)
                            .hget(&self.keys.versions, key)
                            .smembers(self.keys.users(key))
                            .query_async(&mut connection),
                    )
                    .await?;
                let [json, version, users] = self.answers("read a switch", answers)?;
                let Some(json) =
                    raw_bytes(json).map_err(|e| self.storage_error("read a switch", e))?
                else {
                    return Ok(None);
                };
                let version = raw_bytes(version).and_then(|v| version_of(v.as_deref()));
                let users = members_of(&self.keys.users(key), users);
                return Ok(Some(match (version, users) {
                    (Ok(version), Ok(users)) => Self::parse_raw(key, &json, version, users),
                    (Err(reason), _) | (_, Err(reason)) => Err(unreadable(key, reason)),
                }));
            }
            let users = self.scan_users(key, card).await?;
            let after: Option<Vec<u8>> = self
                .call(
                    "read a switch",
                    redis::cmd("HGET")
                        .arg(&self.keys.versions)
                        .arg(key)
                        .query_async(&mut connection),
                )
                .await?;
            if version_of(after.as_deref()) == Ok(version) {
                return Ok(Some(Self::parse_raw(key, &json, version, users)));
            }
        }
        Err(self.storage_error(
            "read a switch",
            format_args!("the allow-list of {key:?} kept changing while it was read"),
        ))
    }

    /// Exactly `N` answers of a pipeline, or an error.
    fn answers<const N: usize>(
        &self,
        what: &str,
        answers: Vec<redis::RedisResult<redis::Value>>,
    ) -> Result<[redis::RedisResult<redis::Value>; N], Error> {
        let count = answers.len();
        answers.try_into().map_err(|_| {
            self.storage_error(
                what,
                format_args!("{count} answers where {N} were expected"),
            )
        })
    }

    /// A record read as bytes: checked to be UTF-8, then parsed.
    fn parse_raw(key: &str, json: &[u8], version: u64, users: Users) -> Result<Switch, Error> {
        let json = std::str::from_utf8(json)
            .map_err(|_| unreadable(key, "its record is not UTF-8 text".to_owned()))?;
        Self::parse(key, json, version, users).map_err(|e| {
            let reason = match e {
                Error::InvalidJson { reason, .. } => reason,
                other => other.to_string(),
            };
            unreadable(
                key,
                format!("its record {} is invalid: {reason}", excerpt(json)),
            )
        })
    }

    /// Every switch as stored (unreadable ones as [`Error::Unreadable`]),
    /// in key order, and the store's epoch marker.
    ///
    /// Every field of every switch is read and checked on its own: a bad
    /// version, record or allow-list skips that switch only.
    ///
    /// `known` gives the replica's copy of a switch: an allow-list whose
    /// version and size are unchanged is taken from it instead of being
    /// read again, so a periodic resync of a million-id list costs one
    /// `SCARD`. Large lists are read page by page. Changes made while this
    /// runs reach the replica through their notifications.
    async fn fetch_all(
        &self,
        known: impl Fn(&str) -> Option<Arc<Switch>>,
    ) -> Result<FullRead, Error> {
        let mut connection = self.connection.clone();
        type Hash = HashMap<Vec<u8>, Vec<u8>>;
        let (records, versions, epoch): (Hash, Hash, Option<Vec<u8>>) = self
            .call(
                "read the switches",
                redis::pipe()
                    .atomic()
                    .hgetall(&self.keys.switches)
                    .hgetall(&self.keys.versions)
                    .get(&self.keys.epoch)
                    .query_async(&mut connection),
            )
            .await?;
        let epoch = epoch.map(|e| String::from_utf8_lossy(&e).into_owned());
        // Sorted: what follows (signals, the snapshot file) never depends
        // on the order of HGETALL.
        // Each key with its record and version, or why they are unreadable.
        type Entry = (String, Result<(Vec<u8>, u64), String>);
        let mut entries: Vec<Entry> = records
            .into_iter()
            .map(|(key, json)| match String::from_utf8(key) {
                Ok(key) => {
                    let version = version_of(versions.get(key.as_bytes()).map(Vec::as_slice));
                    (key, version.map(|v| (json, v)))
                }
                Err(e) => (
                    String::from_utf8_lossy(e.as_bytes()).into_owned(),
                    Err("its key is not UTF-8 text".to_owned()),
                ),
            })
            .collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut cards: Vec<Result<usize, String>> = Vec::with_capacity(entries.len());
        for chunk in entries.chunks(1000) {
            let mut pipe = redis::pipe();
            pipe.ignore_errors();
            for (key, _) in chunk {
                pipe.scard(self.keys.users(key));
            }
            let part: Vec<redis::RedisResult<redis::Value>> = self
                .call("read the allow-lists", pipe.query_async(&mut connection))
                .await?;
            if part.len() != chunk.len() {
                return Err(self.storage_error("read the allow-lists", "missing answers"));
            }
            cards.extend(
                chunk
                    .iter()
                    .zip(part)
                    .map(|((key, _), card)| card_of(&self.keys.users(key), card)),
            );
        }
        let mut users: Vec<Option<Result<Users, String>>> = vec![None; entries.len()];
        // Small lists, many per pipeline; large ones page by page.
        let mut batch: Vec<usize> = Vec::new();
        let mut batch_ids = 0;
        for (i, (key, entry)) in entries.iter().enumerate() {
            let (version, card) = match (entry, &cards[i]) {
                (Ok((_, version)), Ok(card)) => (*version, *card),
                (Err(_), _) => continue,
                (_, Err(reason)) => {
                    users[i] = Some(Err(reason.clone()));
                    continue;
                }
            };
            if card == 0 {
                users[i] = Some(Ok(Users::default()));
            } else if let Some(same) =
                known(key).filter(|s| s.version == version && s.users.len() == card)
            {
                users[i] = Some(Ok(same.users.clone()));
            } else if card > READ_WHOLE {
                users[i] = Some(Ok(self.scan_users(key, card).await?));
            } else {
                batch.push(i);
                batch_ids += card;
                if batch_ids >= READ_WHOLE || batch.len() >= 1000 {
                    self.read_batch(&entries, &mut batch, &mut users).await?;
                    batch_ids = 0;
                }
            }
        }
        self.read_batch(&entries, &mut batch, &mut users).await?;
        let records = entries
            .into_iter()
            .zip(users)
            .map(|((key, entry), users)| {
                let parsed = match (entry, users) {
                    (Ok((json, version)), Some(Ok(users))) => {
                        Self::parse_raw(&key, &json, version, users)
                    }
                    (Err(reason), _) | (_, Some(Err(reason))) => Err(unreadable(&key, reason)),
                    (Ok(_), None) => Err(unreadable(&key, "its allow-list was not read".into())),
                };
                (key, parsed)
            })
            .collect();
        Ok(FullRead { records, epoch })
    }

    /// Reads the allow-lists of `entries[i]` for every `i` in `batch` with
    /// one pipeline, and empties `batch`. One that is not a set makes its
    /// switch unreadable, not the read fail.
    async fn read_batch<T>(
        &self,
        entries: &[(String, T)],
        batch: &mut Vec<usize>,
        users: &mut [Option<Result<Users, String>>],
    ) -> Result<(), Error> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut connection = self.connection.clone();
        let mut pipe = redis::pipe();
        pipe.ignore_errors();
        for &i in batch.iter() {
            pipe.smembers(self.keys.users(&entries[i].0));
        }
        let lists: Vec<redis::RedisResult<redis::Value>> = self
            .call("read the allow-lists", pipe.query_async(&mut connection))
            .await?;
        if lists.len() != batch.len() {
            return Err(self.storage_error("read the allow-lists", "missing answers"));
        }
        for (&i, list) in batch.iter().zip(lists) {
            users[i] = Some(members_of(&self.keys.users(&entries[i].0), list));
        }
        batch.clear();
        Ok(())
    }

    /// Sets the store's marker if it has none (`SET NX`); returns the
    /// marker the store holds then.
    async fn claim_epoch(&self) -> Result<String, Error> {
        let mut connection = self.connection.clone();
        let fresh = format!("{}-{}-{}", now_ms(), std::process::id(), unique());
        let (_, epoch): (Option<String>, Option<String>) = self
            .call(
                "mark the store",
                redis::pipe()
                    .atomic()
                    .cmd("SET")
                    .arg(&self.keys.epoch)
                    .arg(&fresh)
                    .arg("NX")
                    .get(&self.keys.epoch)
                    .query_async(&mut connection),
            )
            .await?;
        Ok(epoch.unwrap_or(fresh))
    }

    /// Replaces the store's marker with a `restored:` one and tells every
    /// node to read the store again.
    async fn mark_restored_now(&self) -> Result<(), Error> {
        let mut connection = self.connection.clone();
        let marker = format!("{RESTORED}{}-{}-{}", now_ms(), std::process::id(), unique());
        let notification = serde_json::to_string(&Notification::Restored)
            .map_err(|e| self.storage_error("mark the store restored", e))?;
        self.call(
            "mark the store restored",
            redis::pipe()
                .atomic()
                .set(&self.keys.epoch, marker)
                .ignore()
                .publish(&self.keys.channel, notification)
                .ignore()
                .query_async::<()>(&mut connection),
        )
        .await
    }

    /// `update`, with the switch as stored at `switch.version` if the
    /// caller has it (else it is read here): its allow-list is what the
    /// new one is compared with, to send only the difference; the script's
    /// version check makes the pair consistent.
    async fn update_with(
        &self,
        key: &str,
        actor: &str,
        previous: Option<Switch>,
        switch: Switch,
    ) -> Result<(Switch, Switch), Error> {
        // Never store what the other nodes would refuse to read.
        switch.validate()?;
        let previous = match previous.filter(|p| p.version == switch.version) {
            Some(previous) => previous,
            None => match self.fetch(key).await? {
                Some(Ok(previous)) => previous,
                // A malformed record can be repaired by an update.
                Some(Err(_)) => Switch {
                    version: switch.version,
                    ..Switch::new(split_key(key).1)
                },
                None => {
                    return Err(Error::NotFound {
                        name: switch.name.clone(),
                    })
                }
            },
        };
        if previous.version != switch.version {
            return Err(Error::Conflict {
                name: switch.name,
                expected: switch.version,
                found: previous.version,
            });
        }
        let op = self.op("update", &switch.name);
        let mut entry_switch = switch.clone();
        entry_switch.version += 1;
        let mut entry = HistoryEntry::updated(actor, key, &previous, &entry_switch);
        entry.op = Some(op.id.clone());
        let added: Vec<&str> = switch
            .users
            .iter()
            .filter(|id| !previous.users.contains(id))
            .collect();
        let removed: Vec<&str> = previous
            .users
            .iter()
            .filter(|id| !switch.users.contains(id))
            .collect();
        // Many changes: stage the whole new list, which the script
        // swaps in at once (O(1) inside Redis, however large the list).
        let staged = if added.len() + removed.len() > INLINE_IDS {
            let all: Vec<&str> = switch.users.iter().collect();
            Some(self.stage(&all).await?)
        } else {
            None
        };
        // The users set is replaced whole when staged, changed in place
        // otherwise.
        let types = if staged.is_some() {
            "hash hash * list set"
        } else {
            "hash hash set list"
        };
        let mut invocation = self.switch_invocation(&self.scripts.update, &op, types, key);
        invocation
            .arg(Self::record_json(&switch))
            .arg(&self.keys.channel)
            .arg(switch.version)
            .arg(entry.to_json())
            .arg(self.history_capacity);
        match &staged {
            Some(stage) => invocation.key(stage).arg(switch.users.len()),
            None => invocation.arg(added.len()).arg(added).arg(removed),
        };
        let result: Result<(u8, u64), Error> =
            self.write(&op, "update a switch", &invocation).await;
        if let Some(stage) = staged {
            // A write still in flight needs its staged list.
            if !matches!(result, Err(Error::OutcomeUnknown { .. })) {
                self.unstage(&[stage]).await;
            }
        }
        let (status, version) = result?;
        match status {
            0 => {
                let mut current = switch;
                current.version = version;
                Ok((previous, current))
            }
            1 => Err(Error::NotFound { name: switch.name }),
            3 => Err(self.storage_error(
                "update a switch",
                "its staged allow-list was lost before the write (retry it); nothing was written",
            )),
            _ => Err(Error::Conflict {
                name: switch.name,
                expected: switch.version,
                found: version,
            }),
        }
    }

    /// A shortcut as one script run; `None` if the record is not in the
    /// form gate writes (the caller then reads, changes and updates it).
    async fn shortcut_script(
        &self,
        key: &str,
        actor: &str,
        shortcut: &Shortcut,
        known: Option<&Switch>,
    ) -> Result<Option<AppliedShortcut>, Error> {
        let name = split_key(key).1;
        let (op, operand) = match shortcut {
            Shortcut::State(state) => ("state", state.to_string()),
            Shortcut::Toggle => ("toggle", String::new()),
            Shortcut::Percentage(p) => (
                "percent",
                serde_json::to_string(&Shortcut::percentage_condition(*p)).unwrap_or_default(),
            ),
            Shortcut::AddCondition(c) => {
                ("condition", serde_json::to_string(c).unwrap_or_default())
            }
            Shortcut::Allow(_) => ("allow", String::new()),
            Shortcut::Disallow(_) => ("disallow", String::new()),
        };
        let (ids, add) = shortcut.ids().unwrap_or((&[], true));
        let start = format!(
            r#"{{"name":{},"state":""#,
            serde_json::to_string(name).unwrap_or_default()
        );
        let mut created = shortcut.created(name);
        created.version = 1;
        let created_entry = HistoryEntry::registered(actor, key, &created);
        // The script adds the version and what changed.
        let action = match shortcut.ids() {
            Some(_) if add => Action::Allowed,
            Some(_) => Action::Disallowed,
            None => Action::Updated,
        };
        let write_op = self.op(
            match action {
                Action::Allowed => "allow",
                Action::Disallowed => "disallow",
                _ => "shortcut",
            },
            name,
        );
        let mut created_entry = created_entry;
        created_entry.op = Some(write_op.id.clone());
        let mut entry = HistoryEntry::new(actor, key, action);
        entry.op = Some(write_op.id.clone());
        let mut entry = entry.to_json();
        entry.pop();
        let mut invocation =
            self.switch_invocation(&self.scripts.shortcut, &write_op, "hash hash set list", key);
        invocation
            .arg(&self.keys.channel)
            .arg(op)
            .arg(operand)
            .arg(start)
            .arg(Self::record_json(&created))
            .arg(created_entry.to_json())
            .arg(entry)
            .arg(self.history_capacity)
            .arg(LISTED_IDS)
            .arg(known.map_or_else(String::new, |k| k.version.to_string()))
            .arg(SHORTCUT_USERS_BACK)
            .arg(ids);
        let (status, before, version, json, mode, users): (u8, u64, u64, String, u8, Vec<String>) =
            self.write(&write_op, "apply a shortcut", &invocation)
                .await?;
        // The caller's copy, if the write changed that very version: the
        // same change applied to it here gives the record written (checked
        // on its JSON), without parsing it.
        let same_copy = known.filter(|k| k.version == before).and_then(|k| {
            let mut next = k.clone();
            shortcut.apply(&mut next);
            (Self::record_json(&next) == json).then_some(next)
        });
        // The caller's copy with this change applied to its allow-list.
        let changed_copy = || {
            let mut users = known.map(|k| k.users.clone()).unwrap_or_default();
            for id in ids {
                if add {
                    users.insert(id.as_str());
                } else {
                    users.remove(id);
                }
            }
            users
        };
        let (users, exact) = match (status, mode) {
            // Created: the record is the one sent.
            (1, _) => {
                created.version = version;
                return Ok(Some(AppliedShortcut::exact(created)));
            }
            (0, 0) => (changed_copy(), true),
            (0, 1) => (users.into_iter().collect(), true),
            (0, _) => (changed_copy(), false),
            _ => return Ok(None),
        };
        if let Some(mut switch) = same_copy {
            switch.version = version;
            switch.users = users;
            return Ok(Some(AppliedShortcut { switch, exact }));
        }
        let switch = Self::parse_reusing(key, &json, version, users, known).map_err(|e| {
            self.storage_error(
                "apply a shortcut",
                format_args!(
                    "the change was written, but the stored record of {key:?} cannot be read: {e}"
                ),
            )
        })?;
        Ok(Some(AppliedShortcut { switch, exact }))
    }
}

impl Storage for RedisStorage {
    fn load(&self) -> BoxFuture<'_, Result<Vec<Record>, Error>> {
        Box::pin(async move {
            Ok(self
                .fetch_all(|_| None)
                .await?
                .records
                .into_iter()
                .filter_map(|(key, switch)| switch.ok().map(|switch| Record { key, switch }))
                .collect())
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Switch>, Error>> {
        Box::pin(async move { self.fetch(key).await?.transpose() })
    }

    fn insert<'a>(
        &'a self,
        key: &'a str,
        actor: &'a str,
        switch: Switch,
    ) -> BoxFuture<'a, Result<Switch, Error>> {
        Box::pin(async move {
            // Never store what the other nodes would refuse to read.
            switch.validate()?;
            let op = self.op("register", &switch.name);
            let users: Vec<&str> = switch.users.iter().collect();
            let staged = if users.len() > INLINE_IDS {
                Some(self.stage(&users).await?)
            } else {
                None
            };
            let mut entry_switch = switch.clone();
            entry_switch.version = 1;
            let mut entry = HistoryEntry::registered(actor, key, &entry_switch);
            entry.op = Some(op.id.clone());
            // The users set is replaced whole.
            let mut invocation =
                self.switch_invocation(&self.scripts.insert, &op, "hash hash * list set", key);
            invocation
                .arg(Self::record_json(&switch))
                .arg(&self.keys.channel)
                .arg(users.len())
                .arg(entry.to_json())
                .arg(self.history_capacity);
            match &staged {
                Some(stage) => invocation.key(stage),
                None => invocation.arg(users),
            };
            let result: Result<i64, Error> =
                self.write(&op, "register a switch", &invocation).await;
            if let Some(stage) = staged {
                // A write still in flight needs its staged list.
                if !matches!(result, Err(Error::OutcomeUnknown { .. })) {
                    self.unstage(&[stage]).await;
                }
            }
            let version = result?;
            if version == -2 {
                return Err(self.storage_error(
                    "register a switch",
                    "its staged allow-list was lost before the write (retry it); nothing was written",
                ));
            }
            if version < 0 {
                return Err(Error::AlreadyExists { name: switch.name });
            }
            let mut stored = switch;
            stored.version = version as u64;
            Ok(stored)
        })
    }

    fn update<'a>(
        &'a self,
        key: &'a str,
        actor: &'a str,
        switch: Switch,
    ) -> BoxFuture<'a, Result<(Switch, Switch), Error>> {
        Box::pin(async move {
            // An unreadable record is refused here, before any write (a
            // script failing halfway on an allow-list that is not a set
            // would leave half a write); `repair` replaces one.
            let previous = match self.fetch(key).await? {
                Some(previous) => Some(previous?),
                None => None,
            };
            self.update_with(key, actor, previous, switch).await
        })
    }

    fn update_from<'a>(
        &'a self,
        key: &'a str,
        actor: &'a str,
        previous: Switch,
        switch: Switch,
    ) -> BoxFuture<'a, Result<(Switch, Switch), Error>> {
        Box::pin(self.update_with(key, actor, Some(previous), switch))
    }

    fn remove_tree<'a>(
        &'a self,
        key: &'a str,
        actor: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Record>, Error>> {
        Box::pin(async move {
            let op = self.op("unregister", split_key(key).1);
            // The script adds each removed key and the closing brace.
            let entry = format!(
                r#"{{"actor":{},"at":{},"action":"unregistered","op":{}"#,
                serde_json::Value::from(actor),
                now_ms(),
                serde_json::Value::from(op.id.as_str()),
            );
            let mut invocation = self.invocation(&self.scripts.remove_tree, &op, "hash hash list");
            invocation
                .key(&self.keys.switches)
                .key(&self.keys.versions)
                .key(&self.keys.history)
                .arg(key)
                .arg(&self.keys.channel)
                .arg(&self.keys.users_prefix)
                .arg(entry)
                .arg(self.history_capacity);
            let flat: Vec<String> = self.write(&op, "unregister switches", &invocation).await?;
            Ok(flat
                .chunks(3)
                .filter_map(|triple| {
                    let [key, json, version] = triple else {
                        return None;
                    };
                    let version = version.parse().unwrap_or(0);
                    let switch = Self::parse(key, json, version, Users::default())
                        .unwrap_or_else(|_| Switch::new(split_key(key).1));
                    Some(Record {
                        key: key.clone(),
                        switch,
                    })
                })
                .filter(|r| in_tree(&r.key, key))
                .collect())
        })
    }

    fn apply_shortcut<'a>(
        &'a self,
        key: &'a str,
        actor: &'a str,
        shortcut: &'a Shortcut,
        known: Option<&'a Switch>,
    ) -> BoxFuture<'a, Result<AppliedShortcut, Error>> {
        Box::pin(async move {
            match self.shortcut_script(key, actor, shortcut, known).await? {
                Some(applied) => Ok(applied),
                None => shortcut::read_modify_write(self, key, actor, shortcut)
                    .await
                    .map(AppliedShortcut::exact),
            }
        })
    }

    fn write_batch<'a>(
        &'a self,
        actor: &'a str,
        writes: Vec<(String, BatchWrite)>,
    ) -> BoxFuture<'a, Result<Vec<Switch>, Error>> {
        Box::pin(async move {
            for (_, write) in &writes {
                write.switch().validate()?;
            }
            let first = writes
                .first()
                .map_or_else(String::new, |(_, w)| w.switch().name.clone());
            let op = self.op("batch", &first);
            // Each item's expected version and audit entry first: the
            // entry needs the switch being replaced; the script's version
            // check makes it the one replaced.
            let mut items: Vec<(String, String)> = Vec::with_capacity(writes.len());
            for (key, write) in &writes {
                let (expected, mut entry) = match write {
                    BatchWrite::Create(switch) => {
                        (String::new(), HistoryEntry::registered(actor, key, switch))
                    }
                    BatchWrite::Update(switch) => {
                        let previous = match self.fetch(key).await? {
                            Some(Ok(previous)) => Some(previous),
                            Some(Err(_)) => None,
                            None => {
                                return Err(Error::NotFound {
                                    name: switch.name.clone(),
                                })
                            }
                        };
                        if let Some(previous) = &previous {
                            write.check(key, Some(previous))?;
                        }
                        let previous = previous.unwrap_or_else(|| Switch::new(split_key(key).1));
                        (
                            switch.version.to_string(),
                            HistoryEntry::updated(actor, key, &previous, switch),
                        )
                    }
                };
                entry.version = 0;
                entry.op = Some(op.id.clone());
                let mut entry = entry.to_json();
                entry.pop();
                items.push((expected, entry));
            }
            // Large allow-lists (and any beyond the inline budget) are
            // staged, so the script call stays small and quick.
            let mut staged: Vec<Option<String>> = Vec::with_capacity(writes.len());
            let mut inline = 0;
            for (_, write) in &writes {
                let users = &write.switch().users;
                if users.len() > INLINE_IDS || inline + users.len() > INLINE_BATCH_IDS {
                    let ids: Vec<&str> = users.iter().collect();
                    match self.stage(&ids).await {
                        Ok(stage) => staged.push(Some(stage)),
                        Err(e) => {
                            self.unstage(&staged.into_iter().flatten().collect::<Vec<_>>())
                                .await;
                            return Err(e);
                        }
                    }
                } else {
                    inline += users.len();
                    staged.push(None);
                }
            }
            let mut invocation = self.invocation(&self.scripts.batch, &op, "hash hash list");
            invocation
                .key(&self.keys.switches)
                .key(&self.keys.versions)
                .key(&self.keys.history)
                .arg(&self.keys.channel)
                .arg(&self.keys.users_prefix)
                .arg(self.history_capacity)
                .arg(writes.len());
            for (((key, write), (expected, entry)), stage) in writes.iter().zip(&items).zip(&staged)
            {
                let switch = write.switch();
                invocation
                    .arg(key)
                    .arg(Self::record_json(switch))
                    .arg(expected)
                    .arg(entry)
                    .arg(stage.as_deref().unwrap_or(""))
                    .arg(switch.users.len());
                if stage.is_none() {
                    invocation.arg(switch.users.iter().collect::<Vec<&str>>());
                }
            }
            let out: Result<Vec<u64>, Error> = self.write(&op, "write a batch", &invocation).await;
            let staged: Vec<String> = staged.into_iter().flatten().collect();
            // A write still in flight needs its staged lists.
            if !staged.is_empty() && !matches!(out, Err(Error::OutcomeUnknown { .. })) {
                self.unstage(&staged).await;
            }
            let out = out?;
            let name = |j: u64| {
                writes
                    .get(j.saturating_sub(1) as usize)
                    .map_or_else(String::new, |(_, w)| w.switch().name.clone())
            };
            match out.as_slice() {
                [0, versions @ ..] => Ok(writes
                    .into_iter()
                    .zip(versions)
                    .map(|((_, write), &version)| {
                        let mut stored = match write {
                            BatchWrite::Create(s) | BatchWrite::Update(s) => s,
                        };
                        stored.version = version;
                        stored
                    })
                    .collect()),
                [1, j] => Err(Error::AlreadyExists { name: name(*j) }),
                [2, j] => Err(Error::NotFound { name: name(*j) }),
                [3, j, found] => Err(Error::Conflict {
                    name: name(*j),
                    expected: writes[*j as usize - 1].1.switch().version,
                    found: *found,
                }),
                [4, j] => Err(self.storage_error(
                    "write a batch",
                    format_args!(
                        "the staged allow-list of {:?} was lost before the write (retry it); nothing was written",
                        name(*j)
                    ),
                )),
                other => Err(self
                    .storage_error("write a batch", format_args!("unexpected answer {other:?}"))),
            }
        })
    }

    fn write_outcome<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<WriteOutcome, Error>> {
        Box::pin(async move {
            if !ops::well_formed(id) {
                return Ok(WriteOutcome::NoRecord);
            }
            Ok(match self.check(id, ops::recent(id)).await? {
                Checked::Answered(kind, answer) if ops::applied(&kind, &answer) => {
                    WriteOutcome::Applied
                }
                Checked::Answered(..) => WriteOutcome::NotApplied,
                Checked::Cancelled => WriteOutcome::NotApplied,
                Checked::InHistory => WriteOutcome::Applied,
                Checked::Nothing => WriteOutcome::NoRecord,
            })
        })
    }

    fn repair<'a>(
        &'a self,
        key: &'a str,
        actor: &'a str,
        switch: Switch,
    ) -> BoxFuture<'a, Result<Switch, Error>> {
        Box::pin(async move {
            let mut entry_switch = switch.clone();
            entry_switch.version = 0;
            let op = self.op("repair", &switch.name);
            let mut entry =
                HistoryEntry::updated(actor, key, &Switch::new(switch.name.clone()), &entry_switch);
            entry.op = Some(op.id.clone());
            let mut entry = entry.to_json();
            // The script adds the version and the closing brace (a
            // version of 0 is not written).
            entry.pop();
            // Any type for the allow-list: a repair replaces what is there.
            let mut invocation =
                self.switch_invocation(&self.scripts.repair, &op, "hash hash * list", key);
            invocation
                .arg(Self::record_json(&switch))
                .arg(&self.keys.channel)
                .arg(entry)
                .arg(self.history_capacity)
                .arg(switch.users.iter().collect::<Vec<&str>>());
            let version: u64 = self.write(&op, "repair a switch", &invocation).await?;
            let mut stored = switch;
            stored.version = version;
            Ok(stored)
        })
    }

    fn mark_restored(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(self.mark_restored_now())
    }

    fn retry_pause(&self, attempt: usize) -> BoxFuture<'_, ()> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let noise =
            crate::bucket::crc32(&(nanos ^ NEXT.fetch_add(1, Ordering::Relaxed)).to_le_bytes());
        // Random, below a ceiling that doubles from 200 µs (about a round
        // trip) up to 50 ms: writers that keep colliding spread out, so
        // that one gets through at each turn.
        let ceiling = (200u32 << attempt.clamp(1, 9).saturating_sub(1)).min(50_000);
        let pause = Duration::from_micros(u64::from(noise % ceiling));
        Box::pin(tokio::time::sleep(pause))
    }

    fn history<'a>(
        &'a self,
        key: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<HistoryEntry>, Error>> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let raw: Vec<String> = self
                .call(
                    "read the history",
                    redis::cmd("LRANGE")
                        .arg(&self.keys.history)
                        .arg(0)
                        .arg(-1)
                        .query_async(&mut connection),
                )
                .await?;
            // Newest first already (LPUSH); an entry some other tool
            // wrote malformed is skipped.
            Ok(raw
                .iter()
                .filter_map(|json| match serde_json::from_str::<HistoryEntry>(json) {
                    Ok(entry) => Some(entry),
                    Err(error) => {
                        tracing::warn!(%error, "gate: skipped a malformed history entry in Redis");
                        None
                    }
                })
                .filter(|e| key.is_none_or(|k| in_tree(&e.key, k)))
                .take(limit)
                .collect())
        })
    }
}

/// Builds a [`Manager`] on Redis; from
/// [`Manager::builder().redis(url)`](crate::Builder::redis).
///
/// # Examples
///
/// ```no_run
/// # async fn run() -> Result<(), gate::Error> {
/// let manager = gate::Manager::builder()
///     .redis("redis://127.0.0.1:6379/0")
///     .prefix("myapp")
///     .snapshot_file("/var/lib/myapp/gate-snapshot.json")
///     .with_signals(|signals| {
///         // Connected before the first load: start-up skips reach it too.
///         signals.record_skipped.connect(|skipped| {
///             eprintln!("cannot read switch {}: {}", skipped.key, skipped.error);
///         });
///     })
///     .build()
///     .await?;
/// # let _ = manager; Ok(()) }
/// ```
#[must_use]
pub struct RedisBuilder {
    url: String,
    prefix: String,
    autocreate: bool,
    resync_interval: Duration,
    timeout: Duration,
    snapshot: Option<PathBuf>,
    history_capacity: usize,
    setup: Option<SignalsSetup>,
    republish: bool,
}

/// What [`RedisBuilder::with_signals`] runs before the first load.
struct SignalsSetup(Box<dyn FnOnce(&Signals) + Send>);

impl std::fmt::Debug for SignalsSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignalsSetup(..)")
    }
}

impl std::fmt::Debug for RedisBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBuilder")
            .field("url", &super::redact_url(&self.url))
            .field("prefix", &self.prefix)
            .field("autocreate", &self.autocreate)
            .field("resync_interval", &self.resync_interval)
            .field("timeout", &self.timeout)
            .field("snapshot", &self.snapshot)
            .field("history_capacity", &self.history_capacity)
            .finish()
    }
}

impl RedisBuilder {
    pub(crate) fn new(url: String, autocreate: bool) -> Self {
        RedisBuilder {
            url,
            prefix: "gate".into(),
            autocreate,
            resync_interval: Duration::from_secs(30),
            timeout: Duration::from_secs(1),
            snapshot: None,
            history_capacity: DEFAULT_HISTORY_CAPACITY,
            setup: None,
            republish: false,
        }
    }

    /// The prefix of every Redis key (default `gate`): managers with the
    /// same URL and prefix share switches; different prefixes are isolated.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Register unknown switches (disabled) when they are first checked.
    pub fn autocreate(mut self, autocreate: bool) -> Self {
        self.autocreate = autocreate;
        self
    }

    /// How often the whole replica is read again from Redis, to repair
    /// anything pub/sub dropped (default 30 s).
    pub fn resync_interval(mut self, interval: Duration) -> Self {
        self.resync_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// How long a Redis call may take before it fails with
    /// [`Error::Storage`] (default 1 s). A write whose answer does not come
    /// in that time is then checked by its operation id for up to as long
    /// again, and fails with [`Error::OutcomeUnknown`] if that does not
    /// tell either; a timed-out call also marks
    /// [`sync_status`](crate::Manager::sync_status) disconnected until
    /// Redis answers again.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// A local file the replica is written to (atomically) after each
    /// sync, and read from when the process starts while Redis is down,
    /// or finds that Redis lost its data. It is never written while the
    /// store is known to have lost its data; `gate restore --from` writes
    /// its switches back.
    pub fn snapshot_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.snapshot = Some(path.into());
        self
    }

    /// How many entries the audit trail (`{prefix}:history`) keeps; the
    /// oldest are dropped (default 1,000, at least 1).
    pub fn history_capacity(mut self, entries: usize) -> Self {
        self.history_capacity = entries.max(1);
        self
    }

    /// Connects listeners to the manager's signals before it loads
    /// anything, so that they see the start-up too (switches skipped as
    /// unreadable, a data loss found at start-up). `setup` runs once, in
    /// [`build`](Self::build), before the first read.
    pub fn with_signals(mut self, setup: impl FnOnce(&Signals) + Send + 'static) -> Self {
        self.setup = Some(SignalsSetup(Box::new(setup)));
        self
    }

    /// When this node finds that Redis lost its data, it writes the
    /// switches it holds (and Redis lacks) back itself, then marks the
    /// store restored, instead of waiting for `gate restore` (default
    /// off: with several nodes, the operator chooses which state comes
    /// back).
    pub fn republish_on_data_loss(mut self, republish: bool) -> Self {
        self.republish = republish;
        self
    }

    /// The storage alone, without a manager (for the conformance suite or
    /// your own tooling). It connects on first use.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] for a URL the redis crate does not accept.
    pub fn build_storage(&self) -> Result<RedisStorage, Error> {
        let shown = super::redact_url(&self.url);
        let client = redis::Client::open(self.url.as_str())
            .map_err(|e| Error::Storage(format!("invalid Redis URL {shown}: {e}")))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let connection = client
            .get_connection_manager_lazy(config)
            .map_err(|e| Error::Storage(format!("Redis at {shown}: {e}")))?;
        Ok(RedisStorage {
            client,
            connection,
            keys: Arc::new(Keys::new(&self.prefix)),
            scripts: Arc::new(Scripts {
                insert: redis::Script::new(&ops::guarded(INSERT)),
                update: redis::Script::new(&ops::guarded(UPDATE)),
                shortcut: redis::Script::new(&ops::guarded(SHORTCUT)),
                remove_tree: redis::Script::new(&ops::guarded(REMOVE_TREE)),
                batch: redis::Script::new(&ops::guarded(BATCH)),
                outcome: redis::Script::new(ops::OUTCOME),
                repair: redis::Script::new(&ops::guarded(REPAIR)),
            }),
            timeout: self.timeout,
            history_capacity: self.history_capacity,
            url: Arc::from(shown),
            status: Arc::default(),
        })
    }

    /// Connects, loads the switches and starts following changes in the
    /// background (on the current tokio runtime).
    ///
    /// If Redis is unreachable the manager still starts: with the switches
    /// of the snapshot file if one is configured and readable, else with
    /// none (and a warning); it joins Redis when Redis answers. If Redis
    /// answers but lost its data (its marker differs from the one in the
    /// snapshot file), the manager serves the snapshot file's switches
    /// and reports the loss ([`SyncStatus::data_loss`]).
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] for a URL the redis crate does not accept.
    pub async fn build(self) -> Result<Manager, Error> {
        let storage = self.build_storage()?;
        let manager = Manager::from_parts(
            Box::new(storage.clone()),
            self.autocreate,
            SyncStatus {
                connected: false,
                last_sync: None,
                source: ReplicaSource::Empty,
                last_error: None,
                data_loss: None,
                unreadable: 0,
            },
        );
        if let Some(setup) = self.setup {
            (setup.0)(manager.signals());
        }
        let shared = manager.shared().clone();
        storage.status.attach(Arc::downgrade(&shared));
        let from_file = self.snapshot.as_deref().map(read_snapshot);
        let saved = match &from_file {
            Some(Ok(file)) => Some(file.clone()),
            _ => None,
        };
        let sync = Sync {
            shared: Arc::downgrade(&shared),
            storage,
            interval: self.resync_interval,
            epoch: Mutex::new(saved.as_ref().and_then(|s| s.epoch.clone())),
            saved: Mutex::new(saved.map(|s| valid(s.records))),
            snapshot: self.snapshot,
            republish: self.republish,
        };
        if let Err(e) = sync.resync(&shared).await {
            sync.start_offline(&shared, &e, from_file);
        }
        drop(shared);
        tokio::spawn(sync.run());
        Ok(manager)
    }
}

/// The records of a snapshot file that are valid switches.
fn valid(records: Vec<Record>) -> Vec<Record> {
    records
        .into_iter()
        .filter(|r| r.switch.validate().is_ok())
        .collect()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The background task that keeps a replica in step with Redis.
struct Sync {
    shared: Weak<Shared>,
    storage: RedisStorage,
    interval: Duration,
    snapshot: Option<PathBuf>,
    /// The store's marker this replica follows (from the snapshot file
    /// until the first read).
    epoch: Mutex<Option<String>>,
    /// The snapshot file's switches until the first read: served if that
    /// read finds the store has lost its data.
    saved: Mutex<Option<Vec<Record>>>,
    /// Write the replica back when the store lost its data.
    republish: bool,
}

/// The actor of switches a node re-publishes after a data loss.
pub const REPUBLISH_ACTOR: &str = "republish";

impl Sync {
    fn start_offline(
        &self,
        shared: &Shared,
        error: &Error,
        from_file: Option<Result<Snapshot, String>>,
    ) {
        let from_file = self.snapshot.as_deref().zip(from_file);
        let source = match from_file {
            Some((path, Ok(file))) => {
                let records = valid(file.records);
                let count = records.len();
                tracing::warn!(%error, path = %path.display(), switches = count, "gate: Redis is unreachable; serving the switches of the snapshot file until it answers");
                shared.replace_all(records);
                ReplicaSource::SnapshotFile
            }
            Some((path, Err(file_error))) => {
                tracing::warn!(%error, path = %path.display(), %file_error, "gate: Redis is unreachable and the snapshot file cannot be read; starting with no switches until Redis answers");
                ReplicaSource::Empty
            }
            None => {
                tracing::warn!(%error, "gate: Redis is unreachable; starting with no switches until it answers (configure snapshot_file to serve the last known ones)");
                ReplicaSource::Empty
            }
        };
        shared.set_sync(|s| {
            s.connected = false;
            s.source = source;
            s.last_error = Some(error.to_string());
        });
    }

    /// Reads everything and makes the replica equal to it, unless the
    /// store lost its data: then the replica only takes what the store
    /// holds, and loses nothing.
    async fn resync(&self, shared: &Shared) -> Result<(), Error> {
        // A change applied while the read runs is newer than what it reads.
        let since = shared.seq();
        let read = self
            .storage
            .fetch_all(|key| shared.replica_switch(key))
            .await?;
        let saved = lock(&self.saved).clone();
        let held = shared.replica_len().max(saved.as_ref().map_or(0, Vec::len));
        let lost = self.data_lost(shared, read.epoch, held).await?;
        lock(&self.saved).take();
        let mut records = Vec::with_capacity(read.records.len());
        let mut malformed = Vec::new();
        for (key, parsed) in read.records {
            match parsed {
                Ok(switch) => records.push(Record { key, switch }),
                Err(error) => {
                    skipped(shared, key.clone(), &error);
                    malformed.push(key);
                }
            }
        }
        // A problem no longer seen (read fine, or gone) is reported again
        // if it comes back.
        let unreadable: std::collections::BTreeSet<&str> =
            malformed.iter().map(String::as_str).collect();
        shared.note_readable(|key| !unreadable.contains(key));
        let mut source = Some(ReplicaSource::Storage);
        if lost {
            source = None;
            let mut stored: std::collections::BTreeSet<String> =
                records.iter().map(|r| r.key.clone()).collect();
            stored.extend(malformed.iter().cloned());
            let mut changes = Vec::new();
            if let Some(saved) = saved.filter(|_| shared.replica_len() == 0) {
                source = Some(ReplicaSource::SnapshotFile);
                changes.extend(
                    saved
                        .into_iter()
                        .map(|Record { key, switch }| Apply::Upsert {
                            key,
                            switch,
                            authoritative: true,
                        }),
                );
            }
            changes.extend(
                records
                    .into_iter()
                    .map(|Record { key, switch }| Apply::Upsert {
                        key,
                        switch,
                        authoritative: true,
                    }),
            );
            shared.apply_since(changes, Origin::Remote, Some(since));
            if self.republish {
                self.republish(shared, &stored).await;
            }
        } else {
            shared.sync_to(records, &malformed, since);
        }
        shared.set_sync(|s| {
            s.connected = true;
            s.last_sync = Some(SystemTime::now());
            if let Some(source) = source {
                s.source = source;
            }
            s.last_error = None;
        });
        self.write_snapshot(shared);
        Ok(())
    }

    /// Whether the store lost its data, judged by its marker (`epoch`,
    /// as just read) against the one this replica follows. Adopts the
    /// store's marker when the store is new to this replica, when the
    /// replica holds nothing to lose, or when the store was restored.
    async fn data_lost(
        &self,
        shared: &Shared,
        epoch: Option<String>,
        held: usize,
    ) -> Result<bool, Error> {
        let known = lock(&self.epoch).clone();
        let adopt = match (&known, &epoch) {
            (Some(k), Some(e)) if k == e => true,
            (Some(_), Some(e)) if e.starts_with(RESTORED) => true,
            (None, _) => true,
            (Some(_), _) => held == 0,
        };
        if !adopt {
            let message = match &epoch {
                None => format!(
                    "Redis lost its data: its marker {} is gone (restarted without persistence, or flushed)",
                    self.storage.keys.epoch
                ),
                Some(e) => format!(
                    "Redis lost its data: its marker {} changed from {:?} to {e:?} (restarted without persistence, or flushed, then written to)",
                    self.storage.keys.epoch,
                    known.as_deref().unwrap_or_default()
                ),
            };
            let message = format!(
                "{message}; serving the last {held} known switches, which only explicit deletes remove, until it is restored (gate restore --from <snapshot file>)"
            );
            let mut first = false;
            shared.set_sync(|s| {
                first = s.data_loss.is_none();
                s.data_loss = Some(message.clone());
            });
            if first {
                tracing::error!(switches = held, "gate: {message}");
                shared.signals.store_data_lost.emit_with(|| StoreDataLost {
                    message,
                    switches: held,
                });
            }
            return Ok(true);
        }
        let epoch = match epoch {
            Some(epoch) => epoch,
            None => self.storage.claim_epoch().await?,
        };
        *lock(&self.epoch) = Some(epoch);
        let mut was_lost = false;
        shared.set_sync(|s| was_lost = s.data_loss.take().is_some());
        if was_lost {
            tracing::warn!("gate: Redis was restored after a data loss; following its state again");
        }
        Ok(false)
    }

    /// Writes the switches the replica holds and the store lacks back,
    /// all or none, then marks the store restored.
    async fn republish(&self, shared: &Shared, stored: &std::collections::BTreeSet<String>) {
        let writes: Vec<(String, BatchWrite)> = shared
            .replica_records()
            .into_iter()
            .filter(|r| !stored.contains(&r.key))
            .map(|r| (r.key, BatchWrite::Create(r.switch)))
            .collect();
        let count = writes.len();
        let written = if writes.is_empty() {
            Ok(())
        } else {
            self.storage
                .write_batch(REPUBLISH_ACTOR, writes)
                .await
                .map(|_| ())
        };
        // Marked restored only once everything is written back: the other
        // nodes then take the store's state as a whole again.
        let written = match written {
            Ok(()) => self.storage.mark_restored_now().await,
            Err(e) => Err(e),
        };
        match written {
            Ok(()) => {
                tracing::warn!(
                    switches = count,
                    "gate: re-published the last known switches to Redis after its data loss"
                );
            }
            Err(error) => {
                tracing::warn!(%error, "gate: could not re-publish the last known switches; retrying at the next resync");
            }
        }
    }

    /// Writes the replica to the snapshot file, unless the store lost its
    /// data (the file then keeps the last state the store held).
    fn write_snapshot(&self, shared: &Shared) {
        let Some(path) = &self.snapshot else { return };
        let mut lost = false;
        shared.set_sync(|s| lost = s.data_loss.is_some());
        if lost {
            return;
        }
        let epoch = lock(&self.epoch).clone();
        if let Err(e) = write_snapshot(path, epoch.as_deref(), &shared.replica_records()) {
            tracing::warn!(path = %path.display(), error = %e, "gate: could not write the snapshot file");
        }
    }

    fn disconnected(&self, shared: &Shared, error: &Error) {
        shared.set_sync(|s| {
            if s.connected {
                tracing::warn!(%error, "gate: lost Redis; checks answer from the last known switches");
            }
            s.connected = false;
            s.last_error = Some(error.to_string());
        });
    }

    async fn run(self) {
        let mut backoff = Duration::from_millis(50);
        loop {
            let Some(shared) = self.shared.upgrade() else {
                return;
            };
            let subscribed = async {
                let mut pubsub = self
                    .storage
                    .call("subscribe", self.storage.client.get_async_pubsub())
                    .await?;
                self.storage
                    .call("subscribe", pubsub.subscribe(&self.storage.keys.channel))
                    .await?;
                self.resync(&shared).await?;
                Ok::<_, Error>(pubsub)
            };
            let mut pubsub = match subscribed.await {
                Ok(pubsub) => pubsub,
                Err(e) => {
                    self.disconnected(&shared, &e);
                    drop(shared);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_millis(500));
                    continue;
                }
            };
            backoff = Duration::from_millis(50);
            drop(shared);
            let mut messages = pubsub.on_message();
            let mut resync = tokio::time::interval(self.interval);
            resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            resync.tick().await;
            let mut health = tokio::time::interval(HEALTH_INTERVAL);
            health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            health.tick().await;
            let lost = loop {
                tokio::select! {
                    message = messages.next() => {
                        let Some(shared) = self.shared.upgrade() else { return };
                        let Some(message) = message else {
                            break Error::Storage(format!("Redis at {} closed the connection", self.storage.url));
                        };
                        if let Err(e) = self.handle(&shared, message.get_payload_bytes()).await {
                            break e;
                        }
                    }
                    _ = resync.tick() => {
                        let Some(shared) = self.shared.upgrade() else { return };
                        if let Err(e) = self.resync(&shared).await {
                            break e;
                        }
                    }
                    _ = health.tick() => {
                        // A hung server keeps the subscription open and
                        // sends nothing: only a question notices it.
                        if let Err(e) = self.storage.ping().await {
                            break e;
                        }
                    }
                }
            };
            drop(messages);
            let Some(shared) = self.shared.upgrade() else {
                return;
            };
            self.disconnected(&shared, &lost);
        }
    }

    /// Applies one notification.
    async fn handle(&self, shared: &Shared, payload: &[u8]) -> Result<(), Error> {
        let notification: Notification = match serde_json::from_slice(payload) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "gate: unreadable change notification; resyncing");
                return self.resync(shared).await;
            }
        };
        match notification {
            Notification::Put {
                key,
                version,
                users,
            } => match shared.replica_switch(&key) {
                Some(known) if known.version == version => return Ok(()),
                Some(known) if !users && known.version + 1 == version => {
                    self.refetch_record(shared, key, &known, version).await?;
                }
                _ => self.refetch(shared, key).await?,
            },
            Notification::Del { keys } => {
                shared.note_readable(|key| keys.iter().any(|k| k == key));
                shared.apply(
                    keys.into_iter().map(|key| Apply::Remove { key }).collect(),
                    Origin::Remote,
                );
            }
            Notification::Allow { key, version, ids } => {
                self.users_changed(shared, key, version, &ids, true).await?;
            }
            Notification::Disallow { key, version, ids } => {
                self.users_changed(shared, key, version, &ids, false)
                    .await?;
            }
            Notification::Restored => return self.resync(shared).await,
        }
        self.write_snapshot(shared);
        Ok(())
    }

    /// Applies an allow-list change in place when the replica is exactly
    /// one version behind, else reads the switch again.
    async fn users_changed(
        &self,
        shared: &Shared,
        key: String,
        version: u64,
        ids: &[String],
        add: bool,
    ) -> Result<(), Error> {
        match shared.replica_switch(&key) {
            Some(known) if known.version >= version => Ok(()),
            Some(known) if known.version + 1 == version => {
                let mut next = Switch::clone(&known);
                for id in ids {
                    if add {
                        next.users.insert(id.as_str());
                    } else {
                        next.users.remove(id);
                    }
                }
                next.version = version;
                shared.apply(
                    vec![Apply::Upsert {
                        key,
                        switch: next,
                        authoritative: false,
                    }],
                    Origin::Remote,
                );
                Ok(())
            }
            _ => self.refetch(shared, key).await,
        }
    }

    /// Reads only the record of a switch whose allow-list did not change
    /// (a million ids are not read again for a new description); falls
    /// back to a full read if the switch moved on meanwhile.
    async fn refetch_record(
        &self,
        shared: &Shared,
        key: String,
        known: &Switch,
        version: u64,
    ) -> Result<(), Error> {
        let since = Some(shared.seq());
        let mut connection = self.storage.connection.clone();
        let (json, stored): (Option<Vec<u8>>, Option<Vec<u8>>) = self
            .storage
            .call(
                "read a switch",
                redis::pipe()
                    .atomic()
                    .hget(&self.storage.keys.switches, &key)
                    .hget(&self.storage.keys.versions, &key)
                    .query_async(&mut connection),
            )
            .await?;
        match (json, version_of(stored.as_deref())) {
            (Some(json), Ok(stored)) if stored == version => {
                match RedisStorage::parse_raw(&key, &json, version, known.users.clone()) {
                    Ok(switch) => {
                        shared.note_readable(|k| k == key);
                        shared.apply_since(
                            vec![Apply::Upsert {
                                key,
                                switch,
                                authoritative: true,
                            }],
                            Origin::Remote,
                            since,
                        );
                    }
                    Err(error) => skipped(shared, key, &error),
                }
                Ok(())
            }
            _ => self.refetch(shared, key).await,
        }
    }

    async fn refetch(&self, shared: &Shared, key: String) -> Result<(), Error> {
        let since = Some(shared.seq());
        let fetched = self.storage.fetch(&key).await?;
        if !matches!(fetched, Some(Err(_))) {
            shared.note_readable(|k| k == key);
        }
        match fetched {
            Some(Ok(switch)) => shared.apply_since(
                vec![Apply::Upsert {
                    key,
                    switch,
                    authoritative: true,
                }],
                Origin::Remote,
                since,
            ),
            Some(Err(error)) => skipped(shared, key, &error),
            None => shared.apply_since(vec![Apply::Remove { key }], Origin::Remote, since),
        }
        Ok(())
    }
}

/// Every switch as stored, and the store's epoch marker, from one read.
struct FullRead {
    records: Vec<(String, Result<Switch, Error>)>,
    epoch: Option<String>,
}

/// The error of a record that cannot be read.
fn unreadable(key: &str, reason: String) -> Error {
    Error::Unreadable {
        key: key.to_owned(),
        reason,
    }
}

/// At most 120 characters of a stored text, quoted, for messages.
fn excerpt(text: &str) -> String {
    const MAX: usize = 120;
    if text.chars().count() <= MAX {
        return format!("{text:?}");
    }
    let cut: String = text.chars().take(MAX).collect();
    format!("{cut:?}…")
}

/// A single answer as bytes (`None` for nil); an error reply, or an
/// answer of another type, as its text.
fn raw_bytes(answer: redis::RedisResult<redis::Value>) -> Result<Option<Vec<u8>>, String> {
    match answer {
        Ok(redis::Value::Nil) => Ok(None),
        Ok(redis::Value::BulkString(bytes)) => Ok(Some(bytes)),
        Ok(redis::Value::SimpleString(text)) => Ok(Some(text.into_bytes())),
        Ok(redis::Value::Int(n)) => Ok(Some(n.to_string().into_bytes())),
        Ok(other) => Err(format!("unexpected answer {other:?}")),
        Err(e) => Err(e.to_string()),
    }
}

/// A stored version: none is 0; anything but a whole number is a reason.
fn version_of(raw: Option<&[u8]>) -> Result<u64, String> {
    let Some(raw) = raw else { return Ok(0) };
    std::str::from_utf8(raw)
        .ok()
        .and_then(|text| text.parse::<u64>().ok())
        .ok_or_else(|| {
            format!(
                "its version is {}, not a whole number",
                excerpt(&String::from_utf8_lossy(raw))
            )
        })
}

/// The answer of `SCARD set`: a size, or why the allow-list is unreadable.
fn card_of(set: &str, answer: redis::RedisResult<redis::Value>) -> Result<usize, String> {
    match answer {
        Ok(redis::Value::Int(n)) if n >= 0 => Ok(n as usize),
        Ok(other) => Err(format!("its allow-list {set} answered {other:?}")),
        Err(e) => Err(not_a_set(set, &e)),
    }
}

/// Why an allow-list could not be read as a set.
fn not_a_set(set: &str, error: &redis::RedisError) -> String {
    if error.code() == Some("WRONGTYPE") {
        format!("its allow-list {set} is not a set (another tool wrote another type there)")
    } else {
        format!("its allow-list {set} cannot be read as a set ({error})")
    }
}

/// The answer of `SMEMBERS set`: the ids, or why they are unreadable.
fn members_of(set: &str, answer: redis::RedisResult<redis::Value>) -> Result<Users, String> {
    let value = answer.map_err(|e| not_a_set(set, &e))?;
    let ids: Vec<String> = redis::from_redis_value(value)
        .map_err(|e| format!("its allow-list {set} holds an id that is not text ({e})"))?;
    Ok(ids.into_iter().collect())
}

/// `Put` notifications without `users` (older writers, other tools) say
/// the allow-list may have changed.
fn changed() -> bool {
    true
}

/// Reports an unreadable record, once per distinct problem.
fn skipped(shared: &Shared, key: String, error: &Error) {
    let error = match error {
        Error::Unreadable { reason, .. } => reason.clone(),
        other => other.to_string(),
    };
    if !shared.note_unreadable(&key, &error) {
        return;
    }
    tracing::warn!(switch = %key, %error, "gate: skipped an unreadable switch record in Redis (its last good copy, if any, is kept)");
    shared
        .signals
        .record_skipped
        .emit_with(|| RecordSkipped { key, error });
}

#[cfg(test)]
mod shortcut_script_tests {
    /// The shortcut script refuses a condition past the limit itself (it
    /// cannot read the Rust constant): both must say the same number.
    #[test]
    fn the_script_knows_the_condition_limit() {
        let check = format!("#spans >= {}", crate::limits::MAX_CONDITIONS);
        assert!(super::SHORTCUT.contains(&check), "{check}");
    }
}
