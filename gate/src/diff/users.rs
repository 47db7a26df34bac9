//! The allow-list diff: the ids added and removed, some listed, all
//! counted.

use serde::{Deserialize, Serialize};

use crate::switch::Users;

/// How many ids of an allow-list change a [`UsersChange`] lists (the
/// counts are always exact).
pub const LISTED_IDS: usize = 100;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
