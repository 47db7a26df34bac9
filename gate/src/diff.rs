//! What changed in a switch, field by field, as typed values: the one diff
//! of two switches, used by the audit trail
//! ([`HistoryEntry::changes`](crate::history::HistoryEntry::changes)), the
//! update signal ([`SwitchUpdated::changes`](crate::signals::SwitchUpdated::changes))
//! and the import plan ([`Planned`](crate::import::Planned)).
//!
//! Its JSON form is the audit trail's: `changes` (field → `previous` and
//! `current`), `lists` (list field → the elements `added` and `removed`)
//! and `users` (the allow-list's change), each left out when empty.
//!
//! # Examples
//!
//! ```
//! use gate::diff::{FieldChange, ListChange, SwitchDiff};
//! use gate::{State, Switch};
//!
//! let before = Switch::new("beta").variants(["a"]);
//! let after = before.clone().state(State::Global).variants(["a", "b"]).allow("alice");
//! let diff = SwitchDiff::between(&before, &after);
//! assert_eq!(diff.state, Some(FieldChange { previous: State::Disabled, current: State::Global }));
//! let Some(ListChange::Edited { added, removed }) = &diff.variants else { panic!() };
//! assert_eq!((added[0].name.as_str(), removed.len()), ("b", 0));
//! assert_eq!(diff.users.as_ref().unwrap().added, ["alice"]);
//! assert_eq!(diff.fields(), ["state", "users", "variants"]);
//! ```

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value as Json;

use crate::condition::Condition;
use crate::switch::{State, Switch, Users, Variant};

/// How many ids of an allow-list change a [`UsersChange`] lists (the
/// counts are always exact).
pub const LISTED_IDS: usize = 100;

/// A field's value before and after a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange<T> {
    /// Before the change.
    #[serde(default)]
    pub previous: T,
    /// After the change.
    #[serde(default)]
    pub current: T,
}

impl<T: PartialEq + Clone> FieldChange<T> {
    /// The change from `previous` to `current`; `None` if they are equal.
    pub fn between(previous: &T, current: &T) -> Option<FieldChange<T>> {
        (previous != current).then(|| FieldChange {
            previous: previous.clone(),
            current: current.clone(),
        })
    }
}

/// A list field's change (`conditions`, `variants`).
#[derive(Debug, Clone, PartialEq)]
pub enum ListChange<T> {
    /// Some elements removed, some appended: the list after the change is
    /// the list before it without the `removed` elements (for an element
    /// there several times, its last occurrences), followed by the `added`
    /// ones.
    Edited {
        /// The elements appended, in order.
        added: Vec<T>,
        /// The elements removed.
        removed: Vec<T>,
    },
    /// Elements that stayed moved (reordered variants), or the change was
    /// recorded before gate kept list edits: both whole lists.
    Replaced(FieldChange<Vec<T>>),
}

impl<T: PartialEq + Clone> ListChange<T> {
    /// The change from `previous` to `current`: [`Edited`](Self::Edited)
    /// if it is "remove some, append some", else
    /// [`Replaced`](Self::Replaced); `None` if the lists are equal.
    pub fn between(previous: &[T], current: &[T]) -> Option<ListChange<T>> {
        if previous == current {
            return None;
        }
        let (kept, _) = pair(previous, current);
        let mut stayed = previous
            .iter()
            .zip(&kept)
            .filter(|(_, k)| **k)
            .map(|(p, _)| p);
        let n = kept.iter().filter(|k| **k).count();
        // The elements that stayed must come first, in their order.
        let in_order = current.len() >= n && current[..n].iter().all(|c| stayed.next() == Some(c));
        Some(if in_order {
            ListChange::Edited {
                added: current[n..].to_vec(),
                removed: unpaired(previous, &kept),
            }
        } else {
            ListChange::Replaced(FieldChange {
                previous: previous.to_vec(),
                current: current.to_vec(),
            })
        })
    }

    /// The elements the change added: for [`Replaced`](Self::Replaced),
    /// those of the list after it that were not in the list before (each
    /// equal element counted once).
    pub fn added(&self) -> Vec<&T> {
        match self {
            ListChange::Edited { added, .. } => added.iter().collect(),
            ListChange::Replaced(lists) => {
                let (_, taken) = pair(&lists.previous, &lists.current);
                unpaired_refs(&lists.current, &taken)
            }
        }
    }

