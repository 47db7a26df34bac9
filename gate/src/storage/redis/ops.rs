//! Operation ids: every write carries one, recorded with the change, so
//! that a write whose answer did not come can be checked, and a write sent
//! twice is applied once.
//!
//! Every write script runs inside [`guarded`]: it records the write's
//! answer under `{prefix}:ops:{id}` (kept [`OPS_TTL`]) atomically with the
//! change, and a write whose id is already recorded is not applied again:
//! the guard answers what it answered the first time. [`OUTCOME`] checks an
//! id; a write not applied yet is cancelled by the check (the record says
//! `cancelled`), so that "not applied" stays true if the write reaches
//! Redis later.

use std::sync::{Mutex, OnceLock, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::manager::Shared;

/// How long Redis keeps the record of a write (its id and answer).
pub(super) const OPS_TTL: Duration = Duration::from_secs(3600);

/// Wraps a write script. KEYS[1] is the write's record, ARGV[1] how long
/// to keep it (ms), ARGV[2] the kind of write, ARGV[3] the type each of the
/// script's own keys must have if it exists (`hash hash set list`, `*` for
/// any); the guard takes them off KEYS and ARGV before the write's own
/// script runs. The record holds `[kind, answer]`, or `cancelled` if an
/// outcome check got there first. A key of the wrong type (written by some
/// other tool) stops the write before it changes anything: Redis does not
/// roll a script back, so a script that failed half way would have
/// written half.
pub(super) fn guarded(body: &str) -> String {
    format!(
        r"local record = table.remove(KEYS, 1)
local ttl = table.remove(ARGV, 1)
local kind = table.remove(ARGV, 1)
local types = table.remove(ARGV, 1)
local done = redis.call('GET', record)
if done == 'cancelled' then
  return redis.error_reply('GATECANCELLED an outcome check cancelled this write before it reached Redis: nothing was written')
end
if done then return cjson.decode(done)[2] end
local i = 0
for expected in string.gmatch(types, '%S+') do
  i = i + 1
  if KEYS[i] and expected ~= '*' then
    local found = redis.call('TYPE', KEYS[i])['ok']
    if found ~= 'none' and found ~= expected then
      return redis.error_reply('GATEWRONGTYPE the key ' .. KEYS[i] .. ' holds a ' .. found .. ', not a ' .. expected .. ' (written by another tool?): nothing was written; delete or repair that key')
    end
  end
end
local function write()
{body}
end
local reply = write()
redis.call('SET', record, cjson.encode({{kind, reply}}), 'PX', ttl)
return reply
"
    )
}

// KEYS: the write's record, history
// ARGV: ttl (ms), id, 'fence' (cancel a write not applied yet) or 'look'
//       (an id too old to be sure: look in the audit trail, cancel nothing)
// Answers {1, record}, {0, ''} (cancelled now), {2, ''} (in the trail),
// {3, ''} (nothing).
pub(super) const OUTCOME: &str = r#"
local done = redis.call('GET', KEYS[1])
if done then return {1, done} end
if ARGV[3] == 'look' then
  local needle = '"op":' .. cjson.encode(ARGV[2])
  for _, e in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
    if string.find(e, needle, 1, true) then return {2, ''} end
  end
  return {3, ''}
end
redis.call('SET', KEYS[1], 'cancelled', 'PX', ARGV[1])
return {0, ''}
"#;

/// A new operation id: the time (ms since the epoch, hex), then 128
/// random bits.
pub(super) fn new_id() -> String {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    // Each RandomState is seeded from the OS's randomness.
    let mut random = [0u64; 2];
    for (i, part) in random.iter_mut().enumerate() {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u128(now.as_nanos());
        hasher.write_u32(std::process::id());
        hasher.write_u64(n);
        hasher.write_usize(i);
        *part = hasher.finish();
    }
    format!("{:x}-{:016x}{:016x}", now.as_millis(), random[0], random[1])
}

/// Whether `id` has the form of [`new_id`].
pub(super) fn well_formed(id: &str) -> bool {
    id.len() <= 64
        && id.split_once('-').is_some_and(|(ms, random)| {
            !ms.is_empty()
                && random.len() == 32
                && ms
                    .chars()
                    .chain(random.chars())
                    .all(|c| c.is_ascii_hexdigit())
        })
}

/// Whether the id is young enough that its record, if the write was
/// applied, still exists (with a margin for clocks that differ): then a
/// missing record means "not applied yet", and the check may cancel it.
pub(super) fn recent(id: &str) -> bool {
    let Some(ms) = id
        .split_once('-')
        .and_then(|(ms, _)| u64::from_str_radix(ms, 16).ok())
    else {
        return false;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    now.saturating_sub(ms) < (OPS_TTL / 2).as_millis() as u64
}

/// Whether the answer a write of `kind` got says it was applied.
pub(super) fn applied(kind: &str, answer: &serde_json::Value) -> bool {
    let first = || answer.get(0).and_then(serde_json::Value::as_i64);
    match kind {
        "register" | "repair" => answer.as_i64().is_some_and(|v| v > 0),
        "unregister" => true,
        // The shortcut script: 0 changed, 1 created, 2 not applied (the
        // record is not in gate's form; the caller falls back).
        "allow" | "disallow" | "shortcut" => matches!(first(), Some(0 | 1)),
        _ => first() == Some(0),
    }
}

/// An answer kept as JSON by the guard, as Redis would have sent it (a
/// Lua number is an integer, a table an array).
pub(super) fn to_value(json: &serde_json::Value) -> redis::Value {
    use serde_json::Value as J;
    match json {
        J::Null | J::Bool(false) => redis::Value::Nil,
        J::Bool(true) => redis::Value::Int(1),
        J::Number(n) => redis::Value::Int(
            n.as_i64()
                .unwrap_or_else(|| n.as_f64().unwrap_or(0.0) as i64),
        ),
        J::String(s) => redis::Value::BulkString(s.clone().into_bytes()),
        J::Array(items) => redis::Value::Array(items.iter().map(to_value).collect()),
        // cjson writes an empty Lua table as `{}`.
        J::Object(map) if map.is_empty() => redis::Value::Array(Vec::new()),
        J::Object(_) => redis::Value::Nil,
    }
}

/// Whether a failed call may have reached Redis: anything but a refused
/// connection (the request was never sent) or an error answer (Redis
/// answered, so the script did not run or ran as it says).
pub(super) fn maybe_sent(error: &redis::RedisError) -> bool {
    error.is_io_error() && !error.is_connection_refusal()
}

/// Whether an error answer to a write script means it changed nothing:
/// the guard's refusals, and the errors Redis gives before a script runs.
/// Any other error stopped the script part way (Redis does not roll back).
pub(super) fn refused_whole(error: &redis::RedisError) -> bool {
    const BEFORE: [&str; 10] = [
        "GATECANCELLED",
        "GATEWRONGTYPE",
        "NOSCRIPT",
        "NOPERM",
        "NOAUTH",
        "WRONGPASS",
        "READONLY",
        "LOADING",
        "BUSY",
        "MASTERDOWN",
    ];
    error.code().is_some_and(|code| BEFORE.contains(&code))
}

/// Lets the storage mark its manager's sync status when Redis stops
/// answering (a timed-out call), and clear that mark at the next answer.
#[derive(Default)]
pub(super) struct StatusLink {
    shared: OnceLock<Weak<Shared>>,
    /// The `last_error` this link set, while it stands.
    marked: Mutex<Option<String>>,
}

impl StatusLink {
    pub(super) fn attach(&self, shared: Weak<Shared>) {
        let _ = self.shared.set(shared);
    }

    fn marked(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.marked.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Redis did not answer in time: the manager is not connected.
    pub(super) fn hung(&self, error: &str) {
        let Some(shared) = self.shared.get().and_then(Weak::upgrade) else {
            return;
        };
        let mut marked = self.marked();
        shared.set_sync(|s| {
            // The first error says most; one already disconnected stays so.
            if s.connected {
                tracing::warn!(%error, "gate: Redis does not answer; checks answer from the last known switches");
                s.connected = false;
                s.last_error = Some(error.to_owned());
                *marked = Some(error.to_owned());
            }
        });
    }

    /// Redis answered: clears the mark, unless something else (the sync
    /// task) changed the status since.
    pub(super) fn answered(&self) {
        let mut marked = self.marked();
        let Some(error) = marked.take() else {
            return;
        };
        if let Some(shared) = self.shared.get().and_then(Weak::upgrade) {
            shared.set_sync(|s| {
                if !s.connected && s.last_error.as_deref() == Some(error.as_str()) {
                    s.connected = true;
                    s.last_error = None;
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_well_formed_and_recent() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| new_id()).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            assert!(well_formed(id), "{id}");
            assert!(recent(id), "{id}");
        }
        assert!(!well_formed("nope"));
        assert!(!well_formed("12-xyz"));
        assert!(!recent("1-00000000000000000000000000000000"), "1970 is old");
    }

    #[test]
    fn answers_read_back_as_redis_sent_them() {
        let json: serde_json::Value = serde_json::from_str(r#"[0, 7, "a", {}]"#).unwrap();
        assert_eq!(
            to_value(&json),
            redis::Value::Array(vec![
                redis::Value::Int(0),
                redis::Value::Int(7),
                redis::Value::BulkString(b"a".to_vec()),
                redis::Value::Array(vec![]),
            ])
        );
        assert!(applied("register", &serde_json::json!(1)));
        assert!(!applied("register", &serde_json::json!(-1)));
        assert!(applied("update", &serde_json::json!([0, 3])));
        assert!(!applied("update", &serde_json::json!([2, 3])));
        assert!(applied("unregister", &serde_json::json!({})));
    }

    /// Against the machine's Redis (or `GATE_REDIS_URL`), under keys of
    /// its own.
    #[tokio::test]
    async fn a_write_sent_twice_is_applied_once_and_a_cancelled_one_never() {
        let url =
            std::env::var("GATE_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into());
        let mut c = redis::Client::open(url)
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .expect("a Redis server (bash scripts/test.sh starts one)");
        let prefix = format!("gate-test:ops:{}", new_id());
        let (record, counter) = (format!("{prefix}:ops:a"), format!("{prefix}:n"));
        let write = redis::Script::new(&guarded("return {0, redis.call('INCR', KEYS[1])}"));
        let send = |record: &str| {
            let mut invocation = write.prepare_invoke();
            invocation
                .key(record)
                .key(&counter)
                .arg(60_000)
                .arg("update")
                .arg("string");
            invocation
        };
        let first: (u8, u64) = send(&record).invoke_async(&mut c).await.unwrap();
        let again: (u8, u64) = send(&record).invoke_async(&mut c).await.unwrap();
        assert_eq!(
            (first, again),
            ((0, 1), (0, 1)),
            "the same answer, applied once"
        );

        // A check that comes first cancels the write for good.
        let cancelled = format!("{prefix}:ops:b");
        let check = redis::Script::new(OUTCOME);
        let checked: (u8, String) = check
            .key(&cancelled)
            .key(format!("{prefix}:history"))
            .arg(60_000)
            .arg("b")
            .arg("fence")
            .invoke_async(&mut c)
            .await
            .unwrap();
        assert_eq!(checked, (0, String::new()));
        let late = send(&cancelled).invoke_async::<(u8, u64)>(&mut c).await;
        let error = late.unwrap_err().to_string();
        assert!(error.contains("nothing was written"), "{error}");
        let n: u64 = redis::cmd("GET")
            .arg(&counter)
            .query_async(&mut c)
            .await
            .unwrap();
        assert_eq!(n, 1);

        // A key of the wrong type stops a write before it changes anything.
        let wrong = format!("{prefix}:ops:c");
        let _: () = redis::cmd("SET")
            .arg(&wrong)
            .arg("x")
            .query_async(&mut c)
            .await
            .unwrap();
        let mut invocation = write.prepare_invoke();
        invocation
            .key(format!("{prefix}:ops:d"))
            .key(&wrong)
            .arg(60_000)
            .arg("update")
            .arg("hash");
        let error = invocation
            .invoke_async::<(u8, u64)>(&mut c)
            .await
            .unwrap_err();
        assert!(refused_whole(&error), "{error}");
        assert!(
            error.to_string().contains("holds a string, not a hash"),
            "{error}"
        );
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&record)
            .query_async(&mut c)
            .await
            .unwrap();
        assert!(ttl > 0 && ttl <= 60_000, "the record expires: {ttl}");
        let _: () = redis::cmd("DEL")
            .arg(&[&record, &counter, &cancelled, &wrong])
            .query_async(&mut c)
            .await
            .unwrap();
    }
}
