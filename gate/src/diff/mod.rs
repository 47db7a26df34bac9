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

mod json;
mod list;
mod users;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::condition::Condition;
use crate::switch::{State, Switch, Variant};

pub use list::ListChange;
#[cfg(feature = "redis")]
pub(crate) use users::ids_added_and_removed;
pub use users::{UsersChange, LISTED_IDS};

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
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
}
