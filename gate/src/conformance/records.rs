//! The rules of single records: `get`, `insert`, `update`, `load` and
//! `remove_tree`.

use super::{key, ACTOR};
use crate::error::Error;
use crate::key::SwitchKey;
use crate::storage::Storage;
use crate::switch::{State, Switch};

/// Inserts `conf_<name>` under `prefix`; its key and the stored switch.
async fn inserted(storage: &dyn Storage, prefix: &str, name: &str) -> (SwitchKey, Switch) {
    let k = key(prefix, name);
    let stored = storage.insert(&k, ACTOR, Switch::new(name)).await.unwrap();
    (k, stored)
}

/// `get` of a key never written is `None`.
pub async fn get_of_a_missing_key_is_none(storage: &dyn Storage, prefix: &str) {
    assert_eq!(
        storage.get(&key(prefix, "conf_get_missing")).await.unwrap(),
        None,
        "get of a missing key is None"
    );
}

/// `insert` stores version 1, and `get` returns what it stored.
pub async fn insert_stores_version_1(storage: &dyn Storage, prefix: &str) {
    let (a, stored) = inserted(storage, prefix, "conf_insert").await;
    assert_eq!(stored.version, 1, "insert stores version 1");
    assert_eq!(
        storage.get(&a).await.unwrap(),
        Some(stored),
        "get returns what insert stored"
    );
    storage.remove_tree(&a, ACTOR).await.unwrap();
}

/// A second `insert` of a key is `AlreadyExists`.
pub async fn a_second_insert_is_already_exists(storage: &dyn Storage, prefix: &str) {
    let (a, _) = inserted(storage, prefix, "conf_insert_twice").await;
    assert!(
        matches!(
            storage
                .insert(&a, ACTOR, Switch::new("conf_insert_twice"))
                .await,
            Err(Error::AlreadyExists { .. })
        ),
        "a second insert of the same key is AlreadyExists"
    );
    storage.remove_tree(&a, ACTOR).await.unwrap();
}

/// `update` returns the previous switch and the new one, one version up.
pub async fn update_returns_the_previous_switch_and_bumps_the_version(
    storage: &dyn Storage,
    prefix: &str,
) {
    let (a, stored) = inserted(storage, prefix, "conf_update").await;
    let (previous, current) = storage
        .update(&a, ACTOR, stored.clone().state(State::Global))
        .await
        .unwrap();
    assert_eq!(previous, stored, "update returns the previous switch");
    assert_eq!(current.version, 2, "update bumps the version");
    assert_eq!(current.state, State::Global);
    storage.remove_tree(&a, ACTOR).await.unwrap();
}

/// An `update` from a stale version is a `Conflict` and writes nothing.
pub async fn a_stale_update_is_a_conflict_and_writes_nothing(storage: &dyn Storage, prefix: &str) {
    let (a, stored) = inserted(storage, prefix, "conf_stale").await;
    storage
        .update(&a, ACTOR, stored.clone().state(State::Global))
        .await
        .unwrap();
    let stale = storage
        .update(&a, ACTOR, stored.clone().state(State::Selective))
        .await;
    assert!(
        matches!(
            stale,
            Err(Error::Conflict {
                expected: 1,
                found: 2,
                ..
            })
        ),
        "an update from a stale version is a Conflict, got {stale:?}"
    );
    assert_eq!(
        storage.get(&a).await.unwrap().unwrap().state,
        State::Global,
        "a conflict writes nothing"
    );
    storage.remove_tree(&a, ACTOR).await.unwrap();
}

/// `update` of a key never written is `NotFound`.
pub async fn update_of_a_missing_key_is_not_found(storage: &dyn Storage, prefix: &str) {
    assert!(
        matches!(
            storage
                .update(
                    &key(prefix, "conf_missing"),
                    ACTOR,
                    Switch::new("conf_missing")
                )
                .await,
            Err(Error::NotFound { .. })
        ),
        "update of a missing key is NotFound"
    );
}

/// A switch `conf_<base>`, its child and grandchild, and a sibling whose
/// name starts with the switch's (`conf_<base>b`), inserted; their keys
/// in that order.
pub(super) async fn tree(storage: &dyn Storage, prefix: &str, base: &str) -> [SwitchKey; 4] {
    let names = [
        base.to_owned(),
        format!("{base}:b"),
        format!("{base}:b:c"),
        format!("{base}b"),
    ];
    let keys = names.clone().map(|name| key(prefix, &name));
    for (k, name) in keys.iter().zip(names) {
        storage.insert(k, ACTOR, Switch::new(name)).await.unwrap();
    }
    keys
}

/// `load` returns every stored key.
pub async fn load_returns_every_key(storage: &dyn Storage, prefix: &str) {
    let keys = tree(storage, prefix, "conf_load").await;
    let all = storage.load().await.unwrap();
    for k in &keys {
        assert!(all.iter().any(|r| &r.key == k), "load returns {k}");
    }
    for k in [&keys[0], &keys[3]] {
        storage.remove_tree(k, ACTOR).await.unwrap();
    }
}

/// `remove_tree` removes a switch and its descendants, not a sibling whose
/// name starts with the switch's; removing again removes nothing.
pub async fn remove_tree_removes_the_key_and_its_descendants_only(
    storage: &dyn Storage,
    prefix: &str,
) {
    let [a, child, grandchild, other] = tree(storage, prefix, "conf_remove").await;
    let mut removed: Vec<SwitchKey> = storage
        .remove_tree(&a, ACTOR)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.key)
        .collect();
    removed.sort();
    assert_eq!(
        removed,
        vec![a.clone(), child, grandchild],
        "remove_tree removes the key and its descendants only"
    );
    assert!(
        storage.get(&other).await.unwrap().is_some(),
        "a sibling sharing the prefix survives"
    );
    assert!(
        storage.remove_tree(&a, ACTOR).await.unwrap().is_empty(),
        "removing again removes nothing"
    );
    storage.remove_tree(&other, ACTOR).await.unwrap();
}
