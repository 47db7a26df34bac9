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
//!
//! Every write is one Lua script: it checks, writes, bumps the version and
//! publishes, atomically. Storage keys are `name` or `namespace.name`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::{Deserialize, Serialize};

use super::{
    in_tree, split_key, BatchWrite, BoxFuture, Record, ReplicaSource, Storage, SyncStatus,
    UsersChanged,
};
use crate::error::Error;
use crate::history::{now_ms, HistoryEntry, DEFAULT_HISTORY_CAPACITY, LISTED_IDS};
use crate::manager::{Apply, Manager, Shared};
use crate::signals::{Origin, RecordSkipped};
use crate::switch::{Switch, Users};

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

// KEYS: switches, versions, users, history
// ARGV: key, channel, 'allow' | 'disallow', entry without its closing
//       brace (the script adds the version and the ids it changed), cap,
//       listed ids (how many an entry lists), ids...
const USERS: &str = r#"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return {1, 0, 0} end
local changed = {}
for i = 7, #ARGV do
  local n
  if ARGV[3] == 'allow' then n = redis.call('SADD', KEYS[3], ARGV[i])
  else n = redis.call('SREM', KEYS[3], ARGV[i]) end
  if n == 1 then table.insert(changed, ARGV[i]) end
end
local v
if #changed > 0 then
  v = redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
  local listed = {}
  for i = 1, math.min(#changed, tonumber(ARGV[6])) do listed[i] = changed[i] end
  local side = 'removed'
  if ARGV[3] == 'allow' then side = 'added' end
  local entry = ARGV[4] .. ',"version":' .. v .. ',"users":{"' .. side .. '":' ..
    cjson.encode(listed) .. ',"' .. side .. '_count":' .. #changed .. '}}'
  redis.call('LPUSH', KEYS[4], entry)
  redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[5]) - 1)
  redis.call('PUBLISH', ARGV[2], cjson.encode({op = ARGV[3], key = ARGV[1], version = v, ids = changed}))
else
  v = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
end
return {0, v, #changed}
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
//       closing brace, id count, ids...
// Checks every item first, then writes them all: all or nothing.
const BATCH: &str = r#"
local items = {}
local i = 5
for j = 1, tonumber(ARGV[4]) do
  local nu = tonumber(ARGV[i + 4])
  items[j] = {ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], i + 5, nu}
  i = i + 5 + nu
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
end
local out = {0}
for j, it in ipairs(items) do
  redis.call('HSET', KEYS[1], it[1], it[2])
  if it[3] == '' then redis.call('HDEL', KEYS[2], it[1]) end
  local v = redis.call('HINCRBY', KEYS[2], it[1], 1)
  local users = ARGV[2] .. it[1]
  redis.call('UNLINK', users)
  for k = it[5], it[5] + it[6] - 1 do redis.call('SADD', users, ARGV[k]) end
  redis.call('LPUSH', KEYS[3], it[4] .. ',"version":' .. v .. '}')
  redis.call('PUBLISH', ARGV[1], cjson.encode({op = 'put', key = it[1], version = v}))
  table.insert(out, v)
end
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[3]) - 1)
return out
"#;

/// Up to this many ids travel inside a write's script; more are first
/// staged in a temporary set, so that no single call carries a million
/// arguments (and runs into the timeout).
const INLINE_IDS: usize = 1_000;
/// Ids per `SADD` while staging.
const STAGE_CHUNK: usize = 10_000;
/// A staging set left behind by a process that died mid-write expires.
const STAGE_TTL_SECONDS: i64 = 600;
/// Allow-lists up to this size are read with one `SMEMBERS`; larger ones
/// with `SSCAN` pages, so no single reply outlasts the timeout.
const READ_WHOLE: usize = 100_000;
/// Ids asked for per `SSCAN` page.
const SCAN_PAGE: usize = 50_000;

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
}

#[derive(Debug)]
struct Keys {
    switches: String,
    versions: String,
    users_prefix: String,
    channel: String,
    history: String,
}

