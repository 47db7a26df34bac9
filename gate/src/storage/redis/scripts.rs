//! The Lua scripts, one `.lua` file each under `scripts/`, each file
//! saying at its top what its KEYS, ARGV and reply are; and, for each
//! script, its reply as a Rust type, read from what Redis answers in one
//! place ([`redis::FromRedisValue`]).
//!
//! Every write script runs inside the op guard (`scripts/guard.lua`, see
//! [`ops`](super::ops)): its own KEYS and ARGV come after the guard's.
//! Every script that writes also pushes its audit entry onto the history
//! list and trims it to its capacity: the change and its entry are one
//! atomic step.

use std::marker::PhantomData;

use redis::{FromRedisValue, ParsingError, Value};

/// The op guard; a write script's body replaces its [`BODY`] line.
const GUARD: &str = include_str!("scripts/guard.lua");
/// Where the guard takes the body.
const BODY: &str = "--[[body]]";

const INSERT: &str = include_str!("scripts/insert.lua");
const UPDATE: &str = include_str!("scripts/update.lua");
const SHORTCUT: &str = include_str!("scripts/shortcut.lua");
const REMOVE_TREE: &str = include_str!("scripts/remove_tree.lua");
const BATCH: &str = include_str!("scripts/batch.lua");
const REPAIR: &str = include_str!("scripts/repair.lua");
pub(super) const OUTCOME: &str = include_str!("scripts/outcome.lua");

/// `body` inside the op guard.
pub(super) fn guarded(body: &str) -> String {
    GUARD.replacen(BODY, body, 1)
}

/// A script whose reply reads as `R`.
pub(super) struct Script<R> {
    script: redis::Script,
    reply: PhantomData<fn() -> R>,
}

impl<R> Script<R> {
    fn new(source: &str) -> Self {
        Script {
            script: redis::Script::new(source),
            reply: PhantomData,
        }
    }

    /// A write script, inside the op guard.
    fn guarded(body: &str) -> Self {
        Script::new(&guarded(body))
    }

    /// A call of the script, to give keys and arguments to.
    pub(super) fn prepare_invoke(&self) -> Invocation<'_, R> {
        Invocation {
            invocation: self.script.prepare_invoke(),
            reply: PhantomData,
        }
    }
}

/// A call of a [`Script`] whose reply reads as `R`; keys and arguments
/// are given through [`redis::ScriptInvocation`].
pub(super) struct Invocation<'s, R> {
    invocation: redis::ScriptInvocation<'s>,
    reply: PhantomData<fn() -> R>,
}

impl<'s, R> std::ops::Deref for Invocation<'s, R> {
    type Target = redis::ScriptInvocation<'s>;

    fn deref(&self) -> &Self::Target {
        &self.invocation
    }
}

impl<R> std::ops::DerefMut for Invocation<'_, R> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.invocation
    }
}

/// Every script, loaded once per storage.
pub(super) struct Scripts {
    pub(super) insert: Script<InsertReply>,
    pub(super) update: Script<UpdateReply>,
    pub(super) shortcut: Script<ShortcutReply>,
    pub(super) remove_tree: Script<RemovedReply>,
    pub(super) batch: Script<BatchReply>,
    pub(super) repair: Script<RepairReply>,
    pub(super) outcome: Script<OutcomeReply>,
}

impl Scripts {
    pub(super) fn new() -> Self {
        Scripts {
            insert: Script::guarded(INSERT),
            update: Script::guarded(UPDATE),
            shortcut: Script::guarded(SHORTCUT),
            remove_tree: Script::guarded(REMOVE_TREE),
            batch: Script::guarded(BATCH),
            repair: Script::guarded(REPAIR),
            outcome: Script::new(OUTCOME),
        }
    }
}

/// The reply of a write script, as the guard records it too.
pub(super) trait WriteReply: FromRedisValue {
    /// Whether the reply says the write was applied.
    fn applied(&self) -> bool;
}

