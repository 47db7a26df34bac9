//! Operation ids: every write carries one, recorded with the change, so
//! that a write whose answer did not come can be checked, and a write sent
//! twice is applied once.
//!
//! Every write script runs inside the op guard (`scripts/guard.lua`,
//! [`guarded`](super::scripts::guarded)): it records the write's answer under `{prefix}:ops:{id}`
//! (kept [`OPS_TTL`]) atomically with the change, and a write whose id is
//! already recorded is not applied again: the guard answers what it
//! answered the first time. The outcome script (`scripts/outcome.lua`)
//! checks an id; a write not applied yet is cancelled by the check (the
//! record says `cancelled`), so that "not applied" stays true if the write
//! reaches Redis later.
//!
//! Here: the ids, running a guarded write ([`RedisStorage::write`]) and
//! finding out what became of one whose answer did not come.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::scripts::{
    BatchReply, InsertReply, Invocation, OutcomeReply, RemovedReply, RepairReply, Script,
    ShortcutReply, UpdateReply, WriteReply,
};
use super::RedisStorage;
use crate::error::Error;
use crate::key::SwitchKey;
use crate::storage::WriteOutcome;

#[cfg(test)]
use super::scripts::{guarded, OUTCOME};

/// How long Redis keeps the record of a write (its id and answer).
const OPS_TTL: Duration = Duration::from_secs(3600);

