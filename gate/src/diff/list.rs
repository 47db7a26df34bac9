//! A list field's change: the elements removed and appended, or both
//! lists when kept elements moved.

use super::FieldChange;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