impl Keys {
    fn new(prefix: &str) -> Self {
        Keys {
            switches: format!("{prefix}:switches"),
            versions: format!("{prefix}:versions"),
            users_prefix: format!("{prefix}:users:"),
            channel: format!("{prefix}:changes"),
            history: format!("{prefix}:history"),
        }
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
    users: redis::Script,
    remove_tree: redis::Script,
    batch: redis::Script,
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

/// Hides the password of a Redis URL.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
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
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(self.storage_error(what, e)),
            Err(_) => {
                Err(self.storage_error(what, format_args!("no answer within {:?}", self.timeout)))
            }
        }
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
            .await?;
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

    /// One switch as stored, `Err` with the parse error if malformed.
    ///
    /// A small allow-list is read with the record in one atomic pipeline;
    /// a large one page by page, and kept only if the switch's version did
    /// not move meanwhile (every write bumps it), so the result is always
    /// one consistent version.
    async fn fetch(&self, key: &str) -> Result<Option<Result<Switch, Error>>, Error> {
        let mut connection = self.connection.clone();
        for _ in 0..3 {
            let (json, version, card): (Option<String>, Option<u64>, usize) = self
                .call(
                    "read a switch",
                    redis::pipe()
                        .atomic()
                        .hget(&self.keys.switches, key)
                        .hget(&self.keys.versions, key)
                        .scard(self.keys.users(key))
                        .query_async(&mut connection),
                )
                .await?;
            let Some(json) = json else {
                return Ok(None);
            };
            let version = version.unwrap_or(0);
            if card == 0 {
                return Ok(Some(Self::parse(key, &json, version, Users::default())));
            }
            if card <= READ_WHOLE {
                let (json, version, users): (Option<String>, Option<u64>, Vec<String>) = self
                    .call(
                        "read a switch",
                        redis::pipe()
                            .atomic()
                            .hget(&self.keys.switches, key)
                            .hget(&self.keys.versions, key)
                            .smembers(self.keys.users(key))
                            .query_async(&mut connection),
                    )
                    .await?;
                return Ok(json.map(|json| {
                    Self::parse(
                        key,
                        &json,
                        version.unwrap_or(0),
                        users.into_iter().collect(),
                    )
                }));
            }
            let users = self.scan_users(key, card).await?;
            let after: Option<u64> = self
                .call(
                    "read a switch",
                    redis::cmd("HGET")
                        .arg(&self.keys.versions)
                        .arg(key)
                        .query_async(&mut connection),
                )
                .await?;
            if after == Some(version) {
                return Ok(Some(Self::parse(key, &json, version, users)));
            }
        }
        Err(self.storage_error(
            "read a switch",
            format_args!("the allow-list of {key:?} kept changing while it was read"),
        ))
    }