/// Reads a reply as `T`, then as `R` (an impossible one as an error).
fn via<T: FromRedisValue, R>(
    value: Value,
    read: impl FnOnce(T) -> Option<R>,
) -> Result<R, ParsingError> {
    let raw: T = FromRedisValue::from_redis_value(value)?;
    read(raw).ok_or_else(|| ParsingError::from("a reply the script does not give"))
}

/// `insert.lua`.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum InsertReply {
    /// Registered, at this version.
    Stored { version: u64 },
    /// A switch is stored under the key already.
    Exists,
    /// The staged allow-list lost ids (it expired) before the write.
    StagingLost,
}

impl FromRedisValue for InsertReply {
    fn from_redis_value(value: Value) -> Result<Self, ParsingError> {
        via(value, |reply: i64| {
            Some(match reply {
                -2 => InsertReply::StagingLost,
                i64::MIN..=-1 => InsertReply::Exists,
                version => InsertReply::Stored {
                    version: version as u64,
                },
            })
        })
    }
}

impl WriteReply for InsertReply {
    fn applied(&self) -> bool {
        matches!(self, InsertReply::Stored { version } if *version > 0)
    }
}

/// `update.lua`.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum UpdateReply {
    /// Replaced; now at this version.
    Stored { version: u64 },
    /// No switch is stored under the key.
    Missing,
    /// The switch is at another version than expected.
    Conflict { found: u64 },
    /// The staged allow-list lost ids (it expired) before the write.
    StagingLost,
}

impl FromRedisValue for UpdateReply {
    fn from_redis_value(value: Value) -> Result<Self, ParsingError> {
        via(value, |(status, version): (u8, u64)| {
            Some(match status {
                0 => UpdateReply::Stored { version },
                1 => UpdateReply::Missing,
                3 => UpdateReply::StagingLost,
                _ => UpdateReply::Conflict { found: version },
            })
        })
    }
}

impl WriteReply for UpdateReply {
    fn applied(&self) -> bool {
        matches!(self, UpdateReply::Stored { .. })
    }
}

/// `shortcut.lua`.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ShortcutReply {
    /// No switch was stored: the one created (the record sent) is stored,
    /// at this version.
    Created { version: u64 },
    /// Applied to the switch stored at version `before` (unchanged if
    /// `version` is the same): `record` is the record stored now.
    Applied {
        before: u64,
        version: u64,
        record: String,
        users: UsersBack,
    },
    /// The record is not in the form gate writes: nothing was written,
    /// and the caller reads, changes and updates it instead.
    Fallback,
}

/// The allow-list a shortcut sends back.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum UsersBack {
    /// None: the caller's copy was the version changed, so the caller
    /// applies the change to its own copy.
    Unchanged,
    /// The whole allow-list.
    Whole(Vec<String>),
    /// None: the list is over the limit; the caller's copy, with the
    /// change applied, may be behind (the notification catches up).
    OverLimit,
}

impl FromRedisValue for ShortcutReply {
    fn from_redis_value(value: Value) -> Result<Self, ParsingError> {
        type Raw = (u8, u64, u64, String, u8, Vec<String>);
        via(
            value,
            |(status, before, version, record, mode, users): Raw| {
                Some(match status {
                    1 => ShortcutReply::Created { version },
                    0 => ShortcutReply::Applied {
                        before,
                        version,
                        record,
                        users: match mode {
                            0 => UsersBack::Unchanged,
                            1 => UsersBack::Whole(users),
                            _ => UsersBack::OverLimit,
                        },
                    },
                    _ => ShortcutReply::Fallback,
                })
            },
        )
    }
}

impl WriteReply for ShortcutReply {
    fn applied(&self) -> bool {
        !matches!(self, ShortcutReply::Fallback)
    }
}

/// `remove_tree.lua`: the switches removed, a parent before its children.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct RemovedReply(pub(super) Vec<Removed>);

