//! The audit trail: who changed which switch, when, and how.
//!
//! Every write through a [`Manager`](crate::Manager) records an entry in
//! the storage, atomically with the change itself where the storage allows
//! (one Lua script on Redis, one file rename for the file store, one lock
//! in memory). Read it with [`Manager::history`](crate::Manager::history).

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::diff::SwitchDiff;
use crate::key::SwitchKey;
use crate::switch::Switch;

pub use crate::diff::{UsersChange, LISTED_IDS};

/// How many entries a storage keeps by default (the oldest are dropped).
pub const DEFAULT_HISTORY_CAPACITY: usize = 1000;

/// One change in the audit trail.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use gate::history::Action;
/// use gate::State;
///
/// let manager = gate::Manager::in_memory().as_actor("alice");
/// manager.enable_for_all("beta").await?;
/// manager.as_actor("bob").disable("beta").await?;
/// let history = manager.history(Some("beta"), 10).await?;
/// assert_eq!(history[0].actor, "bob"); // newest first
/// assert_eq!(history[0].changes.state.as_ref().unwrap().current, State::Disabled);
/// assert_eq!(history[1].action, Action::Registered);
/// # Ok::<_, gate::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HistoryEntry {
    /// Who made the change, as the caller said
    /// ([`Manager::as_actor`](crate::Manager::as_actor)).
    pub actor: String,
    /// When, in milliseconds since the Unix epoch (the writer's clock).
    pub at: u64,
    /// The switch's key (serialized in its storage form, `name` or
    /// `namespace.name`).
    pub key: SwitchKey,
    /// What kind of change.
    pub action: Action,
    /// The switch's version after the change (0 when unregistered).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub version: u64,
    /// What changed, field by field, typed. In JSON its parts are fields
    /// of the entry: `changes` (field → `previous` and `current`), `lists`
    /// (a list field changed by removing some elements and appending
    /// others: only those elements) and `users` (the allow-list's change:
    /// some ids and exact counts). Entries written by earlier versions
    /// (whole lists in `changes`) read as
    /// [`ListChange::Replaced`](crate::diff::ListChange::Replaced).
    #[serde(flatten)]
    pub changes: SwitchDiff,
    /// The id of the write that made the change, where the storage gives
    /// writes one (Redis does): what
    /// [`Manager::write_outcome`](crate::Manager::write_outcome) looks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What a history entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Action {
    /// The switch was created.
    Registered,
    /// The switch was changed.
    Updated,
    /// The switch was removed (by itself or with an ancestor).
    Unregistered,
    /// Ids were added to the allow-list in place.
    Allowed,
    /// Ids were removed from the allow-list in place.
    Disallowed,
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl HistoryEntry {
    pub(crate) fn new(actor: &str, key: &SwitchKey, action: Action) -> Self {
        HistoryEntry {
            actor: actor.to_owned(),
            at: now_ms(),
            key: key.clone(),
            action,
            version: 0,
            changes: SwitchDiff::default(),
            op: None,
        }
    }

    /// The entry for registering `switch`: every field that differs from
    /// a new switch of the same name.
    pub(crate) fn registered(actor: &str, key: &SwitchKey, switch: &Switch) -> Self {
        let blank = Switch::new(switch.name.clone());
        HistoryEntry {
            version: switch.version,
            ..Self::updated_from(actor, key, &blank, switch, Action::Registered)
        }
    }

    /// The entry for changing `previous` into `current`.
    pub(crate) fn updated(
        actor: &str,
        key: &SwitchKey,
        previous: &Switch,
        current: &Switch,
    ) -> Self {
        Self::updated_from(actor, key, previous, current, Action::Updated)
    }

    fn updated_from(
        actor: &str,
        key: &SwitchKey,
        previous: &Switch,
        current: &Switch,
        action: Action,
    ) -> Self {
        HistoryEntry {
            version: current.version,
            changes: SwitchDiff::between(previous, current),
            ..HistoryEntry::new(actor, key, action)
        }
    }

    /// The entry for removing the switch at `key`.
    pub(crate) fn unregistered(actor: &str, key: &SwitchKey) -> Self {
        HistoryEntry::new(actor, key, Action::Unregistered)
    }

    /// The entry for an in-place allow-list change, without the ids and
    /// the version (the Redis script adds those it applied).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn allow_list(actor: &str, key: &SwitchKey, add: bool) -> Self {
        let action = if add {
            Action::Allowed
        } else {
            Action::Disallowed
        };
        HistoryEntry::new(actor, key, action)
    }

    /// As JSON (the form storages keep).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A capped, newest-last list of entries, as the memory and file storages
/// keep them.
pub(crate) fn push_capped(history: &mut Vec<HistoryEntry>, entry: HistoryEntry, capacity: usize) {
    history.push(entry);
    if history.len() > capacity {
        let excess = history.len() - capacity;
        history.drain(..excess);
    }
}

/// The newest `limit` entries of `history` (newest last) about `key` and
/// its descendants (all if `None`), newest first.
pub(crate) fn select(
    history: &[HistoryEntry],
    key: Option<&SwitchKey>,
    limit: usize,
) -> Vec<HistoryEntry> {
    history
        .iter()
        .rev()
        .filter(|e| key.is_none_or(|k| e.key.is_in_tree(k)))
        .take(limit)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::ListChange;
    use crate::{Condition, Operator};

    #[test]
    fn entries_written_before_lists_existed_still_read() {
        let old = r#"{"actor":"alice","at":1,"key":"beta","action":"updated","version":3,
            "changes":{"conditions":{"previous":[],"current":[{"argument":"@id","attribute":"","operator":{"percent":5},"negative":false}]}}}"#;
        let entry: HistoryEntry = serde_json::from_str(old).unwrap();
        let Some(ListChange::Replaced(lists)) = &entry.changes.conditions else {
            panic!("{entry:?}")
        };
        assert_eq!(
            lists.current,
            [Condition::identity(Operator::percent(5).unwrap())]
        );
        // And an entry without lists is written as before.
        assert!(!entry.to_json().contains("lists"));
        assert!(entry
            .to_json()
            .contains(r#""changes":{"conditions":{"previous":[],"current":[{"#));
    }

    #[test]
    fn entries_of_the_redis_scripts_read() {
        // As the shortcut script writes them (gate/src/storage/redis).
        for (json, fields) in [
            (
                r#"{"actor":"a","at":1,"key":"k","action":"updated","op":"1-2","version":2,"changes":{"state":{"previous":"disabled","current":"global"}}}"#,
                vec!["state"],
            ),
            (
                r#"{"actor":"a","at":1,"key":"k","action":"updated","op":"1-2","version":2,"lists":{"conditions":{"added":[{"argument":"@id","attribute":"","operator":{"percent":5},"negative":false}]}}}"#,
                vec!["conditions"],
            ),
            (
                r#"{"actor":"a","at":1,"key":"k","action":"allowed","op":"1-2","version":2,"users":{"added":["x"],"added_count":1}}"#,
                vec!["users"],
            ),
        ] {
            let entry: HistoryEntry = serde_json::from_str(json).unwrap();
            assert_eq!(entry.changes.fields(), fields, "{json}");
            assert!(entry.changes.other.is_empty(), "{json}");
            assert_eq!(entry.op.as_deref(), Some("1-2"));
        }
    }
}
