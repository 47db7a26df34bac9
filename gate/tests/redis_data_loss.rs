//! The store losing its data (restarted without persistence, flushed) is a
//! fault, not a change: nodes keep serving their last state, report it,
//! keep their snapshot file, and the operator restores the store. A
//! private redis-server per test.

mod redis_support;

use std::path::{Path, PathBuf};
use std::time::Duration;

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
    eventually("b follows", SOON, || b.active("beta", "alice") && b.active("kill_switch", ())).await;
    eventually("the snapshots are written", SOON, || {
        ["a.json", "b.json"].iter().all(|f| {
            std::fs::read_to_string(dir.join(f)).is_ok_and(|s| s.contains("alice") && s.contains("kill_switch"))
        })
    })
    .await;
    let before = std::fs::read_to_string(dir.join("b.json")).unwrap();

    server.restart().await;
    eventually("both reconnect", SOON, || a.sync_status().connected && b.sync_status().connected).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    for node in [&a, &b] {
        assert!(node.active("kill_switch", ()), "the global switch stays on");
        assert!(node.active("beta", "alice"));
        assert!(node.active("beta", "443301"), "bucket 5 < 10");
    }
    assert_eq!(std::fs::read_to_string(dir.join("b.json")).unwrap(), before, "the snapshot is kept");
    std::fs::remove_dir_all(&dir).unwrap();
}
