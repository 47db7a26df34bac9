//! The in-memory storage follows the storage conformance suite, one test
//! per rule, alone and behind an `Arc` (the blanket impl); two managers
//! can share one.

use gate::SwitchKey;
use std::sync::Arc;

use gate::{Manager, MemoryStorage, State, Storage, Switch};

gate::conformance_tests!(conformance, |_rule| async { gate::MemoryStorage::new() });

gate::conformance_tests!(conformance_arc, |_rule| async {
    std::sync::Arc::new(gate::MemoryStorage::new())
});

gate::conformance_tests!(conformance_boxed, |_rule| async {
    let boxed: Box<dyn gate::Storage> = Box::new(gate::MemoryStorage::new());
    boxed
});

#[tokio::test]
async fn two_managers_share_one_memory_storage() {
    let shared = Arc::new(MemoryStorage::new());
    let a = Manager::builder()
        .storage(shared.clone())
        .build()
        .as_actor("alice");
    let b = Manager::builder()
        .storage(shared.clone())
        .build()
        .as_actor("bob");

    a.register(Switch::new("beta")).await.unwrap();
    // The write is in the one storage: B reads it there, and its history
    // is A's.
    let stored = shared
        .get(&SwitchKey::parse("beta"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.version, 1);
    let entries = b.history(Some("beta"), 10).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].actor, "alice");

    // A memory storage has no change feed: B's replica learns of A's
    // write when it reloads (or writes the switch itself).
    assert!(b.switch("beta").is_none());
    b.reload().await.unwrap();
    assert_eq!(b.switch("beta").unwrap().version, 1);

    // B writes over A's version; A sees it after a reload.
    let global = b.enable_for_all("beta").await.unwrap();
    assert_eq!((global.version, global.state), (2, State::Global));
    assert_eq!(a.switch("beta").unwrap().state, State::Disabled);
    a.reload().await.unwrap();
    assert_eq!(a.switch("beta").unwrap(), global);
    assert!(a.active("beta", ()));

    // A manager built after the writes starts with them (the memory
    // storage answers at once, through the Arc).
    let c = Manager::builder().storage(shared.clone()).build();
    assert_eq!(c.switch("beta").unwrap(), global);
    assert_eq!(shared.history(None, 10).await.unwrap().len(), 2);
}
