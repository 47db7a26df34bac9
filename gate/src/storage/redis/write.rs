//! Writes of one switch: register, update, unregister (a tree), repair;
//! and the staging of large allow-lists. Each is one guarded script run
//! ([`ops`](super::ops)); a batch and a shortcut have files of their own.

use super::scripts::{InsertReply, RemovedReply, RepairReply, UpdateReply};
use super::{record, RedisStorage};
use crate::diff::ids_added_and_removed;
use crate::error::Error;
use crate::history::{now_ms, HistoryEntry};
use crate::key::SwitchKey;
use crate::storage::Record;
use crate::switch::{Switch, Users};

/// Up to this many ids travel inside a write's script; more are first
/// staged in a temporary set, so that no single call carries a million
/// arguments (and runs into the timeout).
pub(super) const INLINE_IDS: usize = 1_000;
/// At most this many ids travel inside one batch script, all switches
/// together; the allow-lists beyond are staged.
pub(super) const INLINE_BATCH_IDS: usize = 10 * INLINE_IDS;
/// Ids per `SADD` while staging.
const STAGE_CHUNK: usize = 10_000;
/// A staging set left behind by a process that died mid-write expires.
const STAGE_TTL_SECONDS: i64 = 600;

impl RedisStorage {
    /// Registers a new switch
    /// ([`Storage::insert`](crate::storage::Storage::insert)).
    pub(super) async fn insert_switch(
        &self,
        key: &SwitchKey,
        actor: &str,
        switch: Switch,
    ) -> Result<Switch, Error> {
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
            .arg(record::to_json(&switch))
            .arg(&self.keys.channel)
            .arg(users.len())
            .arg(entry.to_json())
            .arg(self.history_capacity);
        match &staged {
            Some(stage) => invocation.key(stage),
            None => invocation.arg(users),
        };
        let result = self.write(&op, "register a switch", &invocation).await;
        self.unstage_after(staged.as_slice(), &result).await;
        match result? {
            InsertReply::Stored { version } => {
                let mut stored = switch;
                stored.version = version;
                Ok(stored)
            }
            InsertReply::Exists => Err(Error::AlreadyExists { name: switch.name }),
            InsertReply::StagingLost => Err(self.storage_error(
                "register a switch",
                "its staged allow-list was lost before the write (retry it); nothing was written",
            )),
        }
    }

    /// Replaces a switch, read first
    /// ([`Storage::update`](crate::storage::Storage::update)).
    pub(super) async fn update_switch(
        &self,
        key: &SwitchKey,
        actor: &str,
        switch: Switch,
    ) -> Result<(Switch, Switch), Error> {
        // An unreadable record is refused here, before any write (a
        // script failing halfway on an allow-list that is not a set
        // would leave half a write); `repair` replaces one.
        let previous = match self.fetch(key).await? {
            Some(previous) => Some(previous?),
            None => None,
        };
        self.update_with(key, actor, previous, switch).await
    }

    /// `update`, with the switch as stored at `switch.version` if the
    /// caller has it (else it is read here): its allow-list is what the
    /// new one is compared with, to send only the difference; the script's
    /// version check makes the pair consistent.
    pub(super) async fn update_with(
        &self,
        key: &SwitchKey,
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
                    ..Switch::new(key.name())
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
        let (added, removed) = ids_added_and_removed(&previous.users, &switch.users);
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
            .arg(record::to_json(&switch))
            .arg(&self.keys.channel)
            .arg(switch.version)
            .arg(entry.to_json())
            .arg(self.history_capacity);
        match &staged {
            Some(stage) => invocation.key(stage).arg(switch.users.len()),
            None => invocation.arg(added.len()).arg(added).arg(removed),
        };
        let result = self.write(&op, "update a switch", &invocation).await;
        self.unstage_after(staged.as_slice(), &result).await;
        match result? {
            UpdateReply::Stored { version } => {
                let mut current = switch;
                current.version = version;
                Ok((previous, current))
            }
            UpdateReply::Missing => Err(Error::NotFound { name: switch.name }),
            UpdateReply::StagingLost => Err(self.storage_error(
                "update a switch",
                "its staged allow-list was lost before the write (retry it); nothing was written",
            )),
            UpdateReply::Conflict { found } => Err(Error::Conflict {
                name: switch.name,
                expected: switch.version,
                found,
            }),
        }
    }

    /// Removes a switch and every switch below it
    /// ([`Storage::remove_tree`](crate::storage::Storage::remove_tree)).
    pub(super) async fn remove_switches(
        &self,
        key: &SwitchKey,
        actor: &str,
    ) -> Result<Vec<Record>, Error> {
        let op = self.op("unregister", key.name());
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
            .arg(key.as_str())
            .arg(&self.keys.channel)
            .arg(&self.keys.users_prefix)
            .arg(entry)
            .arg(self.history_capacity);
        let RemovedReply(removed) = self.write(&op, "unregister switches", &invocation).await?;
        Ok(removed
            .into_iter()
            .map(|removed| {
                let removed_key = SwitchKey::parse(&removed.key);
                let switch = record::parse(
                    &removed_key,
                    &removed.record,
                    removed.version,
                    Users::default(),
                )
                .unwrap_or_else(|_| Switch::new(removed_key.name()));
                Record {
                    key: removed_key,
                    switch,
                }
            })
            .filter(|r| r.key.is_in_tree(key))
            .collect())
    }

    /// Stores a switch over whatever its key holds
    /// ([`Storage::repair`](crate::storage::Storage::repair)).
    pub(super) async fn repair_switch(
        &self,
        key: &SwitchKey,
        actor: &str,
        switch: Switch,
    ) -> Result<Switch, Error> {
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
            .arg(record::to_json(&switch))
            .arg(&self.keys.channel)
            .arg(entry)
            .arg(self.history_capacity)
            .arg(switch.users.iter().collect::<Vec<&str>>());
        let RepairReply { version } = self.write(&op, "repair a switch", &invocation).await?;
        let mut stored = switch;
        stored.version = version;
        Ok(stored)
    }

    /// Puts `ids` into a new staging set, chunk by chunk (each chunk within
    /// the timeout), and returns its key. The set expires on its own if
    /// the write that consumes it never comes.
    pub(super) async fn stage(&self, ids: &[&str]) -> Result<String, Error> {
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
                Error::Storage { message, source } => Error::Storage {
                    message: format!("{message}; nothing was written"),
                    source,
                },
                e => e,
            })?;
        }
        Ok(key)
    }

    /// Removes the staging sets of a write that is over, unless its
    /// outcome is unknown: a write still in flight needs them.
    pub(super) async fn unstage_after<T>(&self, staged: &[String], result: &Result<T, Error>) {
        if !staged.is_empty() && !matches!(result, Err(Error::OutcomeUnknown { .. })) {
            self.unstage(staged).await;
        }
    }

    /// Removes staging sets a write did not consume (best effort: they
    /// expire anyway).
    pub(super) async fn unstage(&self, keys: &[String]) {
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
}