    /// The elements the change removed: for [`Replaced`](Self::Replaced),
    /// those of the list before it that are not in the list after it
    /// (each equal element counted once).
    pub fn removed(&self) -> Vec<&T> {
        match self {
            ListChange::Edited { removed, .. } => removed.iter().collect(),
            ListChange::Replaced(lists) => {
                let (kept, _) = pair(&lists.previous, &lists.current);
                unpaired_refs(&lists.previous, &kept)
            }
        }
    }
}

/// Pairs each element of `previous` with an equal element of `current`
/// not paired yet: which elements of `previous` stayed, and which of
/// `current` they stayed as. Lists hold at most
/// [`MAX_CONDITIONS`](crate::limits::MAX_CONDITIONS) or
/// [`MAX_VARIANTS`](crate::limits::MAX_VARIANTS) elements, so comparing
/// each with each is quick.
fn pair<T: PartialEq>(previous: &[T], current: &[T]) -> (Vec<bool>, Vec<bool>) {
    let mut taken = vec![false; current.len()];
    let kept = previous
        .iter()
        .map(|p| {
            let found = (0..current.len()).find(|&i| !taken[i] && current[i] == *p);
            found.inspect(|&i| taken[i] = true).is_some()
        })
        .collect();
    (kept, taken)
}

fn unpaired<T: Clone>(items: &[T], paired: &[bool]) -> Vec<T> {
    unpaired_refs(items, paired).into_iter().cloned().collect()
}

fn unpaired_refs<'a, T>(items: &'a [T], paired: &[bool]) -> Vec<&'a T> {
    items
        .iter()
        .zip(paired)
        .filter(|(_, p)| !**p)
        .map(|(item, _)| item)
        .collect()
}

/// An allow-list's change: at most [`LISTED_IDS`] ids each way (sorted),
/// and exact counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The change from `previous` to `current`; `None` if they hold the
    /// same ids.
    pub fn between(previous: &Users, current: &Users) -> Option<UsersChange> {
        if previous == current {
            return None;
        }
        let (added, removed) = ids_added_and_removed(previous, current);
        Some(UsersChange::of(&added, &removed))
    }

    /// The change of adding `added` and removing `removed` (each id given
    /// once): the [`LISTED_IDS`] smallest ids each way, whatever order
    /// they come in.
    pub(crate) fn of(added: &[&str], removed: &[&str]) -> UsersChange {
        UsersChange {
            added: smallest(added),
            added_count: added.len(),
            removed: smallest(removed),
            removed_count: removed.len(),
        }
    }
}

/// The ids of `current` not in `previous`, and those of `previous` not in
/// `current`, in no particular order: the allow-list diff.
pub(crate) fn ids_added_and_removed<'a>(
    previous: &'a Users,
    current: &'a Users,
) -> (Vec<&'a str>, Vec<&'a str>) {
    let added = current.iter().filter(|id| !previous.contains(id)).collect();
    let removed = previous.iter().filter(|id| !current.contains(id)).collect();
    (added, removed)
}

/// The [`LISTED_IDS`] smallest of `ids`, sorted (linear in their number).
fn smallest(ids: &[&str]) -> Vec<String> {
    let mut ids = ids.to_vec();
    if ids.len() > LISTED_IDS {
        ids.select_nth_unstable(LISTED_IDS);
        ids.truncate(LISTED_IDS);
    }
    ids.sort_unstable();
    ids.into_iter().map(str::to_owned).collect()
}

/// A field's change that this version of gate cannot read as its type (a
/// field a later version added, or a value the rules now refuse), kept as
/// it was written.
#[derive(Debug, Clone, PartialEq)]
pub enum OtherChange {
    /// The previous and current values.
    Replaced(FieldChange<Json>),
    /// The elements removed and appended.
    Edited {
        /// The elements appended.
        added: Vec<Json>,
        /// The elements removed.
        removed: Vec<Json>,
    },
}

/// What changed in a switch, field by field: each field is `None` when it
/// did not change. The name and the version are not compared.
///
/// Read with [`SwitchDiff::between`], or from a
/// [`HistoryEntry`](crate::history::HistoryEntry); its JSON form is
/// described in the [module](self)'s documentation.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct SwitchDiff {
    /// The state.
    pub state: Option<FieldChange<State>>,
    /// Whether every applicable condition must hold.
    pub compounded: Option<FieldChange<bool>>,
    /// Whether the switch follows its parent.
    pub concent: Option<FieldChange<bool>>,
    /// The conditions.
    pub conditions: Option<ListChange<Condition>>,
    /// The allow-list.
    pub users: Option<UsersChange>,
    /// The variants.
    pub variants: Option<ListChange<Variant>>,
    /// The label.
    pub label: Option<FieldChange<Option<String>>>,
    /// The description.
    pub description: Option<FieldChange<Option<String>>>,
    /// The salt.
    pub salt: Option<FieldChange<Option<String>>>,
    /// Fields this version of gate cannot read as their type, by name.
    pub other: BTreeMap<String, OtherChange>,
}

