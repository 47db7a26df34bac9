//! A switch's changes ([`SwitchDiff`]) as text, for `gate history` and
//! `gate import`: `state: "global" → "disabled"`,
//! `conditions: +User.age more_than 65, -id percent 10`,
//! `users: +alice, bob and 3 more`.

use std::fmt::Write as _;

use gate::diff::{FieldChange, ListChange, OtherChange, SwitchDiff, UsersChange};
use gate::{Condition, Variant};
use serde::Serialize;

use super::view::variants_text;
use crate::output::truncate;

/// One part per changed field (an allow-list that gained and lost ids
/// gives two), in the order of the fields' names, each value cut at
/// `width` characters. For a switch `created`, only the values after the
/// change (what differs from a new switch).
pub(super) fn parts(diff: &SwitchDiff, created: bool, width: usize) -> Vec<String> {
    let scalar = Scalar { created, width };
    let mut parts: Vec<(&str, String)> = Vec::new();
    let mut add = |field: &'static str, text: Option<String>| {
        if let Some(text) = text {
            parts.push((field, format!("{field}: {text}")));
        }
    };
    add("compounded", scalar.text(&diff.compounded));
    add("concent", scalar.text(&diff.concent));
    add("conditions", diff.conditions.as_ref().map(conditions));
    add("description", scalar.text(&diff.description));
    add("label", scalar.text(&diff.label));
    add("salt", scalar.text(&diff.salt));
    add("state", scalar.text(&diff.state));
    add("variants", diff.variants.as_ref().map(variants));
    if let Some(users) = &diff.users {
        for text in users_texts(users, width) {
            parts.push(("users", format!("users: {text}")));
        }
    }
    for (field, change) in &diff.other {
        let text = match change {
            OtherChange::Replaced(change) => scalar.text(&Some(change.clone())),
            OtherChange::Edited { added, removed } => Some(signed(
                added.iter().map(|a| truncate(&a.to_string(), width)),
                removed.iter().map(|r| truncate(&r.to_string(), width)),
            )),
        };
        if let Some(text) = text {
            parts.push((field, format!("{field}: {text}")));
        }
    }
    // Stable: an allow-list's ids added come before those removed.
    parts.sort_by_key(|(field, _)| *field);
    parts.into_iter().map(|(_, text)| text).collect()
}

/// How a field that is not a list is shown: its values as JSON.
struct Scalar {
    created: bool,
    width: usize,
}

impl Scalar {
    /// `before → after`, or `after` for a switch created.
    fn text<T: Serialize>(&self, change: &Option<FieldChange<T>>) -> Option<String> {
        let change = change.as_ref()?;
        let json = |v: &T| truncate(&serde_json::to_string(v).unwrap_or_default(), self.width);
        Some(if self.created {
            json(&change.current)
        } else {
            format!("{} → {}", json(&change.previous), json(&change.current))
        })
    }
}

/// `+added, -removed`, or `reordered` when no condition came or went.
fn conditions(change: &ListChange<Condition>) -> String {
    let text = signed(
        change.added().into_iter().map(ToString::to_string),
        change.removed().into_iter().map(ToString::to_string),
    );
    if text.is_empty() {
        "reordered".to_owned()
    } else {
        text
    }
}

/// `+a 1, -b 2` for variants appended and removed, or both lists
/// (`a, b → b, a`) when they were reordered.
fn variants(change: &ListChange<Variant>) -> String {
    match change {
        ListChange::Edited { added, removed } => {
            let text = |v: &Variant| format!("{} {}", v.name, v.weight);
            signed(added.iter().map(text), removed.iter().map(text))
        }
        ListChange::Replaced(lists) => {
            let text = |list: &[Variant]| {
                if list.is_empty() {
                    "-".to_owned()
                } else {
                    variants_text(list)
                }
            };
            format!("{} → {}", text(&lists.previous), text(&lists.current))
        }
    }
}

/// `+a, +b, -c`.
fn signed(added: impl Iterator<Item = String>, removed: impl Iterator<Item = String>) -> String {
    let parts: Vec<String> = added
        .map(|a| format!("+{a}"))
        .chain(removed.map(|r| format!("-{r}")))
        .collect();
    parts.join(", ")
}

/// `+alice, bob and 3 more` and `-carol`: the ids listed, and how many
/// more there were.
fn users_texts(users: &UsersChange, width: usize) -> Vec<String> {
    let ids = |listed: &[String], count: usize| {
        let more = count.saturating_sub(listed.len());
        let mut text = truncate(&listed.join(", "), width);
        if more > 0 {
            write!(text, " and {more} more").ok();
        }
        text
    };
    let mut texts = Vec::new();
    if users.added_count > 0 {
        texts.push(format!("+{}", ids(&users.added, users.added_count)));
    }
    if users.removed_count > 0 {
        texts.push(format!("-{}", ids(&users.removed, users.removed_count)));
    }
    texts
}

#[cfg(test)]
mod tests {
    use super::*;
    use gate::{Operator, State, Switch};

    #[test]
    fn each_field_is_told_in_the_order_of_the_names() {
        let before = Switch::new("s").variants(["a", "b"]).allow("bob");
        let adults = Condition::new("User", "age", Operator::more_than(17).unwrap()).unwrap();
        let after = Switch::new("s")
            .state(State::Global)
            .label("S")
            .condition(adults)
            .variants(["b", "a"])
            .allow("alice");
        let diff = SwitchDiff::between(&before, &after);
        assert_eq!(
            parts(&diff, false, 40),
            [
                "conditions: +User.age more_than 17",
                "label: null → \"S\"",
                "state: \"disabled\" → \"global\"",
                "users: +alice",
                "users: -bob",
                "variants: a, b → b, a",
            ]
        );
        assert_eq!(
            parts(&SwitchDiff::between(&Switch::new("s"), &after), true, 40)[1],
            "label: \"S\""
        );
    }
}
