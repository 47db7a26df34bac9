//! The JSON form of a [`SwitchDiff`], as audit entries keep it: `changes`,
//! `lists` and `users`. Entries written by the Redis scripts and by
//! earlier versions read; a field that does not read as its type is kept
//! in [`SwitchDiff::other`].

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value as Json;

use super::{FieldChange, ListChange, OtherChange, SwitchDiff, UsersChange};

impl Serialize for SwitchDiff {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        to_raw(self).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SwitchDiff {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        RawDiff::deserialize(deserializer).map(from_raw)
    }
}

/// The JSON form.
fn to_raw(diff: &SwitchDiff) -> RawDiff {
    let mut raw = RawDiff {
        users: diff.users.clone(),
        ..RawDiff::default()
    };
    raw.scalar("state", &diff.state);
    raw.scalar("compounded", &diff.compounded);
    raw.scalar("concent", &diff.concent);
    raw.list("conditions", &diff.conditions);
    raw.list("variants", &diff.variants);
    raw.scalar("label", &diff.label);
    raw.scalar("description", &diff.description);
    raw.scalar("salt", &diff.salt);
    for (field, change) in &diff.other {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::condition::Condition;
    use crate::switch::{State, Switch};
    use serde_json::json;

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
