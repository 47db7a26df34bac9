//! The storage conformance suite: the rules every [`Storage`] must follow.

use crate::error::Error;
use crate::history::Action;
use crate::storage::{BatchWrite, Storage};
use crate::switch::{State, Switch};

/// The actor the suite's writes are recorded as.
const ACTOR: &str = "conformance";

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

    let stored = storage
        .insert(&a, ACTOR, Switch::new("conf_a"))
        .await
        .unwrap();
    assert_eq!(stored.version, 1, "insert stores version 1");
    assert_eq!(
        storage.get(&a).await.unwrap(),
        Some(stored.clone()),
        "get returns what insert stored"
    );
    assert!(
        matches!(
            storage.insert(&a, ACTOR, Switch::new("conf_a")).await,
            Err(Error::AlreadyExists { .. })
        ),
        "a second insert of the same key is AlreadyExists"
    );

    let (previous, current) = storage
        .update(&a, ACTOR, stored.clone().state(State::Global))
        .await
        .unwrap();
    assert_eq!(previous, stored, "update returns the previous switch");
    assert_eq!(current.version, 2, "update bumps the version");
    assert_eq!(current.state, State::Global);

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

    assert!(
        matches!(
            storage
                .update(&key("conf_missing"), ACTOR, Switch::new("conf_missing"))
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
        storage.insert(k, ACTOR, Switch::new(name)).await.unwrap();
    }
    let all = storage.load().await.unwrap();
    for k in [&a, &child, &grandchild, &other] {
        assert!(all.iter().any(|r| &r.key == k), "load returns {k}");
    }

    let mut removed: Vec<String> = storage
        .remove_tree(&a, ACTOR)
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
        storage.remove_tree(&a, ACTOR).await.unwrap().is_empty(),
        "removing again removes nothing"
    );

    // The audit trail, for a storage that keeps one: every successful
    // write of `a`'s tree, newest first, and nothing for failed ones.
    let history = storage.history(Some(&a), 100).await.unwrap();
    if !history.is_empty() {
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
        assert!(
            history.iter().all(|e| e.actor == ACTOR),
            "history names the actor"
        );
        let update = history
            .iter()
            .find(|e| e.action == Action::Updated)
            .unwrap();
        assert_eq!(
            update.changes["state"].current, "global",
            "history records the field-level changes"
        );
        assert_eq!(
            history.len(),
            7,
            "a tree's history covers its descendants (3 registered, 1 updated, 3 unregistered), not its siblings"
        );
        assert!(
            storage.history(Some(&a), 2).await.unwrap().len() == 2,
            "history honours the limit"
        );
    }
    storage.remove_tree(&other, ACTOR).await.unwrap();

    // Batches: all or nothing.
    let (x, y) = (key("conf_batch_x"), key("conf_batch_y"));
    let y1 = storage
        .insert(&y, ACTOR, Switch::new("conf_batch_y"))
        .await
        .unwrap();
    let history_before = storage.history(None, usize::MAX).await.unwrap().len();
    let stale = Switch {
        version: y1.version + 7,
        ..y1.clone().state(State::Global)
    };
    let failed = storage
        .write_batch(
            ACTOR,
            vec![
                (x.clone(), BatchWrite::Create(Switch::new("conf_batch_x"))),
                (y.clone(), BatchWrite::Update(stale)),
            ],
        )
        .await;
    assert!(
        matches!(failed, Err(Error::Conflict { .. })),
        "a batch with a stale update is a Conflict, got {failed:?}"
    );
    assert_eq!(
        storage.get(&x).await.unwrap(),
        None,
        "a failed batch writes nothing, not even its valid writes"
    );
    let taken = storage
        .write_batch(
            ACTOR,
            vec![(y.clone(), BatchWrite::Create(Switch::new("conf_batch_y")))],
        )
        .await;
    assert!(
        matches!(taken, Err(Error::AlreadyExists { .. })),
        "creating a taken key in a batch is AlreadyExists, got {taken:?}"
    );
    assert_eq!(
        storage.history(None, usize::MAX).await.unwrap().len(),
        history_before,
        "a failed batch records nothing in the history"
    );
    let done = storage
        .write_batch(
            ACTOR,
            vec![
                (x.clone(), BatchWrite::Create(Switch::new("conf_batch_x"))),
                (
                    y.clone(),
                    BatchWrite::Update(y1.clone().state(State::Global)),
                ),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        done.iter().map(|s| s.version).collect::<Vec<_>>(),
        [1, y1.version + 1],
        "a batch returns the switches as stored, in order"
    );
    assert_eq!(storage.get(&y).await.unwrap().unwrap().state, State::Global);
    assert!(storage.get(&x).await.unwrap().is_some());
    let recorded = storage.history(None, usize::MAX).await.unwrap().len();
    assert!(
        recorded == history_before + 2 || history_before == 0,
        "each write of a batch is in the history ({history_before} → {recorded})"
    );
    storage.remove_tree(&x, ACTOR).await.unwrap();
    storage.remove_tree(&y, ACTOR).await.unwrap();
}
