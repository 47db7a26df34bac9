//! The rules of the rollout shortcuts (`apply_shortcut`): each is one
//! write (or none if the change is already there) with one audit entry,
//! on whatever is stored; the numbers of the switch's conditions survive
//! exactly.

use std::collections::BTreeSet;

use super::{key, ACTOR};
use crate::condition::Condition;
use crate::history::Action;
use crate::key::SwitchKey;
use crate::operator::{Operator, Percentage};
use crate::storage::{Shortcut, ShortcutRequest, Storage};
use crate::switch::{State, Switch};

/// The allow-list shortcut that creates the switch.
fn allow_two() -> Shortcut {
    Shortcut::Allow(vec!["a".into(), "b".into()])
}

/// Conditions whose numbers a careless encoding would round.
fn numbers() -> Vec<Condition> {
    vec![
        Condition::new("User", "big", Operator::equals(i64::MAX).unwrap()).unwrap(),
        Condition::new("User", "sum", Operator::less_than(0.1 + 0.2).unwrap()).unwrap(),
        Condition::new(
            "User",
            "odd",
            Operator::more_than(-9_007_199_254_740_993i64).unwrap(),
        )
        .unwrap(),
    ]
}

/// Every kind of shortcut, each also given when it changes nothing.
fn steps() -> Vec<Shortcut> {
    let many: Vec<String> = (0..1000).map(|i| format!("id-{i}")).collect();
    vec![
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
    ]
}

async fn entries(storage: &dyn Storage) -> usize {
    storage.history(None, usize::MAX).await.unwrap().len()
}

/// Applies every one of [`steps`] to `conf_<name>` (created by a shortcut,
/// then given the [`numbers`]), checking that each returns and stores what
/// it implies and, with `audit`, its audit entry. Returns the key.
async fn walk(storage: &dyn Storage, prefix: &str, name: &str, audit: bool) -> SwitchKey {
    let s = key(prefix, name);
    let created = storage
        .apply_shortcut(ShortcutRequest::new(&s, ACTOR, &allow_two()))
        .await
        .unwrap();
    let mut expected = created.switch;
    expected.conditions = numbers();
    expected = storage.update(&s, ACTOR, expected).await.unwrap().1;
    let keeps_history = entries(storage).await > 0;
    for (i, shortcut) in steps().iter().enumerate() {
        let before = entries(storage).await;
        let mut next = expected.clone();
        shortcut.apply(&mut next);
        let changed = next != expected;
        if changed {
            next.version += 1;
        }
        // Half the calls give the caller's copy, as a manager does.
        let known = (i % 2 == 1).then_some(&expected);
        let applied = storage
            .apply_shortcut(ShortcutRequest::new(&s, ACTOR, shortcut).known(known))
            .await
            .unwrap();
        assert!(applied.exact);
        assert_eq!(
            applied.switch, next,
            "{shortcut:?} returns the switch as stored"
        );
        assert_eq!(
            storage.get(&s).await.unwrap().as_ref(),
            Some(&next),
            "{shortcut:?} stores what the shortcut implies"
        );
        if audit && keeps_history {
            check_entry(storage, &s, shortcut, &expected, &next, before).await;
        }
        expected = next;
    }
    s
}

/// The audit entry of one shortcut that turned `expected` into `next`:
/// one entry if it wrote, none if not.
async fn check_entry(
    storage: &dyn Storage,
    s: &SwitchKey,
    shortcut: &Shortcut,
    expected: &Switch,
    next: &Switch,
    before: usize,
) {
    let changed = next.version != expected.version;
    let after = storage.history(Some(s), usize::MAX).await.unwrap();
    assert_eq!(
        entries(storage).await,
        before + usize::from(changed),
        "{shortcut:?}: one audit entry per write, none without one"
    );
    if !changed {
        return;
    }
    let entry = &after[0];
    assert_eq!(
        entry.version, next.version,
        "{shortcut:?}: the entry's version"
    );
    match shortcut {
        Shortcut::Allow(ids) => {
            assert_eq!(entry.action, Action::Allowed);
            let users = entry.changes.users.as_ref().unwrap();
            let added = ids.iter().filter(|id| !expected.users.contains(id));
            let added: BTreeSet<&String> = added.collect();
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

/// A shortcut on a missing switch creates it, selective, at version 1.
pub async fn a_shortcut_on_a_missing_switch_creates_it(storage: &dyn Storage, prefix: &str) {
    let s = key(prefix, "conf_shortcut_create");
    let created = storage
        .apply_shortcut(ShortcutRequest::new(&s, ACTOR, &allow_two()))
        .await
        .unwrap();
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
    storage.remove_tree(&s, ACTOR).await.unwrap();
}

/// Each shortcut returns and stores the switch it implies, whether given
/// the caller's copy or not; one that changes nothing writes nothing.
pub async fn each_shortcut_stores_what_it_implies(storage: &dyn Storage, prefix: &str) {
    let s = walk(storage, prefix, "conf_shortcut_store", false).await;
    storage.remove_tree(&s, ACTOR).await.unwrap();
}

/// Each shortcut that writes records one audit entry saying what it
/// changed (added or removed ids for the allow-list ones); one that
/// changes nothing records none.
pub async fn each_shortcut_writes_one_audit_entry_or_none(storage: &dyn Storage, prefix: &str) {
    let s = walk(storage, prefix, "conf_shortcut_audit", true).await;
    storage.remove_tree(&s, ACTOR).await.unwrap();
}

/// The numbers of the switch's conditions survive every shortcut exactly.
pub async fn the_conditions_numbers_survive_every_shortcut(storage: &dyn Storage, prefix: &str) {
    let s = walk(storage, prefix, "conf_shortcut_numbers", false).await;
    assert_eq!(
        storage.get(&s).await.unwrap().unwrap().conditions[..3],
        numbers()[..],
        "the conditions' numbers survive every shortcut exactly"
    );
    storage.remove_tree(&s, ACTOR).await.unwrap();
}
