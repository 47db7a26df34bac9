//! The storage conformance suite: the rules every [`Storage`] must follow.

use crate::error::Error;
use crate::storage::Storage;
use crate::switch::{State, Switch};

/// Runs the conformance suite against `storage`, which must be empty (or
/// hold nothing under `prefix`). Panics with a message naming the broken
/// rule.
///
/// Every storage gate ships runs it; run it against your own.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// gate::testing::conformance(&gate::MemoryStorage::new(), "").await;
/// # });
/// ```
pub async fn conformance(storage: &dyn Storage, prefix: &str) {
    let key = |name: &str| {
        if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}.{name}")
        }
    };
    let (a, child, grandchild, other) = (
        key("conf_a"),
        key("conf_a:b"),
        key("conf_a:b:c"),
        key("conf_ab"),
    );

    assert_eq!(
        storage.get(&a).await.unwrap(),
        None,
        "get of a missing key is None"
    );

    let stored = storage.insert(&a, Switch::new("conf_a")).await.unwrap();
    assert_eq!(stored.version, 1, "insert stores version 1");
    assert_eq!(
        storage.get(&a).await.unwrap(),
        Some(stored.clone()),
        "get returns what insert stored"
    );
    assert!(
        matches!(
            storage.insert(&a, Switch::new("conf_a")).await,
            Err(Error::AlreadyExists { .. })
        ),
        "a second insert of the same key is AlreadyExists"
    );

    let (previous, current) = storage
        .update(&a, stored.clone().state(State::Global))
        .await
        .unwrap();
    assert_eq!(previous, stored, "update returns the previous switch");
    assert_eq!(current.version, 2, "update bumps the version");
    assert_eq!(current.state, State::Global);

    let stale = storage
        .update(&a, stored.clone().state(State::Selective))
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

    assert!(
        matches!(
            storage
                .update(&key("conf_missing"), Switch::new("conf_missing"))
                .await,
            Err(Error::NotFound { .. })
        ),
        "update of a missing key is NotFound"
    );

    for (k, name) in [
        (&child, "conf_a:b"),
        (&grandchild, "conf_a:b:c"),
        (&other, "conf_ab"),
    ] {
        storage.insert(k, Switch::new(name)).await.unwrap();
    }
    let all = storage.load().await.unwrap();
    for k in [&a, &child, &grandchild, &other] {
        assert!(all.iter().any(|r| &r.key == k), "load returns {k}");
    }

    let mut removed: Vec<String> = storage
        .remove_tree(&a)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.key)
        .collect();
    removed.sort();
    assert_eq!(
        removed,
        vec![a.clone(), child.clone(), grandchild.clone()],
        "remove_tree removes the key and its descendants only"
    );
    assert!(
        storage.get(&other).await.unwrap().is_some(),
        "a sibling sharing the prefix survives"
    );
    assert!(
        storage.remove_tree(&a).await.unwrap().is_empty(),
        "removing again removes nothing"
    );
    storage.remove_tree(&other).await.unwrap();
}