/// A switch `remove_tree.lua` removed, as it was stored.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Removed {
    pub(super) key: String,
    pub(super) record: String,
    /// 0 if the stored version was not a whole number.
    pub(super) version: u64,
}

impl FromRedisValue for RemovedReply {
    fn from_redis_value(value: Value) -> Result<Self, ParsingError> {
        via(value, |flat: Vec<String>| {
            Some(RemovedReply(
                flat.chunks(3)
                    .filter_map(|triple| {
                        let [key, record, version] = triple else {
                            return None;
                        };
                        Some(Removed {
                            key: key.clone(),
                            record: record.clone(),
                            version: version.parse().unwrap_or(0),
                        })
                    })
                    .collect(),
            ))
        })
    }
}

impl WriteReply for RemovedReply {
    fn applied(&self) -> bool {
        true
    }
}

/// `batch.lua`. `item` is the index (from 0) of the write that failed;
/// nothing was written unless [`Stored`](BatchReply::Stored).
#[derive(Debug, PartialEq, Eq)]
pub(super) enum BatchReply {
    /// Every write applied: the new version of each.
    Stored(Vec<u64>),
    /// A switch is stored under that write's key already.
    Exists { item: usize },
    /// No switch is stored under that update's key.
    Missing { item: usize },
    /// That update expected another version.
    Conflict { item: usize, found: u64 },
    /// That write's staged allow-list lost ids before the write.
    StagingLost { item: usize },
    /// Anything else (the reply as read).
    Unexpected(Vec<u64>),
}

impl FromRedisValue for BatchReply {
    fn from_redis_value(value: Value) -> Result<Self, ParsingError> {
        via(value, |reply: Vec<u64>| {
            let item = |j: u64| j.saturating_sub(1) as usize;
            Some(match reply.as_slice() {
                [0, versions @ ..] => BatchReply::Stored(versions.to_vec()),
                [1, j] => BatchReply::Exists { item: item(*j) },
                [2, j] => BatchReply::Missing { item: item(*j) },
                [3, j, found] => BatchReply::Conflict {
                    item: item(*j),
                    found: *found,
                },
                [4, j] => BatchReply::StagingLost { item: item(*j) },
                _ => BatchReply::Unexpected(reply),
            })
        })
    }
}

impl WriteReply for BatchReply {
    fn applied(&self) -> bool {
        matches!(self, BatchReply::Stored(_))
    }
}

/// `repair.lua`: the version the switch is stored at now.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct RepairReply {
    pub(super) version: u64,
}

impl FromRedisValue for RepairReply {
    fn from_redis_value(value: Value) -> Result<Self, ParsingError> {
        via(value, |version: u64| Some(RepairReply { version }))
    }
}

impl WriteReply for RepairReply {
    fn applied(&self) -> bool {
        self.version > 0
    }
}

/// `outcome.lua`: what a check of an operation id found.
#[derive(Debug, PartialEq)]
pub(super) enum OutcomeReply {
    /// The write's record: its kind and reply (as JSON).
    Answered(String, serde_json::Value),
    /// The write was cancelled (by this check or an earlier one).
    Cancelled,
    /// No record, but the audit trail names the id: applied.
    InHistory,
    /// No record, and the id is too old to cancel anything.
    Nothing,
}