    /// Every switch as stored; malformed ones come back as errors.
    ///
    /// `known` gives the replica's copy of a switch: an allow-list whose
    /// version and size are unchanged is taken from it instead of being
    /// read again, so a periodic resync of a million-id list costs one
    /// `SCARD`. Large lists are read page by page. Changes made while this
    /// runs reach the replica through their notifications.
    async fn fetch_all(
        &self,
        known: impl Fn(&str) -> Option<Arc<Switch>>,
    ) -> Result<Vec<(String, Result<Switch, Error>)>, Error> {
        let mut connection = self.connection.clone();
        let (records, versions): (HashMap<String, String>, HashMap<String, u64>) = self
            .call(
                "read the switches",
                redis::pipe()
                    .atomic()
                    .hgetall(&self.keys.switches)
                    .hgetall(&self.keys.versions)
                    .query_async(&mut connection),
            )
            .await?;
        // Sorted: what follows (signals, the snapshot file) never depends
        // on the order of HGETALL.
        let mut keys: Vec<String> = records.keys().cloned().collect();
        keys.sort_unstable();
        let mut cards: Vec<usize> = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(1000) {
            let mut pipe = redis::pipe();
            for key in chunk {
                pipe.scard(self.keys.users(key));
            }
            let part: Vec<usize> = self
                .call("read the allow-lists", pipe.query_async(&mut connection))
                .await?;
            cards.extend(part);
        }
        let mut users: Vec<Option<Users>> = vec![None; keys.len()];
        // Small lists, many per pipeline; large ones page by page.
        let mut batch: Vec<usize> = Vec::new();
        let mut batch_ids = 0;
        for (i, key) in keys.iter().enumerate() {
            let version = versions.get(key).copied().unwrap_or(0);
            let card = cards[i];
            if card == 0 {
                users[i] = Some(Users::default());
            } else if let Some(same) =
                known(key).filter(|s| s.version == version && s.users.len() == card)
            {
                users[i] = Some(same.users.clone());
            } else if card > READ_WHOLE {
                users[i] = Some(self.scan_users(key, card).await?);
            } else {
                batch.push(i);
                batch_ids += card;
                if batch_ids >= READ_WHOLE || batch.len() >= 1000 {
                    self.read_batch(&keys, &mut batch, &mut users).await?;
                    batch_ids = 0;
                }
            }
        }
        self.read_batch(&keys, &mut batch, &mut users).await?;
        Ok(keys
            .into_iter()
            .zip(users)
            .map(|(key, users)| {
                let version = versions.get(&key).copied().unwrap_or(0);
                let parsed = Self::parse(&key, &records[&key], version, users.unwrap_or_default());
                (key, parsed)
            })
            .collect())
    }

    /// Reads the allow-lists of `keys[i]` for every `i` in `batch` with
    /// one pipeline, and empties `batch`.
    async fn read_batch(
        &self,
        keys: &[String],
        batch: &mut Vec<usize>,
        users: &mut [Option<Users>],
    ) -> Result<(), Error> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut connection = self.connection.clone();
        let mut pipe = redis::pipe();
        for &i in batch.iter() {
            pipe.smembers(self.keys.users(&keys[i]));
        }
        let lists: Vec<Vec<String>> = self
            .call("read the allow-lists", pipe.query_async(&mut connection))
            .await?;
        for (&i, list) in batch.iter().zip(lists) {
            users[i] = Some(list.into_iter().collect());
        }
        batch.clear();
        Ok(())
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
        let mut entry_switch = switch.clone();
        entry_switch.version += 1;
        let entry = HistoryEntry::updated(actor, key, &previous, &entry_switch);
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
        let mut connection = self.connection.clone();
        let mut invocation = self.scripts.update.prepare_invoke();
        invocation
            .key(&self.keys.switches)
            .key(&self.keys.versions)
            .key(self.keys.users(key))
            .key(&self.keys.history)
            .arg(key)
            .arg(Self::record_json(&switch))
            .arg(&self.keys.channel)
            .arg(switch.version)
            .arg(entry.to_json())
            .arg(self.history_capacity);
        match &staged {
            Some(stage) => invocation.key(stage).arg(switch.users.len()),
            None => invocation.arg(added.len()).arg(added).arg(removed),
        };
        let result: Result<(u8, u64), Error> = self
            .call("update a switch", invocation.invoke_async(&mut connection))
            .await;
        if let Some(stage) = staged {
            self.unstage(&[stage]).await;
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
                "its staged allow-list was lost before the write (retry it)",
            )),
            _ => Err(Error::Conflict {
                name: switch.name,
                expected: switch.version,
                found: version,
            }),
        }
    }

    async fn users_script(
        &self,
        key: &str,
        actor: &str,
        ids: &[String],
        add: bool,
    ) -> Result<UsersChanged, Error> {
        let mut connection = self.connection.clone();
        // The script adds the version and the ids it changed.
        let mut entry = HistoryEntry::allow_list(actor, key, add).to_json();
        entry.pop();
        let mut invocation = self.scripts.users.prepare_invoke();
        invocation
            .key(&self.keys.switches)
            .key(&self.keys.versions)
            .key(self.keys.users(key))
            .key(&self.keys.history)
            .arg(key)
            .arg(&self.keys.channel)
            .arg(if add { "allow" } else { "disallow" })
            .arg(entry)
            .arg(self.history_capacity)
            .arg(LISTED_IDS)
            .arg(ids);
        let (status, version, changed): (u8, u64, usize) = self
            .call(
                "change an allow-list",
                invocation.invoke_async(&mut connection),
            )
            .await?;
        if status == 1 {
            return Err(Error::NotFound {
                name: split_key(key).1.to_owned(),
            });
        }
        Ok(UsersChanged { version, changed })
    }
}

