//! The store losing its data (restarted without persistence, flushed) is a
//! fault, not a change: nodes keep serving their last state, report it,
//! keep their snapshot file, and the operator restores the store. A
//! private redis-server per test.

mod redis_support;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gate::storage::ReplicaSource;
use gate::Manager;
use redis_support::{eventually, Server};

const SOON: Duration = Duration::from_secs(5);

async fn node(server: &Server, snapshot: &Path) -> Manager {
    Manager::builder()
        .redis(server.url())
        .prefix("loss")
        .snapshot_file(snapshot)
        .resync_interval(Duration::from_millis(50))
        .timeout(Duration::from_millis(500))
        .build()
        .await
        .unwrap()
}

fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gate-data-loss-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_restarted_empty_switches_nothing_off() {
    let dir = temp_dir("restart");
    let mut server = Server::start().await;
    let a = node(&server, &dir.join("a.json")).await;
    let b = node(&server, &dir.join("b.json")).await;
    a.enable_for_all("kill_switch").await.unwrap();
    a.allow("beta", "alice").await.unwrap();
    a.set_percentage("beta", 10).await.unwrap();
    eventually("b follows", SOON, || {
        b.active("beta", "alice") && b.active("kill_switch", ())
    })
    .await;
    eventually("the snapshots are written", SOON, || {
        ["a.json", "b.json"].iter().all(|f| {
            std::fs::read_to_string(dir.join(f)).is_ok_and(|s| {
                s.contains("alice") && s.contains("kill_switch") && s.contains("percent")
            })
        })
    })
    .await;
    let before = std::fs::read_to_string(dir.join("b.json")).unwrap();

    server.restart().await;
    eventually("both reconnect", SOON, || {
        a.sync_status().connected && b.sync_status().connected
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    for node in [&a, &b] {
        assert!(node.active("kill_switch", ()), "the global switch stays on");
        assert!(node.active("beta", "alice"));
        assert!(node.active("beta", "443301"), "bucket 5 < 10");
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("b.json")).unwrap(),
        before,
        "the snapshot is kept"
    );
    for node in [&a, &b] {
        let status = node.sync_status();
        assert!(status.connected, "{status:?}");
        assert!(
            status
                .data_loss
                .as_deref()
                .is_some_and(|m| m.contains("lost its data")),
            "{status:?}"
        );
    }

    // A write made meanwhile is followed; nothing else changes.
    a.enable_for_all("new_meanwhile").await.unwrap();
    eventually("b follows a new write", SOON, || {
        b.active("new_meanwhile", ())
    })
    .await;
    assert!(b.active("kill_switch", ()));
    assert_eq!(
        std::fs::read_to_string(dir.join("b.json")).unwrap(),
        before,
        "the snapshot is still kept"
    );

    // The operator restores from a snapshot file: the store is back, the
    // switch written meanwhile left as it is.
    let operator = Manager::builder()
        .redis(server.url())
        .prefix("loss")
        .build()
        .await
        .unwrap();
    let restored = operator.restore_from(dir.join("b.json")).await.unwrap();
    assert_eq!(restored.created, ["beta", "kill_switch"]);
    assert!(
        restored.kept.is_empty() && restored.invalid.is_empty(),
        "{restored:?}"
    );
    assert!(operator.active("beta", "alice") && operator.active("beta", "443301"));
    eventually("the nodes follow the store again", SOON, || {
        a.sync_status().data_loss.is_none() && b.sync_status().data_loss.is_none()
    })
    .await;
    // Following again: a change and a delete propagate, the snapshot moves.
    operator.disable("kill_switch").await.unwrap();
    operator.unregister("new_meanwhile").await.unwrap();
    eventually("both follow", SOON, || {
        [&a, &b]
            .iter()
            .all(|n| !n.active("kill_switch", ()) && n.switch("new_meanwhile").is_none())
    })
    .await;
    eventually("the snapshot is written again", SOON, || {
        std::fs::read_to_string(dir.join("b.json")).unwrap() != before
    })
    .await;
    let _ = std::fs::remove_dir_all(&dir); // a node may still be writing its file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_deletes_still_empty_the_replicas() {
    let dir = temp_dir("deletes");
    let server = Server::start().await;
    let a = node(&server, &dir.join("a.json")).await;
    let b = node(&server, &dir.join("b.json")).await;
    a.enable_for_all("one").await.unwrap();
    a.enable_for_all("two").await.unwrap();
    eventually("b follows", SOON, || b.active("two", ())).await;
    a.unregister("one").await.unwrap();
    b.unregister("two").await.unwrap();
    eventually("both are empty", SOON, || {
        a.switches().is_empty() && b.switches().is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(a.sync_status().data_loss.is_none() && b.sync_status().data_loss.is_none());
    eventually("the snapshot is empty", SOON, || {
        std::fs::read_to_string(dir.join("b.json")).is_ok_and(|s| !s.contains("two"))
    })
    .await;
    // Even a flush now loses nothing: there is nothing to lose.
    let mut c = redis_support::connection(&server.url()).await;
    let _: () = redis::cmd("FLUSHALL").query_async(&mut c).await.unwrap();
    a.enable_for_all("three").await.unwrap();
    eventually("b follows", SOON, || b.active("three", ())).await;
    // Several resyncs later (every 50 ms), still none: the nodes hold
    // only what was written since the flush, which the store has.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(b.sync_status().data_loss.is_none());
    assert!(a.sync_status().data_loss.is_none(), "{:?}", a.sync_status());
    let _ = std::fs::remove_dir_all(&dir); // a node may still be writing its file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_restarting_on_an_emptied_store_serves_its_snapshot() {
    let dir = temp_dir("reboot");
    let snapshot = dir.join("node.json");
    let mut server = Server::start().await;
    let before = node(&server, &snapshot).await;
    before.enable_for_all("kill_switch").await.unwrap();
    eventually("the snapshot is written", SOON, || {
        std::fs::read_to_string(&snapshot).is_ok_and(|s| s.contains("kill_switch"))
    })
    .await;
    drop(before);
    // The whole machine reboots: Redis comes back empty, the node starts.
    server.restart().await;
    let lost = Arc::new(AtomicUsize::new(0));
    let counter = lost.clone();
    let after = Manager::builder()
        .redis(server.url())
        .prefix("loss")
        .snapshot_file(&snapshot)
        .with_signals(move |signals| {
            signals.store_data_lost.connect(move |_| {
                counter.fetch_add(1, Ordering::Relaxed);
            });
        })
        .build()
        .await
        .unwrap();
    assert!(after.active("kill_switch", ()), "served from the snapshot");
    let status = after.sync_status();
    assert!(status.connected && status.data_loss.is_some(), "{status:?}");
    assert_eq!(status.source, ReplicaSource::SnapshotFile);
    assert_eq!(lost.load(Ordering::Relaxed), 1);
    assert!(std::fs::read_to_string(&snapshot)
        .unwrap()
        .contains("kill_switch"));
    let _ = std::fs::remove_dir_all(&dir); // a node may still be writing its file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_built_to_republish_writes_its_state_back() {
    let dir = temp_dir("republish");
    let mut server = Server::start().await;
    let a = Manager::builder()
        .redis(server.url())
        .prefix("loss")
        .resync_interval(Duration::from_millis(50))
        .republish_on_data_loss(true)
        .build()
        .await
        .unwrap();
    let b = node(&server, &dir.join("b.json")).await;
    a.enable_for_all("kill_switch").await.unwrap();
    a.allow("beta", "alice").await.unwrap();
    eventually("b follows", SOON, || b.active("beta", "alice")).await;
    server.restart().await;
    eventually(
        "a re-publishes and every node follows the store again",
        SOON,
        || {
            a.sync_status().data_loss.is_none()
                && b.sync_status().data_loss.is_none()
                && b.sync_status().connected
        },
    )
    .await;
    let fresh = node(&server, &dir.join("fresh.json")).await;
    assert!(fresh.active("kill_switch", ()) && fresh.active("beta", "alice"));
    assert_eq!(
        fresh.history(Some("beta"), 1).await.unwrap()[0].actor,
        gate::storage::REPUBLISH_ACTOR
    );
    let _ = std::fs::remove_dir_all(&dir); // a node may still be writing its file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deliberate_flush_is_accepted_with_mark_restored() {
    let dir = temp_dir("as-is");
    let server = Server::start().await;
    let a = node(&server, &dir.join("a.json")).await;
    a.enable_for_all("old").await.unwrap();
    let mut c = redis_support::connection(&server.url()).await;
    let _: () = redis::cmd("FLUSHALL").query_async(&mut c).await.unwrap();
    eventually("the loss is seen", SOON, || {
        a.sync_status().data_loss.is_some()
    })
    .await;
    assert!(a.active("old", ()));
    let operator = Manager::builder()
        .redis(server.url())
        .prefix("loss")
        .build()
        .await
        .unwrap();
    operator.mark_restored().await.unwrap();
    eventually("the node takes the store as it is", SOON, || {
        a.sync_status().data_loss.is_none() && a.switch("old").is_none()
    })
    .await;
    let _ = std::fs::remove_dir_all(&dir); // a node may still be writing its file
}