impl FromRedisValue for OutcomeReply {
    fn from_redis_value(value: Value) -> Result<Self, ParsingError> {
        via(value, |(status, record): (u8, String)| {
            Some(match (status, record) {
                (1, record) if record == "cancelled" => OutcomeReply::Cancelled,
                (1, record) => {
                    let record: serde_json::Value =
                        serde_json::from_str(&record).unwrap_or_default();
                    let kind = record.get(0).and_then(|k| k.as_str()).unwrap_or_default();
                    let answer = record.get(1).cloned().unwrap_or_default();
                    OutcomeReply::Answered(kind.to_owned(), answer)
                }
                (0, _) => OutcomeReply::Cancelled,
                (2, _) => OutcomeReply::InHistory,
                _ => OutcomeReply::Nothing,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shortcut script refuses a condition past the limit itself (it
    /// cannot read the Rust constant): both must say the same number.
    #[test]
    fn the_script_knows_the_condition_limit() {
        let check = format!("#spans >= {}", crate::limits::MAX_CONDITIONS);
        assert!(SHORTCUT.contains(&check), "{check}");
    }

    /// The guard has one place for the body, on a line of its own.
    #[test]
    fn the_guard_takes_the_body_once() {
        assert_eq!(GUARD.matches(BODY).count(), 1);
        let guarded = guarded("return 7");
        assert!(guarded.contains("local function write()\nreturn 7\nend\n"));
    }

    fn int(n: i64) -> Value {
        Value::Int(n)
    }

    fn text(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    fn read<R: FromRedisValue>(value: Value) -> R {
        R::from_redis_value(value).unwrap()
    }

    #[test]
    fn replies_read_as_the_scripts_document_them() {
        assert_eq!(
            read::<InsertReply>(int(3)),
            InsertReply::Stored { version: 3 }
        );
        assert_eq!(read::<InsertReply>(int(-1)), InsertReply::Exists);
        assert_eq!(read::<InsertReply>(int(-2)), InsertReply::StagingLost);
        let pair = |a, b| Value::Array(vec![int(a), int(b)]);
        assert_eq!(
            read::<UpdateReply>(pair(0, 4)),
            UpdateReply::Stored { version: 4 }
        );
        assert_eq!(read::<UpdateReply>(pair(1, 0)), UpdateReply::Missing);
        assert_eq!(
            read::<UpdateReply>(pair(2, 9)),
            UpdateReply::Conflict { found: 9 }
        );
        assert_eq!(read::<UpdateReply>(pair(3, 9)), UpdateReply::StagingLost);
        let shortcut = |status, mode, users: Vec<Value>| {
            Value::Array(vec![
                int(status),
                int(2),
                int(3),
                text("{}"),
                int(mode),
                Value::Array(users),
            ])
        };
        assert_eq!(
            read::<ShortcutReply>(shortcut(1, 0, vec![])),
            ShortcutReply::Created { version: 3 }
        );
        assert_eq!(
            read::<ShortcutReply>(shortcut(0, 1, vec![text("a")])),
            ShortcutReply::Applied {
                before: 2,
                version: 3,
                record: "{}".into(),
                users: UsersBack::Whole(vec!["a".into()])
            }
        );
        assert_eq!(
            read::<ShortcutReply>(shortcut(2, 0, vec![])),
            ShortcutReply::Fallback
        );
        assert_eq!(
            read::<RemovedReply>(Value::Array(vec![text("a"), text("{}"), text("x")])),
            RemovedReply(vec![Removed {
                key: "a".into(),
                record: "{}".into(),
                version: 0
            }])
        );
        let list = |items: &[i64]| Value::Array(items.iter().map(|&n| int(n)).collect());
        assert_eq!(
            read::<BatchReply>(list(&[0, 4, 1])),
            BatchReply::Stored(vec![4, 1])
        );
        assert_eq!(
            read::<BatchReply>(list(&[3, 2, 7])),
            BatchReply::Conflict { item: 1, found: 7 }
        );
        assert_eq!(
            read::<BatchReply>(list(&[5])),
            BatchReply::Unexpected(vec![5])
        );
        assert_eq!(read::<RepairReply>(int(1)), RepairReply { version: 1 });
        assert_eq!(
            read::<OutcomeReply>(Value::Array(vec![int(1), text("cancelled")])),
            OutcomeReply::Cancelled
        );
        assert_eq!(
            read::<OutcomeReply>(Value::Array(vec![int(1), text(r#"["update",[0,2]]"#)])),
            OutcomeReply::Answered("update".into(), serde_json::json!([0, 2]))
        );
    }
}
