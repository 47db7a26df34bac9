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
        .map(|e| e.key)
        .collect();
    assert_eq!(in_germany, ["germany.bavaria.beer", "germany.booze"]);
    let booze = germany.history(Some("booze"), 10).await.unwrap();
    assert_eq!(booze.len(), 1);
    assert_eq!(booze[0].action, Action::Registered);
    let users = booze[0].users.as_ref().unwrap();
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
        all[0].changes["description"].current,
        (DEFAULT_HISTORY_CAPACITY + 4).to_string()
    );
}