/// A new operation id: the time (ms since the epoch, hex), then 128
/// random bits.
fn new_id() -> String {
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
fn well_formed(id: &str) -> bool {
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
fn recent(id: &str) -> bool {
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

/// Whether the answer a write of `kind` got (as the guard kept it) says
/// it was applied: read as that write's script reply.
fn applied(kind: &str, answer: &serde_json::Value) -> bool {
    fn reads<R: WriteReply>(answer: &serde_json::Value) -> bool {
        R::from_redis_value(to_value(answer)).is_ok_and(|reply| reply.applied())
    }
    match kind {
        "register" => reads::<InsertReply>(answer),
        "repair" => reads::<RepairReply>(answer),
        "unregister" => reads::<RemovedReply>(answer),
        "allow" | "disallow" | "shortcut" => reads::<ShortcutReply>(answer),
        "update" => reads::<UpdateReply>(answer),
        _ => reads::<BatchReply>(answer),
    }
}

/// An answer kept as JSON by the guard, as Redis would have sent it (a
/// Lua number is an integer, a table an array).
fn to_value(json: &serde_json::Value) -> redis::Value {
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
fn maybe_sent(error: &redis::RedisError) -> bool {
    error.is_io_error() && !error.is_connection_refusal()
}

/// Whether an error answer to a write script means it changed nothing:
/// the guard's refusals, and the errors Redis gives before a script runs.
/// Any other error stopped the script part way (Redis does not roll back).
fn refused_whole(error: &redis::RedisError) -> bool {
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

/// One write: its operation id, its record's key, its kind (`register`,
/// `update`, `allow`, `disallow`, `unregister`, `batch`) and the switch it
/// is about (the first one, for a batch).
pub(super) struct Op {
    pub(super) id: String,
    record: String,
    kind: &'static str,
    name: String,
}

impl RedisStorage {
    /// A new operation for a write of `kind` to the switch `name`.
    pub(super) fn op(&self, kind: &'static str, name: &str) -> Op {
        let id = new_id();
        Op {
            record: self.keys.op(&id),
            id,
            kind,
            name: name.to_owned(),
        }
    }

    /// An invocation of the guarded write `script` for `op`: the record's
    /// key and the guard's arguments come first (see [`guarded`](super::scripts::guarded));
    /// `types`: the type each key of the script must have.
    pub(super) fn invocation<'s, R>(
        &self,
        script: &'s Script<R>,
        op: &Op,
        types: &str,
    ) -> Invocation<'s, R> {
        let mut invocation = script.prepare_invoke();
        invocation
            .key(&op.record)
            .arg(OPS_TTL.as_millis() as u64)
            .arg(op.kind)
            .arg(types);
        invocation
    }

    /// [`invocation`](Self::invocation) of a script that writes one
    /// switch: KEYS switches, versions, its users set, history (then the
    /// script's own keys), and `ARGV[1]` its key.
    pub(super) fn switch_invocation<'s, R>(
        &self,
        script: &'s Script<R>,
        op: &Op,
        types: &str,
        key: &SwitchKey,
    ) -> Invocation<'s, R> {
        let mut invocation = self.invocation(script, op, types);
        invocation
            .key(&self.keys.switches)
            .key(&self.keys.versions)
            .key(self.keys.users(key))
            .key(&self.keys.history)
            .arg(key.as_str());
        invocation
    }

    /// Runs a guarded write and reads its answer as the script's typed
    /// reply. A write that was sent
    /// but not answered is checked by its operation id (see
    /// [`resolve`](Self::resolve)): the result is then the write's own, a
    /// storage error if it was cancelled before it reached Redis, or
    /// [`Error::OutcomeUnknown`] if Redis did not answer the check either.
    /// A write that failed otherwise was not applied, and says so.
    pub(super) async fn write<R: redis::FromRedisValue>(
        &self,
        op: &Op,
        what: &str,
        invocation: &Invocation<'_, R>,
    ) -> Result<R, Error> {
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
            Ok(Err(e)) if maybe_sent(&e) => {
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
            Ok(Err(e)) if e.code().is_none() || refused_whole(&e) => {
                return Err(self.storage_error_from(
                    what,
                    format_args!("{e}; nothing was written"),
                    e.clone(),
                ))
            }
            Ok(Err(e)) => {
                // A script stopped part way: what it did before stays.
                return Err(self.storage_error_from(
                    what,
                    format_args!("the write stopped at an error ({e}); what it did before stays: see the switch and the audit trail"),
                    e.clone(),
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
        R::from_redis_value(answer).map_err(|e| Error::OutcomeUnknown {
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
                Ok(Ok(OutcomeReply::Answered(_, answer))) => return Ok(to_value(&answer)),
                Ok(Ok(OutcomeReply::Cancelled)) => {
                    return Err(self.storage_error(
                        what,
                        format_args!("{reason}; the write had not reached Redis and was cancelled: nothing was written"),
                    ))
                }
                Ok(Ok(OutcomeReply::InHistory | OutcomeReply::Nothing)) => {}
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
    async fn check(&self, id: &str, fence: bool) -> Result<OutcomeReply, Error> {
        let mut connection = self.connection.clone();
        let mut invocation = self.scripts.outcome.prepare_invoke();
        invocation
            .key(self.keys.op(id))
            .key(&self.keys.history)
            .arg(OPS_TTL.as_millis() as u64)
            .arg(id)
            .arg(if fence { "fence" } else { "look" });
        self.call(
            "check a write's outcome",
            invocation.invoke_async(&mut connection),
        )
        .await
    }

    /// What became of the write with operation id `id`
    /// ([`Storage::write_outcome`](crate::storage::Storage::write_outcome)).
    pub(super) async fn outcome(&self, id: &str) -> Result<WriteOutcome, Error> {
        if !well_formed(id) {
            return Ok(WriteOutcome::NoRecord);
        }
        Ok(match self.check(id, recent(id)).await? {
            OutcomeReply::Answered(kind, answer) if applied(&kind, &answer) => {
                WriteOutcome::Applied
            }
            OutcomeReply::Answered(..) => WriteOutcome::NotApplied,
            OutcomeReply::Cancelled => WriteOutcome::NotApplied,
            OutcomeReply::InHistory => WriteOutcome::Applied,
            OutcomeReply::Nothing => WriteOutcome::NoRecord,
        })
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
