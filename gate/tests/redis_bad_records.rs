//! Bad records written into Redis by another tool: each one skips that
//! switch only, is reported once, and never stops a node from loading or
//! following the others. A private redis-server per test.

mod redis_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gate::{Manager, State, Switch};
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

    redis_cmd(
        &server,
        &["HSET", "bad:versions", "versioned", "not-a-number"],
    )
    .await;
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
    assert!(
        running.sync_status().connected,
        "{:?}",
        running.sync_status()
    );
    assert!(
        running.active("listed", "alice"),
        "the last good copy is served"
    );
    assert!(running.active("versioned", ()));
    writer.enable_for_all("later").await.unwrap();
    eventually("both follow a new write", SOON, || {
        running.active("later", ()) && fresh.active("later", ())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_problem_is_reported_once_from_start_up_on() {
    let server = Server::start().await;
    let writer = node(&server).await;
    writer.enable_for_all("versioned").await.unwrap();
    writer.allow("listed", "alice").await.unwrap();
    redis_cmd(&server, &["HSET", "bad:versions", "versioned", "x1"]).await;
    redis_cmd(&server, &["DEL", "bad:users:listed"]).await;
    redis_cmd(&server, &["SET", "bad:users:listed", "alice"]).await;
    redis_cmd(&server, &["HSET", "bad:switches", "json", "{not json"]).await;

    let seen = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let log = seen.clone();
    let m = Manager::builder()
        .redis(server.url())
        .prefix("bad")
        .resync_interval(Duration::from_millis(20))
        .with_signals(move |signals| {
            signals.record_skipped.connect(move |e| {
                log.lock()
                    .unwrap()
                    .push((e.key.to_string(), e.error.clone()));
            });
        })
        .build()
        .await
        .unwrap();
    // Start-up skips reach the listener connected before the first load.
    let keys = |seen: &[(String, String)]| seen.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(keys(&seen.lock().unwrap()), ["json", "listed", "versioned"]);
    // Many resyncs later: still once each.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(seen.lock().unwrap().len(), 3, "{:?}", seen.lock().unwrap());

    // The tools list them, with why.
    let unreadable = m.unreadable();
    let listed: Vec<(&str, &str)> = unreadable
        .iter()
        .map(|r| (r.key.as_str(), r.error.as_str()))
        .collect();
    assert_eq!(listed.len(), 3);
    assert!(listed[0].1.contains("{not json"), "{listed:?}");
    assert!(
        listed[1].1.contains("bad:users:listed is not a set"),
        "{listed:?}"
    );
    assert!(
        listed[2].1.contains(r#""x1", not a whole number"#),
        "{listed:?}"
    );
    assert_eq!(m.sync_status().unreadable, 3);

    // A different problem is news; so is the same one after a fix.
    redis_cmd(&server, &["HSET", "bad:versions", "versioned", "x2"]).await;
    eventually("the new problem is reported", SOON, || {
        seen.lock().unwrap().len() == 4
    })
    .await;
    redis_cmd(&server, &["HSET", "bad:versions", "versioned", "5"]).await;
    eventually("the fixed switch is served", SOON, || {
        m.active("versioned", ())
    })
    .await;
    assert_eq!(m.unreadable().len(), 2);
    redis_cmd(&server, &["HSET", "bad:versions", "versioned", "x2"]).await;
    eventually("the old problem is reported again", SOON, || {
        seen.lock().unwrap().len() == 5
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(seen.lock().unwrap().len(), 5);
    assert!(m.active("versioned", ()), "its last good copy is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_record_is_refused_repaired_or_deleted() {
    let server = Server::start().await;
    let m = node(&server).await;
    m.allow("listed", "alice").await.unwrap();
    m.enable_for_all("versioned").await.unwrap();
    m.enable_for_all("versioned:child").await.unwrap();
    redis_cmd(&server, &["DEL", "bad:users:listed"]).await;
    redis_cmd(&server, &["SET", "bad:users:listed", "alice"]).await;
    redis_cmd(&server, &["HSET", "bad:versions", "versioned", "x"]).await;
    eventually("both are seen broken", SOON, || m.unreadable().len() == 2).await;
    let history = m.history(None, 100).await.unwrap().len();

    // Changes refuse a broken record, without writing.
    for result in [
        m.allow("listed", "bob").await,
        m.disallow("listed", "alice").await,
        m.enable("listed").await,
        m.allow("versioned", "bob").await,
        m.set_percentage("versioned", 5).await,
    ] {
        assert!(
            matches!(result, Err(gate::Error::Unreadable { .. })),
            "{result:?}"
        );
    }
    // A whole update too (a script failing halfway would leave half a
    // write).
    let mut whole = m.switch("listed").unwrap();
    whole.state = State::Global;
    whole.users.insert("zed");
    let result = m.update(whole).await;
    assert!(
        matches!(result, Err(gate::Error::Unreadable { .. })),
        "{result:?}"
    );
    let mut c = redis_support::connection(&server.url()).await;
    let record: String = redis::cmd("HGET")
        .arg("bad:switches")
        .arg("listed")
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(
        record.contains("selective"),
        "nothing was written: {record}"
    );
    let raw: String = redis::cmd("GET")
        .arg("bad:users:listed")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(raw, "alice", "nothing was written");
    let members: Vec<String> = redis::cmd("SMEMBERS")
        .arg("bad:users:versioned")
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(members.is_empty(), "nothing was written: {members:?}");
    assert_eq!(m.history(None, 100).await.unwrap().len(), history);
    assert!(m.unreadable_reason("listed").is_some());

    // Repair replaces the record whole; the replicas follow.
    let other = node(&server).await;
    let fixed = m
        .repair(Switch::new("listed").state(State::Selective).allow("carol"))
        .await
        .unwrap();
    assert!(fixed.version >= 1);
    assert!(m.active("listed", "carol") && !m.active("listed", "alice"));
    eventually("another node follows the repair", SOON, || {
        other.active("listed", "carol") && other.unreadable().len() == 1
    })
    .await;
    assert_eq!(m.history(Some("listed"), 1).await.unwrap()[0].actor, "code");
    m.allow("listed", "dave").await.unwrap();

    // A broken parent can be deleted (with its children).
    let removed = m.unregister("versioned").await.unwrap();
    assert_eq!(removed.len(), 2);
    eventually("nothing is unreadable any more", SOON, || {
        m.unreadable().is_empty()
            && other.unreadable().is_empty()
            && other.switch("versioned:child").is_none()
    })
    .await;
}
