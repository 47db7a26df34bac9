//! The rules of the audit trail, for a storage that keeps one (one whose
//! `history` is empty passes them): every successful write, newest first,
//! nothing for a failed one.

use super::records::tree;
use super::ACTOR;
use crate::history::{Action, HistoryEntry};
use crate::key::SwitchKey;
use crate::storage::Storage;
use crate::switch::{State, Switch};

/// The writes whose history the rules read: `conf_<base>` inserted,
/// updated to global, updated again from a stale version (which fails);
/// its child, grandchild and a sibling inserted; its tree removed. The
/// switch's key and the history of its tree (at most 100 entries).
async fn tree_history(
    storage: &dyn Storage,
    prefix: &str,
    base: &str,
) -> (SwitchKey, Vec<HistoryEntry>) {
    let [a, .., other] = tree(storage, prefix, base).await;
    let stored = storage.get(&a).await.unwrap().unwrap();
    storage
        .update(&a, ACTOR, stored.clone().state(State::Global))
        .await
        .unwrap();
    let stale: Switch = stored.state(State::Selective);
    assert!(
        storage.update(&a, ACTOR, stale).await.is_err(),
        "an update from a stale version fails"
    );
    storage.remove_tree(&a, ACTOR).await.unwrap();
    let history = storage.history(Some(&a), 100).await.unwrap();
    storage.remove_tree(&other, ACTOR).await.unwrap();
    (a, history)
}

/// The history records each write of a key, newest first, and none for a
/// failed one.
pub async fn history_records_each_write_newest_first_none_for_a_failed_one(
    storage: &dyn Storage,
    prefix: &str,
) {
    let (a, history) = tree_history(storage, prefix, "conf_history_order").await;
    if history.is_empty() {
        return;
    }
    let of_a: Vec<(Action, u64)> = history
        .iter()
        .filter(|e| e.key == a)
        .map(|e| (e.action, e.version))
        .collect();
    assert_eq!(
        of_a,
        [
            (Action::Unregistered, 0),
            (Action::Updated, 2),
            (Action::Registered, 1)
        ],
        "history records each write of a key, newest first, none for a failed one"
    );
}

/// Each entry names the actor of the write.
pub async fn history_names_the_actor(storage: &dyn Storage, prefix: &str) {
    let (_, history) = tree_history(storage, prefix, "conf_history_actor").await;
    assert!(
        history.iter().all(|e| e.actor == ACTOR),
        "history names the actor"
    );
}

/// An update's entry records the fields it changed.
pub async fn history_records_the_field_level_changes(storage: &dyn Storage, prefix: &str) {
    let (_, history) = tree_history(storage, prefix, "conf_history_changes").await;
    if history.is_empty() {
        return;
    }
    let update = history
        .iter()
        .find(|e| e.action == Action::Updated)
        .unwrap();
    assert_eq!(
        update.changes.state.as_ref().map(|s| s.current),
        Some(State::Global),
        "history records the field-level changes"
    );
}

/// The history of a switch covers its descendants, not a sibling whose
/// name starts with the switch's.
pub async fn history_of_a_tree_covers_its_descendants_not_its_siblings(
    storage: &dyn Storage,
    prefix: &str,
) {
    let (_, history) = tree_history(storage, prefix, "conf_history_tree").await;
    if history.is_empty() {
        return;
    }
    assert_eq!(
        history.len(),
        7,
        "a tree's history covers its descendants (3 registered, 1 updated, 3 unregistered), not its siblings"
    );
}

/// `history` returns at most `limit` entries.
pub async fn history_honours_the_limit(storage: &dyn Storage, prefix: &str) {
    let (a, history) = tree_history(storage, prefix, "conf_history_limit").await;
    if history.is_empty() {
        return;
    }
    assert!(
        storage.history(Some(&a), 2).await.unwrap().len() == 2,
        "history honours the limit"
    );
}
