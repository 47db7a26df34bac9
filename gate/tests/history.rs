//! The audit trail on the in-memory storage: actors, namespaces, the cap.

use gate::history::{Action, DEFAULT_HISTORY_CAPACITY};
use gate::{Manager, DEFAULT_ACTOR};

#[tokio::test]
async fn actors_and_namespaces() {
    let m = Manager::in_memory();
    assert_eq!(m.actor(), DEFAULT_ACTOR);
    m.enable_for_all("root_switch").await.unwrap();
    let germany = m.namespaced("germany").unwrap().as_actor("hans");
    germany.allow("booze", "fritz").await.unwrap();
    assert_eq!(germany.actor(), "hans");
    let bavaria = germany.namespaced("bavaria").unwrap();
    assert_eq!(bavaria.actor(), "hans", "a namespace keeps the actor");
    bavaria.disable("beer").await.unwrap();

    let all = m.history(None, 10).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[2].actor, DEFAULT_ACTOR);
    let in_germany: Vec<String> = germany
        .history(None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.key.to_string())
        .collect();
    assert_eq!(in_germany, ["germany.bavaria.beer", "germany.booze"]);
    let booze = germany.history(Some("booze"), 10).await.unwrap();
    assert_eq!(booze.len(), 1);
    assert_eq!(booze[0].action, Action::Registered);
    let users = booze[0].changes.users.as_ref().unwrap();
    assert_eq!(users.added, ["fritz"]);
    assert!(m.history(Some(""), 1).await.is_err(), "names are validated");
}

#[tokio::test]
async fn autocreate_and_the_cap() {
    let m = Manager::builder().autocreate(true).build();
    assert!(!m.active("fresh", ()));
    let created = m.history(Some("fresh"), 10).await.unwrap();
    assert_eq!(created[0].actor, gate::AUTOCREATE_ACTOR);

    for i in 0..DEFAULT_HISTORY_CAPACITY + 5 {
        m.modify("fresh", |s| s.description = Some(i.to_string()))
            .await
            .unwrap();
    }
    let all = m.history(None, usize::MAX).await.unwrap();
    assert_eq!(
        all.len(),
        DEFAULT_HISTORY_CAPACITY,
        "the oldest are dropped"
    );
    assert_eq!(
        all[0].changes.description.as_ref().unwrap().current,
        Some((DEFAULT_HISTORY_CAPACITY + 4).to_string())
    );
}

/// Issue 9: 290 small condition additions made an 8.3 MB file (16 MB here,
/// 113 kB now; 120 keep the test quick), each entry
/// copying the whole list of conditions twice. An entry now lists the
/// conditions added and removed.
#[tokio::test]
async fn conditions_added_one_by_one_keep_the_audit_trail_small() {
    use gate::diff::ListChange;
    use gate::{Condition, Operator};
    let dir = std::env::temp_dir().join(format!("gate-history-size-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("switches.json");
    let m = Manager::builder()
        .storage(gate::storage::FileStorage::open(&path).unwrap())
        .build();
    m.enable("grow").await.unwrap();
    for i in 0..100 {
        m.modify("grow", |s| {
            s.conditions
                .push(Condition::new("User", "age", Operator::more_than(i).unwrap()).unwrap())
        })
        .await
        .unwrap();
    }
    let file: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let history = serde_json::to_vec_pretty(&file["history"]).unwrap().len();
    let switch = serde_json::to_vec_pretty(&file["switches"]).unwrap().len();
    println!("history of 100 condition additions: {history} bytes (the switch itself: {switch})");
    assert!(
        history < 2 * switch + 100 * 300,
        "{history} bytes of history for a {switch}-byte switch"
    );
    // Each entry says which condition came.
    let last = &m.history(Some("grow"), 1).await.unwrap()[0];
    let Some(ListChange::Edited { added, removed }) = &last.changes.conditions else {
        panic!("{last:?}")
    };
    assert_eq!(*removed, Vec::<Condition>::new());
    assert_eq!(added.len(), 1);
    assert_eq!(
        added[0],
        Condition::new("User", "age", Operator::more_than(99).unwrap()).unwrap()
    );
    let json = serde_json::to_value(last).unwrap();
    assert!(json["changes"].get("conditions").is_none());
    std::fs::remove_dir_all(&dir).unwrap();
}