impl SwitchDiff {
    /// What changed from `previous` to `current`.
    pub fn between(previous: &Switch, current: &Switch) -> SwitchDiff {
        SwitchDiff {
            state: FieldChange::between(&previous.state, &current.state),
            compounded: FieldChange::between(&previous.compounded, &current.compounded),
            concent: FieldChange::between(&previous.concent, &current.concent),
            conditions: ListChange::between(&previous.conditions, &current.conditions),
            users: UsersChange::between(&previous.users, &current.users),
            variants: ListChange::between(&previous.variants, &current.variants),
            label: FieldChange::between(&previous.label, &current.label),
            description: FieldChange::between(&previous.description, &current.description),
            salt: FieldChange::between(&previous.salt, &current.salt),
            other: BTreeMap::new(),
        }
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.fields().is_empty()
    }

    /// The names of the fields that changed (as in the switch's JSON), in
    /// alphabetical order.
    pub fn fields(&self) -> Vec<&str> {
        let known = [
            ("compounded", self.compounded.is_some()),
            ("concent", self.concent.is_some()),
            ("conditions", self.conditions.is_some()),
            ("description", self.description.is_some()),
            ("label", self.label.is_some()),
            ("salt", self.salt.is_some()),
            ("state", self.state.is_some()),
            ("users", self.users.is_some()),
            ("variants", self.variants.is_some()),
        ];
        let mut fields: Vec<&str> = known
            .into_iter()
            .filter(|(_, changed)| *changed)
            .map(|(name, _)| name)
            .chain(self.other.keys().map(String::as_str))
            .collect();
        fields.sort_unstable();
        fields
    }

    /// The JSON form.
    fn to_raw(&self) -> RawDiff {
        let mut raw = RawDiff {
            users: self.users.clone(),
            ..RawDiff::default()
        };
        raw.scalar("state", &self.state);
        raw.scalar("compounded", &self.compounded);
        raw.scalar("concent", &self.concent);
        raw.list("conditions", &self.conditions);
        raw.list("variants", &self.variants);
        raw.scalar("label", &self.label);
        raw.scalar("description", &self.description);
        raw.scalar("salt", &self.salt);
        for (field, change) in &self.other {
            match change {
                OtherChange::Replaced(change) => {
                    raw.changes.insert(field.clone(), change.clone());
                }
                OtherChange::Edited { added, removed } => {
                    let edit = RawEdit {
                        added: added.clone(),
                        removed: removed.clone(),
                    };
                    raw.lists.insert(field.clone(), edit);
                }
            }
        }
        raw
    }

    /// Reads the JSON form: a field whose values do not read as its type
    /// is kept in [`other`](Self::other).
    fn from_raw(raw: RawDiff) -> SwitchDiff {
        let mut diff = SwitchDiff {
            users: raw.users,
            ..SwitchDiff::default()
        };
        for (field, change) in raw.changes {
            let unread = match field.as_str() {
                "state" => read(&mut diff.state, change),
                "compounded" => read(&mut diff.compounded, change),
                "concent" => read(&mut diff.concent, change),
                "conditions" => read_lists(&mut diff.conditions, change),
                "variants" => read_lists(&mut diff.variants, change),
                "label" => read(&mut diff.label, change),
                "description" => read(&mut diff.description, change),
                "salt" => read(&mut diff.salt, change),
                _ => Some(change),
            };
            if let Some(change) = unread {
                diff.other.insert(field, OtherChange::Replaced(change));
            }
        }
        for (field, edit) in raw.lists {
            let unread = match field.as_str() {
                "conditions" => read_edit(&mut diff.conditions, edit),
                "variants" => read_edit(&mut diff.variants, edit),
                _ => Some(edit),
            };
            if let Some(RawEdit { added, removed }) = unread {
                diff.other
                    .insert(field, OtherChange::Edited { added, removed });
            }
        }
        diff
    }
}

