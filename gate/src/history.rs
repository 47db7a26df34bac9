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
    /// Field by field, the previous and current values of the changed
    /// fields (the allow-list is in `users` instead, and a list field is in
    /// `lists` when its change can be told as elements removed and added).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub changes: BTreeMap<String, Change>,
    /// List fields (`conditions`, `variants`) changed by removing some
    /// elements and appending others: only those elements, not the whole
    /// list twice. A list whose kept elements moved (reordered variants) is
    /// in `changes` instead, as are list fields in entries written by gate
    /// before it kept this field.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub lists: BTreeMap<String, ListChange>,
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

/// A list field's change in a [`HistoryEntry`]: the list after the change
/// is the list before it without the `removed` elements (for an element
/// there several times, its last occurrences), followed by the `added`
/// ones.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use gate::{Condition, Operator};
///
/// let manager = gate::Manager::in_memory();
/// manager.enable("beta").await?;
/// let adults = Condition::new("User", "age", Operator::more_than(17)?)?;
/// manager.modify("beta", |s| s.conditions.push(adults.clone())).await?;
/// let entry = &manager.history(Some("beta"), 1).await?[0];
/// assert_eq!(entry.lists["conditions"].added, [serde_json::to_value(&adults).unwrap()]);
/// assert!(entry.lists["conditions"].removed.is_empty());
/// # Ok::<_, gate::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ListChange {
    /// The elements appended, in order, as JSON.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<serde_json::Value>,
    /// The elements removed, as JSON.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<serde_json::Value>,
}

impl ListChange {
    /// The change from `previous` to `current` (JSON arrays, or null for
    /// none), if it is "remove some, append some"; `None` if kept elements
    /// moved or a side is not a list.
    fn between(previous: &serde_json::Value, current: &serde_json::Value) -> Option<ListChange> {
        use serde_json::Value;
        let empty = Vec::new();
        let list = |v: &'_ Value| -> Option<Vec<Value>> {
            match v {
                Value::Array(items) => Some(items.clone()),
                Value::Null => Some(empty.clone()),
                _ => None,
            }
        };
        let (previous, current) = (list(previous)?, list(current)?);
        // Elements compared by their JSON text, counted (a list may hold
        // equal elements): linear, whatever the lengths.
        let text = |v: &Value| v.to_string();
        let mut available: std::collections::HashMap<String, usize> =
            std::collections::HashMap::new();
        let current_texts: Vec<String> = current.iter().map(text).collect();
        for t in &current_texts {
            *available.entry(t.clone()).or_default() += 1;
        }
        let mut kept = 0;
        let mut removed = Vec::new();
        for item in previous {
            let t = text(&item);
            match available.get_mut(&t) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    // Kept elements must stay in their order, first.
                    if current_texts.get(kept) != Some(&t) {
                        return None;
                    }
                    kept += 1;
                }
                _ => removed.push(item),
            }
        }
        Some(ListChange {
            added: current[kept..].to_vec(),
            removed,
        })
    }
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
            lists: BTreeMap::new(),
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
        // Lists as the elements removed and added, not copied twice.
        let lists: Vec<String> = entry
            .changes
            .iter()
            .filter(|(_, change)| change.previous.is_array() || change.current.is_array())
            .map(|(field, _)| field.clone())
            .collect();
        for field in lists {
            let change = &entry.changes[&field];
            if let Some(list) = ListChange::between(&change.previous, &change.current) {
                entry.changes.remove(&field);
                entry.lists.insert(field, list);
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn between(
        previous: serde_json::Value,
        current: serde_json::Value,
    ) -> Option<(Vec<serde_json::Value>, Vec<serde_json::Value>)> {
        ListChange::between(&previous, &current).map(|l| (l.added, l.removed))
    }

    /// Applies a list change as its documentation says.
    fn apply(previous: &[serde_json::Value], change: &ListChange) -> Vec<serde_json::Value> {
        let mut list = previous.to_vec();
        for removed in &change.removed {
            let last = list.iter().rposition(|e| e == removed).unwrap();
            list.remove(last);
        }
        list.extend(change.added.iter().cloned());
        list
    }

    #[test]
    fn list_changes_are_the_elements_removed_and_appended() {
        assert_eq!(
            between(json!(null), json!(["a"])),
            Some((vec![json!("a")], vec![]))
        );
        assert_eq!(
            between(json!(["a", "b"]), json!(["b"])),
            Some((vec![], vec![json!("a")]))
        );
        assert_eq!(
            between(json!(["a", "b", "c"]), json!(["a", "c", "d"])),
            Some((vec![json!("d")], vec![json!("b")]))
        );
        assert_eq!(
            between(json!(["a"]), json!(null)),
            Some((vec![], vec![json!("a")]))
        );
        // Kept elements that moved: not expressible, the caller keeps both lists.
        assert_eq!(between(json!(["a", "b"]), json!(["b", "a"])), None);
        assert_eq!(between(json!(["a", "b", "a"]), json!(["b", "a"])), None);
        assert_eq!(between(json!("a"), json!(["a"])), None);
        // Repeated elements, checked against the documented rule.
        for (previous, current) in [
            (json!(["a", "b", "a"]), json!(["a", "b"])),
            (json!(["a"]), json!(["a", "a"])),
            (json!(["a", "a", "b"]), json!(["a", "b", "c"])),
            (json!([{"x": 1}, {"x": 2}]), json!([{"x": 2}, {"x": 3}])),
        ] {
            let change = ListChange::between(&previous, &current).unwrap();
            assert_eq!(
                apply(previous.as_array().unwrap(), &change),
                *current.as_array().unwrap()
            );
        }
    }

    #[test]
    fn reordered_variants_keep_both_lists() {
        let mut before = Switch::new("exp");
        before.variants = vec![
            crate::Variant {
                name: "a".into(),
                weight: 1,
            },
            crate::Variant {
                name: "b".into(),
                weight: 1,
            },
        ];
        let mut after = before.clone();
        after.variants.reverse();
        let entry = HistoryEntry::updated("me", "exp", &before, &after);
        assert!(entry.lists.is_empty());
        assert_eq!(
            entry.changes["variants"].current,
            json!([{"name": "b", "weight": 1}, {"name": "a", "weight": 1}])
        );
    }

    #[test]
    fn entries_written_before_lists_existed_still_read() {
        let old = r#"{"actor":"alice","at":1,"key":"beta","action":"updated","version":3,
            "changes":{"conditions":{"previous":[],"current":[{"argument":"@id","attribute":"","operator":{"percent":5},"negative":false}]}}}"#;
        let entry: HistoryEntry = serde_json::from_str(old).unwrap();
        assert!(entry.lists.is_empty());
        assert_eq!(
            entry.changes["conditions"].current[0]["operator"]["percent"],
            5
        );
        // And an entry without lists is written as before.
        assert!(!entry.to_json().contains("lists"));
    }
}
