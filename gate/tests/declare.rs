//! `Manager::declare`: the switches an app uses are created with their
//! defaults where missing, left alone where they exist, and the app does
//! not wait for (or fail on) a storage that is down at start-up.

use std::time::Duration;

use gate::{Error, Manager, State, Switch};

mod redis_support;
use redis_support::{eventually, Server};

fn app_switches() -> Vec<Switch> {
    vec![
        Switch::new("checkout").state(State::Disabled),
        Switch::new("search").state(State::Global),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_switches_are_created_once_redis_answers() {
    let mut server = Server::start().await;
    server.kill();
    let manager = Manager::builder()
        .redis(server.url())
        .prefix("declare")
        .timeout(Duration::from_millis(200))
        .build()
        .await
        .expect("a manager starts while Redis is down");

    // Returns at once, although nothing can be written yet.
    let declaration = manager.declare(app_switches()).unwrap();
    assert!(!manager.active("search", "42"), "not there yet");
    tokio::time::sleep(Duration::from_millis(500)).await;

    server.restart().await;
    let declared = tokio::time::timeout(Duration::from_secs(20), declaration.done())
        .await
        .expect("declared within 20 s of Redis answering")
        .unwrap();
    assert_eq!(declared.created, ["checkout", "search"]);
    assert!(declared.existing.is_empty() && declared.failed.is_empty());
    eventually("the replica has them", Duration::from_secs(10), || {
        manager.active("search", "42") && manager.switch("checkout").is_some()
    })
    .await;

    // Another node (or the next start) declares the same: nothing changes,
    // and an operator's change is kept.
    manager.enable_for_all("checkout").await.unwrap();
    let other = Manager::builder()
        .redis(server.url())
        .prefix("declare")
        .build()
        .await
        .unwrap();
    let again = other.declare(app_switches()).unwrap().done().await.unwrap();
    assert!(again.created.is_empty(), "{again:?}");
    assert_eq!(again.existing, ["checkout", "search"]);
    assert!(other.switch("checkout").unwrap().state == State::Global);
}

#[test]
fn a_bad_declaration_is_refused_at_once_and_declares_nothing() {
    let manager = Manager::in_memory();
    let twice = manager.declare([Switch::new("a"), Switch::new("b"), Switch::new("a")]);
    match twice {
        Err(Error::Invalid { field, reason }) => {
            assert_eq!(field, "switches[2].name");
            assert!(reason.contains("declared twice"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(manager
        .declare([Switch::new("ok"), Switch::new("")])
        .is_err());
    assert!(manager.switches().is_empty(), "nothing declared");
}

#[test]
fn declare_works_without_a_runtime() {
    let manager = Manager::in_memory();
    let declaration = manager.declare(app_switches()).unwrap();
    let declared = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(declaration.done())
        .unwrap();
    assert_eq!(declared.created, ["checkout", "search"]);
    assert!(manager.active("search", "1"));
}