impl Storage for RedisStorage {
    fn load(&self) -> BoxFuture<'_, Result<Vec<Record>, Error>> {
        Box::pin(async move {
            Ok(self
                .fetch_all(|_| None)
                .await?
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
            let mut connection = self.connection.clone();
            let users: Vec<&str> = switch.users.iter().collect();
            let staged = if users.len() > INLINE_IDS {
                Some(self.stage(&users).await?)
            } else {
                None
            };
            let mut entry_switch = switch.clone();
            entry_switch.version = 1;
            let entry = HistoryEntry::registered(actor, key, &entry_switch);
            let mut invocation = self.scripts.insert.prepare_invoke();
            invocation
                .key(&self.keys.switches)
                .key(&self.keys.versions)
                .key(self.keys.users(key))
                .key(&self.keys.history)
                .arg(key)
                .arg(Self::record_json(&switch))
                .arg(&self.keys.channel)
                .arg(users.len())
                .arg(entry.to_json())
                .arg(self.history_capacity);
            match &staged {
                Some(stage) => invocation.key(stage),
                None => invocation.arg(users),
            };
            let result: Result<i64, Error> = self
                .call(
                    "register a switch",
                    invocation.invoke_async(&mut connection),
                )
                .await;
            if let Some(stage) = staged {
                self.unstage(&[stage]).await;
            }
            let version = result?;
            if version == -2 {
                return Err(self.storage_error(
                    "register a switch",
                    "its staged allow-list was lost before the write (retry it)",
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
        Box::pin(self.update_with(key, actor, None, switch))
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
            let mut connection = self.connection.clone();
            // The script adds each removed key and the closing brace.
            let entry = format!(
                r#"{{"actor":{},"at":{},"action":"unregistered""#,
                serde_json::Value::from(actor),
                now_ms()
            );
            let mut invocation = self.scripts.remove_tree.prepare_invoke();
            invocation
                .key(&self.keys.switches)
                .key(&self.keys.versions)
                .key(&self.keys.history)
                .arg(key)
                .arg(&self.keys.channel)
                .arg(&self.keys.users_prefix)
                .arg(entry)
                .arg(self.history_capacity);
            let flat: Vec<String> = self
                .call(
                    "unregister switches",
                    invocation.invoke_async(&mut connection),
                )
                .await?;
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

    fn add_users<'a>(
        &'a self,
        key: &'a str,
        actor: &'a str,
        ids: &'a [String],
    ) -> Option<BoxFuture<'a, Result<UsersChanged, Error>>> {
        Some(Box::pin(self.users_script(key, actor, ids, true)))
    }

    fn remove_users<'a>(
        &'a self,
        key: &'a str,
        actor: &'a str,
        ids: &'a [String],
    ) -> Option<BoxFuture<'a, Result<UsersChanged, Error>>> {
        Some(Box::pin(self.users_script(key, actor, ids, false)))
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
            let mut invocation = self.scripts.batch.prepare_invoke();
            invocation
                .key(&self.keys.switches)
                .key(&self.keys.versions)
                .key(&self.keys.history)
                .arg(&self.keys.channel)
                .arg(&self.keys.users_prefix)
                .arg(self.history_capacity)
                .arg(writes.len());
            for (key, write) in &writes {
                // The audit entry needs the switch being replaced; the
                // script's version check makes it the one replaced.
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
                let mut entry = entry.to_json();
                entry.pop();
                let switch = write.switch();
                invocation
                    .arg(key)
                    .arg(Self::record_json(switch))
                    .arg(expected)
                    .arg(entry)
                    .arg(switch.users.len())
                    .arg(switch.users.iter().collect::<Vec<&str>>());
            }
            let mut connection = self.connection.clone();
            let out: Vec<u64> = self
                .call("write a batch", invocation.invoke_async(&mut connection))
                .await?;
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
                other => Err(self
                    .storage_error("write a batch", format_args!("unexpected answer {other:?}"))),
            }
        })
    }

    fn retry_pause(&self, attempt: usize) -> BoxFuture<'_, ()> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let noise =
            crate::bucket::crc32(&(nanos ^ NEXT.fetch_add(1, Ordering::Relaxed)).to_le_bytes());
        // Random, up to 100 µs per attempt (at most 2 ms): about a round
        // trip, so that the other writer's script gets through.
        let ceiling = 100 * attempt.clamp(1, 20) as u32;
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
///     .build()
///     .await?;
/// # let _ = manager; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use]
pub struct RedisBuilder {
    url: String,
    prefix: String,
    autocreate: bool,
    resync_interval: Duration,
    timeout: Duration,
    snapshot: Option<PathBuf>,
    history_capacity: usize,
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
    /// [`Error::Storage`] (default 1 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// A local file the replica is written to (atomically) after each
    /// sync, and read from when the process starts while Redis is down.
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

