//! Bad records written into Redis by another tool: each one skips that
//! switch only, is reported once, and never stops a node from loading or
//! following the others. A private redis-server per test.

mod redis_support;

use std::time::Duration;

use gate::Manager;
use redis_support::{eventually, Server};

const SOON: Duration = Duration::from_secs(5);

async fn node(server: &Server) -> Manager {
    Manager::builder()
        .redis(server.url())
        .prefix("bad")
        .resync_interval(Duration::from_millis(50))
        .timeout(Duration::from_millis(500))
        .build()
        .await
        .unwrap()
}

async fn redis_cmd(server: &Server, args: &[&str]) {
    let mut c = redis_support::connection(&server.url()).await;
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    let _: redis::Value = cmd.query_async(&mut c).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_version_or_allow_list_skips_that_switch_only() {
    let server = Server::start().await;
    let writer = node(&server).await;
    writer.enable_for_all("good").await.unwrap();
    writer.allow("listed", "alice").await.unwrap();
    writer.enable_for_all("versioned").await.unwrap();
    let running = node(&server).await;
    assert!(running.active("listed", "alice"));

    redis_cmd(&server, &["HSET", "bad:versions", "versioned", "not-a-number"]).await;
    redis_cmd(&server, &["DEL", "bad:users:listed"]).await;
    redis_cmd(&server, &["SET", "bad:users:listed", "alice"]).await;

    // A new node loads the good switch.
    let fresh = node(&server).await;
    assert!(fresh.sync_status().connected, "{:?}", fresh.sync_status());
    assert!(fresh.active("good", ()), "the good switch is loaded");
    assert!(fresh.switch("versioned").is_none());
    assert!(fresh.switch("listed").is_none());

    // A running node stays connected, keeps its last good copies and
    // follows changes.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(running.sync_status().connected, "{:?}", running.sync_status());
    assert!(running.active("listed", "alice"), "the last good copy is served");
    assert!(running.active("versioned", ()));
    writer.enable_for_all("later").await.unwrap();
    eventually("both follow a new write", SOON, || {
        running.active("later", ()) && fresh.active("later", ())
    })
    .await;
}
