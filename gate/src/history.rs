//! The audit trail: who changed which switch, when, and how.
//!
//! Every write through a [`Manager`](crate::Manager) records an entry in
//! the storage, atomically with the change itself where the storage allows
//! (one Lua script on Redis, one file rename for the file store, one lock
//! in memory). Read it with [`Manager::history`](crate::Manager::history).

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::switch::{Change, Switch, Users};

/// How many entries a storage keeps by default (the oldest are dropped).
pub const DEFAULT_HISTORY_CAPACITY: usize = 1000;

/// How many ids of an allow-list change an entry lists (the counts are
/// always exact).
pub const LISTED_IDS: usize = 100;

/// One change in the audit trail.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use gate::history::Action;
///
/// let manager = gate::Manager::in_memory().as_actor("alice");
/// manager.enable_for_all("beta").await?;
/// manager.as_actor("bob").disable("beta").await?;
/// let history = manager.history(Some("beta"), 10).await?;
/// assert_eq!(history[0].actor, "bob"); // newest first
/// assert_eq!(history[0].changes["state"].current, "disabled");
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
    /// The switch's storage key (`name`, or `namespace.name`).
    pub key: String,
    /// What kind of change.
    pub action: Action,
    /// The switch's version after the change (0 when unregistered).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub version: u64,
    /// Field by field, the previous and current values (the allow-list is
    /// in `users` instead).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub changes: BTreeMap<String, Change>,
    /// How the allow-list changed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<UsersChange>,
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

/// An allow-list's change in a [`HistoryEntry`]: the first
/// [`LISTED_IDS`] ids each way, and exact counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UsersChange {
    /// Ids added (at most [`LISTED_IDS`] of them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<String>,
    /// How many ids were added.
    #[serde(default)]
    pub added_count: usize,
    /// Ids removed (at most [`LISTED_IDS`] of them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
    /// How many ids were removed.
    #[serde(default)]
    pub removed_count: usize,
}

impl UsersChange {
    fn between(previous: &Users, current: &Users) -> Option<UsersChange> {
        if previous == current {
            return None;
        }
        let added: Vec<&str> = current.iter().filter(|id| !previous.contains(id)).collect();
        let removed: Vec<&str> = previous.iter().filter(|id| !current.contains(id)).collect();
        Some(UsersChange::of(&added, &removed))
    }

    pub(crate) fn of(added: &[&str], removed: &[&str]) -> UsersChange {
        let listed = |ids: &[&str]| {
            let mut listed: Vec<String> = ids
                .iter()
                .take(LISTED_IDS)
                .map(|s| (*s).to_owned())
                .collect();
            listed.sort();
            listed
        };
        UsersChange {
            added: listed(added),
            added_count: added.len(),
            removed: listed(removed),
            removed_count: removed.len(),
        }
    }
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl HistoryEntry {
    pub(crate) fn new(actor: &str, key: &str, action: Action) -> Self {
        HistoryEntry {
            actor: actor.to_owned(),
            at: now_ms(),
            key: key.to_owned(),
            action,
            version: 0,
            changes: BTreeMap::new(),
            users: None,
            op: None,
        }
    }

    /// The entry for registering `switch`: every field that differs from
    /// a new switch of the same name.
    pub(crate) fn registered(actor: &str, key: &str, switch: &Switch) -> Self {
        let blank = Switch::new(switch.name.clone());
        HistoryEntry {
            version: switch.version,
            ..Self::updated_from(actor, key, &blank, switch, Action::Registered)
        }
    }

    /// The entry for changing `previous` into `current`.
    pub(crate) fn updated(actor: &str, key: &str, previous: &Switch, current: &Switch) -> Self {
        Self::updated_from(actor, key, previous, current, Action::Updated)
    }

    fn updated_from(
        actor: &str,
        key: &str,
        previous: &Switch,
        current: &Switch,
        action: Action,
    ) -> Self {
        let mut entry = HistoryEntry::new(actor, key, action);
        entry.version = current.version;
        entry.users = UsersChange::between(&previous.users, &current.users);
        // The allow-list is summarized above, not copied in full.
        let (mut p, mut c) = (previous.clone(), current.clone());
        p.users = Users::default();
        c.users = Users::default();
        entry.changes = c.changes_from(&p);
        entry
    }

    /// The entry for removing the switch at `key`.
    pub(crate) fn unregistered(actor: &str, key: &str) -> Self {
        HistoryEntry::new(actor, key, Action::Unregistered)
    }

    /// The entry for an in-place allow-list change, without the ids and
    /// the version (the Redis script adds those it applied).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn allow_list(actor: &str, key: &str, add: bool) -> Self {
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
    key: Option<&str>,
    limit: usize,
) -> Vec<HistoryEntry> {
    history
        .iter()
        .rev()
        .filter(|e| key.is_none_or(|k| crate::storage::in_tree(&e.key, k)))
        .take(limit)
        .cloned()
        .collect()
}