/// Reads `change` into an empty `slot`; gives it back if it does not read.
fn read<T: DeserializeOwned>(
    slot: &mut Option<FieldChange<T>>,
    change: FieldChange<Json>,
) -> Option<FieldChange<Json>> {
    if slot.is_none() {
        if let (Ok(previous), Ok(current)) = (
            T::deserialize(&change.previous),
            T::deserialize(&change.current),
        ) {
            *slot = Some(FieldChange { previous, current });
            return None;
        }
    }
    Some(change)
}

/// Reads whole lists (`null` for none) into an empty `slot`.
fn read_lists<T: DeserializeOwned>(
    slot: &mut Option<ListChange<T>>,
    change: FieldChange<Json>,
) -> Option<FieldChange<Json>> {
    let list = |json: &Json| Option::<Vec<T>>::deserialize(json).map(Option::unwrap_or_default);
    if slot.is_none() {
        if let (Ok(previous), Ok(current)) = (list(&change.previous), list(&change.current)) {
            *slot = Some(ListChange::Replaced(FieldChange { previous, current }));
            return None;
        }
    }
    Some(change)
}

/// Reads the elements added and removed into an empty `slot`.
fn read_edit<T: DeserializeOwned>(
    slot: &mut Option<ListChange<T>>,
    edit: RawEdit,
) -> Option<RawEdit> {
    let list = |items: &[Json]| {
        items
            .iter()
            .map(T::deserialize)
            .collect::<Result<Vec<T>, _>>()
    };
    if slot.is_none() {
        if let (Ok(added), Ok(removed)) = (list(&edit.added), list(&edit.removed)) {
            *slot = Some(ListChange::Edited { added, removed });
            return None;
        }
    }
    Some(edit)
}

/// The JSON form of a [`SwitchDiff`], as audit entries keep it (entries
/// written by the Redis scripts and by earlier versions included).
#[derive(Debug, Default, Serialize, Deserialize)]
struct RawDiff {
    /// Field by field, the previous and current values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    changes: BTreeMap<String, FieldChange<Json>>,
    /// List fields as the elements removed and appended.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    lists: BTreeMap<String, RawEdit>,
    /// The allow-list's change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    users: Option<UsersChange>,
}

impl RawDiff {
    fn scalar<T: Serialize>(&mut self, field: &str, change: &Option<FieldChange<T>>) {
        if let Some(change) = change {
            self.changes.insert(field.to_owned(), to_json(change));
        }
    }

    fn list<T: Serialize>(&mut self, field: &str, change: &Option<ListChange<T>>) {
        match change {
            None => {}
            Some(ListChange::Replaced(lists)) => {
                self.changes.insert(field.to_owned(), to_json(lists));
            }
            Some(ListChange::Edited { added, removed }) => {
                let json = |items: &[T]| items.iter().map(value).collect();
                let edit = RawEdit {
                    added: json(added),
                    removed: json(removed),
                };
                self.lists.insert(field.to_owned(), edit);
            }
        }
    }
}

fn value(item: &impl Serialize) -> Json {
    serde_json::to_value(item).unwrap_or_default()
}

fn to_json<T: Serialize>(change: &FieldChange<T>) -> FieldChange<Json> {
    FieldChange {
        previous: value(&change.previous),
        current: value(&change.current),
    }
}

/// A list's elements removed and appended, as JSON.
#[derive(Debug, Default, Serialize, Deserialize)]
struct RawEdit {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    added: Vec<Json>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    removed: Vec<Json>,
}

