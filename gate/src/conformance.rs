//! The storage conformance suite: the rules every [`Storage`] must follow.

use crate::condition::Condition;
use crate::error::Error;
use crate::history::Action;
use crate::operator::{Operator, Percentage};
use crate::storage::{BatchWrite, Shortcut, Storage};
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
            update.changes.state.as_ref().map(|s| s.current),
            Some(State::Global),
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

    shortcuts(storage, &key("conf_shortcut")).await;
}

/// The rollout shortcuts: each one write (or none if the change is already
/// there) with one audit entry, on whatever is stored; the numbers of the
/// switch's conditions survive exactly.
async fn shortcuts(storage: &dyn Storage, s: &str) {
    let entries = || async { storage.history(None, usize::MAX).await.unwrap().len() };
    let two = Shortcut::Allow(vec!["a".into(), "b".into()]);
    let created = storage.apply_shortcut(s, ACTOR, &two, None).await.unwrap();
    assert!(created.exact);
    assert_eq!(
        (
            created.switch.version,
            created.switch.state,
            created.switch.users.len()
        ),
        (1, State::Selective, 2),
        "a shortcut on a missing switch creates it, selective, at version 1"
    );
    let numbers = vec![
        Condition::new("User", "big", Operator::equals(i64::MAX).unwrap()).unwrap(),
        Condition::new("User", "sum", Operator::less_than(0.1 + 0.2).unwrap()).unwrap(),
        Condition::new(
            "User",
            "odd",
            Operator::more_than(-9_007_199_254_740_993i64).unwrap(),
        )
        .unwrap(),
    ];
    let mut expected = created.switch.clone();
    expected.conditions = numbers.clone();
    expected = storage.update(s, ACTOR, expected).await.unwrap().1;
    let keeps_history = entries().await > 0;
    let many: Vec<String> = (0..1000).map(|i| format!("id-{i}")).collect();
    let steps = [
        Shortcut::State(State::Global),
        Shortcut::State(State::Global),
        Shortcut::Toggle,
        Shortcut::Toggle,
        Shortcut::Percentage(Percentage::new(30).unwrap()),
        Shortcut::Percentage(Percentage::new(30).unwrap()),
        Shortcut::Percentage(Percentage::new(40).unwrap()),
        Shortcut::AddCondition(Condition::identity(Operator::matches("^staff-").unwrap())),
        Shortcut::AddCondition(Condition::identity(Operator::matches("^staff-").unwrap())),
        Shortcut::Allow(vec!["b".into(), "c".into(), "c".into()]),
        Shortcut::Allow(vec!["a".into()]),
        Shortcut::Disallow(vec!["a".into(), "z".into()]),
        Shortcut::Allow(many.clone()),
        Shortcut::Disallow(many),
        Shortcut::State(State::Disabled),
    ];
    for (i, shortcut) in steps.iter().enumerate() {
        let before = entries().await;
        let mut next = expected.clone();
        shortcut.apply(&mut next);
        let changed = next != expected;
        if changed {
            next.version += 1;
        }
        // Half the calls give the caller's copy, as a manager does.
        let known = (i % 2 == 1).then_some(&expected);
        let applied = storage
            .apply_shortcut(s, ACTOR, shortcut, known)
            .await
            .unwrap();
        assert!(applied.exact);
        assert_eq!(
            applied.switch, next,
            "{shortcut:?} returns the switch as stored"
        );
        assert_eq!(
            storage.get(s).await.unwrap().as_ref(),
            Some(&next),
            "{shortcut:?} stores what the shortcut implies"
        );
        if keeps_history {
            let after = storage.history(Some(s), usize::MAX).await.unwrap();
            assert_eq!(
                entries().await,
                before + usize::from(changed),
                "{shortcut:?}: one audit entry per write, none without one"
            );
            let entry = &after[0];
            if changed {
                assert_eq!(
                    entry.version, next.version,
                    "{shortcut:?}: the entry's version"
                );
                match shortcut {
                    Shortcut::Allow(ids) => {
                        assert_eq!(entry.action, Action::Allowed);
                        let users = entry.changes.users.as_ref().unwrap();
                        let added = ids.iter().filter(|id| !expected.users.contains(id));
                        let added: std::collections::BTreeSet<&String> = added.collect();
                        assert_eq!(users.added_count, added.len(), "only the ids it added");
                    }
                    Shortcut::Disallow(_) => {
                        assert_eq!(entry.action, Action::Disallowed);
                        let removed = expected.users.len() - next.users.len();
                        let users = entry.changes.users.as_ref().unwrap();
                        assert_eq!(users.removed_count, removed);
                    }
                    _ => {
                        assert_eq!(entry.action, Action::Updated);
                        assert!(
                            !entry.changes.is_empty(),
                            "{shortcut:?}: the entry says what changed"
                        );
                    }
                }
            }
        }
        expected = next;
    }
    assert_eq!(
        storage.get(s).await.unwrap().unwrap().conditions[..3],
        numbers[..],
        "the conditions' numbers survive every shortcut exactly"
    );
    storage.remove_tree(s, ACTOR).await.unwrap();
}