    /// The storage alone, without a manager (for the conformance suite or
    /// your own tooling). It connects on first use.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] for a URL the redis crate does not accept.
    pub fn build_storage(&self) -> Result<RedisStorage, Error> {
        let shown = redact(&self.url);
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
                insert: redis::Script::new(INSERT),
                update: redis::Script::new(UPDATE),
                users: redis::Script::new(USERS),
                remove_tree: redis::Script::new(REMOVE_TREE),
                batch: redis::Script::new(BATCH),
            }),
            timeout: self.timeout,
            history_capacity: self.history_capacity,
            url: Arc::from(shown),
        })
    }

    /// Connects, loads the switches and starts following changes in the
    /// background (on the current tokio runtime).
    ///
    /// If Redis is unreachable the manager still starts: with the switches
    /// of the snapshot file if one is configured and readable, else with
    /// none (and a warning); it joins Redis when Redis answers.
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
            },
        );
        let shared = manager.shared().clone();
        let sync = Sync {
            shared: Arc::downgrade(&shared),
            storage,
            interval: self.resync_interval,
            snapshot: self.snapshot,
        };
        if let Err(e) = sync.resync(&shared).await {
            sync.start_offline(&shared, &e);
        }
        drop(shared);
        tokio::spawn(sync.run());
        Ok(manager)
    }
}

/// The background task that keeps a replica in step with Redis.
struct Sync {
    shared: Weak<Shared>,
    storage: RedisStorage,
    interval: Duration,
    snapshot: Option<PathBuf>,
}

impl Sync {
    fn start_offline(&self, shared: &Shared, error: &Error) {
        let from_file = self
            .snapshot
            .as_deref()
            .map(|path| (path, read_snapshot(path)));
        let (source, count) = match from_file {
            Some((path, Ok(records))) => {
                let count = records.len();
                tracing::warn!(%error, path = %path.display(), switches = count, "gate: Redis is unreachable; serving the switches of the snapshot file until it answers");
                shared.replace_all(records);
                (ReplicaSource::SnapshotFile, count)
            }
            Some((path, Err(file_error))) => {
                tracing::warn!(%error, path = %path.display(), %file_error, "gate: Redis is unreachable and the snapshot file cannot be read; starting with no switches until Redis answers");
                (ReplicaSource::Empty, 0)
            }
            None => {
                tracing::warn!(%error, "gate: Redis is unreachable; starting with no switches until it answers (configure snapshot_file to serve the last known ones)");
                (ReplicaSource::Empty, 0)
            }
        };
        let _ = count;
        shared.set_sync(|s| {
            s.connected = false;
            s.source = source;
            s.last_error = Some(error.to_string());
        });
    }