impl Serialize for SwitchDiff {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_raw().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SwitchDiff {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        RawDiff::deserialize(deserializer).map(SwitchDiff::from_raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn between(previous: &[&str], current: &[&str]) -> Option<(Vec<String>, Vec<String>)> {
        let owned = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        match ListChange::between(&owned(previous), &owned(current)) {
            Some(ListChange::Edited { added, removed }) => Some((added, removed)),
            _ => None,
        }
    }

    /// Applies a list change as its documentation says.
    fn apply(previous: &[String], added: &[String], removed: &[String]) -> Vec<String> {
        let mut list = previous.to_vec();
        for r in removed {
            let last = list.iter().rposition(|e| e == r).unwrap();
            list.remove(last);
        }
        list.extend(added.iter().cloned());
        list
    }

    #[test]
    fn list_changes_are_the_elements_removed_and_appended() {
        let v = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(between(&[], &["a"]), Some((v(&["a"]), v(&[]))));
        assert_eq!(between(&["a", "b"], &["b"]), Some((v(&[]), v(&["a"]))));
        assert_eq!(
            between(&["a", "b", "c"], &["a", "c", "d"]),
            Some((v(&["d"]), v(&["b"])))
        );
        assert_eq!(between(&["a"], &[]), Some((v(&[]), v(&["a"]))));
        // Kept elements that moved: not expressible, both lists are kept.
        assert_eq!(between(&["a", "b"], &["b", "a"]), None);
        assert_eq!(between(&["a", "b", "a"], &["b", "a"]), None);
        // Repeated elements, checked against the documented rule.
        for (previous, current) in [
            (v(&["a", "b", "a"]), v(&["a", "b"])),
            (v(&["a"]), v(&["a", "a"])),
            (v(&["a", "a", "b"]), v(&["a", "b", "c"])),
        ] {
            let Some(ListChange::Edited { added, removed }) =
                ListChange::between(&previous, &current)
            else {
                panic!("{previous:?} → {current:?}")
            };
            assert_eq!(apply(&previous, &added, &removed), current);
        }
    }

    #[test]
    fn a_reordered_list_tells_what_came_and_went() {
        let change = ListChange::between(&[1, 2, 3], &[3, 4, 1]).unwrap();
        assert!(matches!(change, ListChange::Replaced(_)));
        assert_eq!(change.added(), [&4]);
        assert_eq!(change.removed(), [&2]);
        assert!(ListChange::between(&[1, 2], &[1, 2]).is_none());
    }

    #[test]
    fn reordered_variants_keep_both_lists() {
        let before = Switch::new("exp").variants(["a", "b"]);
        let after = Switch::new("exp").variants(["b", "a"]);
        let diff = SwitchDiff::between(&before, &after);
        assert_eq!(
            diff.variants,
            Some(ListChange::Replaced(FieldChange {
                previous: before.variants.clone(),
                current: after.variants.clone(),
            }))
        );
        let json = serde_json::to_value(&diff).unwrap();
        assert_eq!(
            json["changes"]["variants"]["current"],
            json!([{"name": "b", "weight": 1}, {"name": "a", "weight": 1}])
        );
        assert!(json.get("lists").is_none());
    }

    #[test]
    fn the_ids_listed_are_the_smallest_whatever_their_order() {
        let ids: Vec<String> = (0..LISTED_IDS + 50)
            .rev()
            .map(|i| format!("{i:04}"))
            .collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let change = UsersChange::of(&ids, &[]);
        assert_eq!(change.added_count, LISTED_IDS + 50);
        assert_eq!(change.added.len(), LISTED_IDS);
        assert_eq!(change.added[0], "0000");
        assert_eq!(
            change.added[LISTED_IDS - 1],
            format!("{:04}", LISTED_IDS - 1)
        );
    }

    #[test]
    fn fields_it_cannot_read_are_kept_as_written() {
        let json = json!({
            "changes": {
                "state": {"previous": "disabled", "current": "sometimes"},
                "colour": {"previous": null, "current": "red"}
            },
            "lists": {"conditions": {"added": [{"argument": "@id", "operator": {"percent": 500}}]}}
        });
        let diff: SwitchDiff = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(diff.state, None);
        assert_eq!(diff.conditions, None);
        assert_eq!(diff.fields(), ["colour", "conditions", "state"]);
        assert_eq!(serde_json::to_value(&diff).unwrap(), json);
    }

    #[test]
    fn the_json_form_round_trips() {
        let before = Switch::new("a").label("A").variants(["x"]);
        let after = Switch::new("a")
            .state(State::Selective)
            .condition(Condition::identity(crate::Operator::percent(5).unwrap()))
            .allow("z");
        let diff = SwitchDiff::between(&before, &after);
        let json = serde_json::to_value(&diff).unwrap();
        assert_eq!(
            json,
            json!({
                "changes": {
                    "label": {"previous": "A", "current": null},
                    "state": {"previous": "disabled", "current": "selective"}
                },
                "lists": {
                    "conditions": {"added": [{"argument": "@id", "attribute": "", "operator": {"percent": 5}, "negative": false}]},
                    "variants": {"removed": [{"name": "x", "weight": 1}]}
                },
                "users": {"added": ["z"], "added_count": 1, "removed_count": 0}
            })
        );
        assert_eq!(serde_json::from_value::<SwitchDiff>(json).unwrap(), diff);
        assert!(SwitchDiff::between(&after, &after).is_empty());
    }
}