    /// Reads everything and makes the replica equal to it.
    async fn resync(&self, shared: &Shared) -> Result<(), Error> {
        // A change applied while the read runs is newer than what it reads.
        let since = shared.seq();
        let all = self
            .storage
            .fetch_all(|key| shared.replica_switch(key))
            .await?;
        let mut records = Vec::with_capacity(all.len());
        let mut malformed = Vec::new();
        for (key, parsed) in all {
            match parsed {
                Ok(switch) => records.push(Record { key, switch }),
                Err(error) => {
                    skipped(shared, key.clone(), &error);
                    malformed.push(key);
                }
            }
        }
        shared.sync_to(records, &malformed, since);
        shared.set_sync(|s| {
            s.connected = true;
            s.last_sync = Some(SystemTime::now());
            s.source = ReplicaSource::Storage;
            s.last_error = None;
        });
        self.write_snapshot(shared);
        Ok(())
    }

    fn write_snapshot(&self, shared: &Shared) {
        if let Some(path) = &self.snapshot {
            if let Err(e) = write_snapshot(path, &shared.replica_records()) {
                tracing::warn!(path = %path.display(), error = %e, "gate: could not write the snapshot file");
            }
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
        let (json, stored): (Option<String>, Option<u64>) = self
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
        match (json, stored) {
            (Some(json), Some(stored)) if stored == version => {
                match RedisStorage::parse(&key, &json, version, known.users.clone()) {
                    Ok(switch) => shared.apply_since(
                        vec![Apply::Upsert {
                            key,
                            switch,
                            authoritative: true,
                        }],
                        Origin::Remote,
                        since,
                    ),
                    Err(error) => skipped(shared, key, &error),
                }
                Ok(())
            }
            _ => self.refetch(shared, key).await,
        }
    }

    async fn refetch(&self, shared: &Shared, key: String) -> Result<(), Error> {
        let since = Some(shared.seq());
        match self.storage.fetch(&key).await? {
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

/// `Put` notifications without `users` (older writers, other tools) say
/// the allow-list may have changed.
fn changed() -> bool {
    true
}

fn skipped(shared: &Shared, key: String, error: &Error) {
    tracing::warn!(switch = %key, %error, "gate: skipped a malformed switch record in Redis");
    shared.signals.record_skipped.emit_with(|| RecordSkipped {
        key,
        error: error.to_string(),
    });
}

#[derive(Serialize, Deserialize)]
struct SnapshotRecord {
    key: String,
    switch: Switch,
}

fn write_snapshot(path: &Path, records: &[Record]) -> std::io::Result<()> {
    use std::io::Write;
    let records: Vec<SnapshotRecord> = records
        .iter()
        .map(|r| SnapshotRecord {
            key: r.key.clone(),
            switch: r.switch.clone(),
        })
        .collect();
    let json = serde_json::to_vec(&records).map_err(std::io::Error::other)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(&json)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

fn read_snapshot(path: &Path) -> Result<Vec<Record>, String> {
    /// A record read on its own, so that one the rules refuse skips that
    /// switch only.
    #[derive(Deserialize)]
    struct Entry {
        key: String,
        switch: serde_json::Value,
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let entries: Vec<Entry> = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    Ok(entries
        .into_iter()
        .filter_map(|entry| match Switch::deserialize(entry.switch) {
            Ok(switch) => Some(Record {
                key: entry.key,
                switch,
            }),
            Err(error) => {
                tracing::warn!(switch = %entry.key, %error, path = %path.display(), "gate: skipped a switch of the snapshot file that cannot be read");
                None
            }
        })
        .collect())
}
