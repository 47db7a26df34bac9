//! Redis faults, each against a private redis-server this test starts on a
//! free port and stops by pid: killed, restarted, emptied, down at start.

mod redis_support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gate::storage::ReplicaSource;
use gate::testing::Recorder;
use gate::{Error, Manager, State, Switch};
use redis_support::{eventually, Server};

const SOON: Duration = Duration::from_secs(5);

async fn manager(server: &Server, resync: Duration) -> Manager {
    Manager::builder()
        .redis(server.url())
        .prefix("faults")
        .resync_interval(resync)
        .timeout(Duration::from_millis(300))
        .build()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_while_checks_run() {
    let mut server = Server::start().await;
    let m = manager(&server, Duration::from_secs(30)).await;
    m.set_percentage("p", 80).await.unwrap();
    m.enable_for_all("g").await.unwrap();

    // Checks in a loop on another thread, timing the slowest one.
    let stop = Arc::new(AtomicBool::new(false));
    let wrong = Arc::new(AtomicUsize::new(0));
    let checker = {
        let (m, stop, wrong) = (m.clone(), stop.clone(), wrong.clone());
        std::thread::spawn(move || {
            let mut slowest = Duration::ZERO;
            let mut checks = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let start = Instant::now();
                let ok = m.active("p", "443301") && !m.active("p", "44488") && m.active("g", ());
                slowest = slowest.max(start.elapsed());
                if !ok {
                    wrong.fetch_add(1, Ordering::Relaxed);
                }
                checks += 1;
            }
            (slowest, checks)
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.kill();
    eventually("the manager notices", SOON, || !m.sync_status().connected).await;

    // Writes fail with a clear storage error within the timeout, not hang.
    let start = Instant::now();
    let err = m.enable_for_all("new").await.unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "a write took {:?}",
        start.elapsed()
    );
    // The first write may have been sent before the connection broke:
    // its outcome is unknown (never "nothing was written"). Once the
    // connection is known to be gone, writes are refused outright.
    assert!(
        matches!(&err, Error::Storage { .. } | Error::OutcomeUnknown { .. })
            && err.to_string().contains("Redis at redis://127.0.0.1"),
        "{err}"
    );
    let err = m.enable_for_all("newer").await.unwrap_err();
    assert!(
        matches!(&err, Error::Storage { message, .. } if message.contains("nothing was written")),
        "{err}"
    );
    assert!(m.switch("new").is_none(), "nothing half-written");
    tokio::time::sleep(Duration::from_millis(200)).await;

    stop.store(true, Ordering::Relaxed);
    let (slowest, checks) = checker.join().unwrap();
    assert_eq!(
        wrong.load(Ordering::Relaxed),
        0,
        "every check kept the last known answer"
    );
    assert!(checks > 1000, "only {checks} checks ran");
    assert!(
        slowest < Duration::from_millis(50),
        "a check blocked for {slowest:?}"
    );
    assert!(m.sync_status().last_error.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_catches_up_after_a_restart() {
    let mut server = Server::start().await;
    let resync = Duration::from_millis(300);
    let a = manager(&server, resync).await;
    a.enable_for_all("kept").await.unwrap();
    server.kill();
    eventually("a notices", SOON, || !a.sync_status().connected).await;
    assert!(
        a.active("kept", ()),
        "answers from the last state while down"
    );

    // Redis comes back (empty); another node writes meanwhile.
    server.restart().await;
    let b = manager(&server, resync).await;
    b.set_percentage("kept", 80).await.unwrap();
    b.allow("added_meanwhile", "alice").await.unwrap();
    eventually("a reconnects and catches up", SOON, || {
        a.sync_status().connected
            && a.active("added_meanwhile", "alice")
            && !a.active("kept", "44488")
    })
    .await;
    assert_eq!(a.sync_status().source, ReplicaSource::Storage);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_emptied_while_running_is_a_data_loss() {
    let server = Server::start().await;
    let m = manager(&server, Duration::from_millis(20)).await;
    m.enable_for_all("one").await.unwrap();
    m.enable_for_all("two").await.unwrap();
    let gone = Recorder::connect(&m.signals().switch_unregistered);
    let lost = Recorder::connect(&m.signals().store_data_lost);
    let mut c = redis_support::connection(&server.url()).await;
    let _: () = redis::cmd("FLUSHALL").query_async(&mut c).await.unwrap();
    eventually("the loss is reported", SOON, || {
        m.sync_status().data_loss.is_some()
    })
    .await;
    // Several resyncs later: still served, reported once, no switch gone.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(m.active("one", ()) && m.active("two", ()));
    assert!(gone.events().is_empty(), "nothing was unregistered");
    assert_eq!(lost.events().len(), 1, "reported once");
    assert_eq!(lost.events()[0].switches, 2);
    let status = m.sync_status();
    assert!(status.connected);
    assert!(
        status
            .data_loss
            .as_deref()
            .unwrap()
            .contains("gate restore"),
        "{status:?}"
    );
    // And the manager keeps working.
    m.enable_for_all("three").await.unwrap();
    assert!(m.active("three", ()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_while_redis_is_down_with_and_without_a_snapshot() {
    let dir = std::env::temp_dir().join(format!("gate-snapshot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let snapshot = dir.join("switches.json");

    let mut server = Server::start().await;
    let first = Manager::builder()
        .redis(server.url())
        .prefix("faults")
        .snapshot_file(&snapshot)
        .resync_interval(Duration::from_millis(100))
        .build()
        .await
        .unwrap();
    first.allow("beta", "alice").await.unwrap();
    first.set_percentage("beta", 10).await.unwrap();
    eventually("the snapshot is written", SOON, || {
        std::fs::read_to_string(&snapshot)
            .is_ok_and(|s| s.contains("alice") && s.contains("percent"))
    })
    .await;
    drop(first);
    let port = server.port;
    server.kill();

    // Down at start, with a snapshot: serves the last known switches.
    let url = format!("redis://127.0.0.1:{port}/0");
    let start = Instant::now();
    let from_file = Manager::builder()
        .redis(&url)
        .prefix("faults")
        .snapshot_file(&snapshot)
        .resync_interval(Duration::from_millis(100))
        .timeout(Duration::from_millis(300))
        .build()
        .await
        .unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "start-up took {:?}",
        start.elapsed()
    );
    let status = from_file.sync_status();
    assert_eq!(status.source, ReplicaSource::SnapshotFile);
    assert!(!status.connected);
    assert!(from_file.active("beta", "alice"));
    assert!(from_file.active("beta", "443301"), "bucket 5 < 10");

    // Without a snapshot: starts, with no switches.
    let empty = Manager::builder()
        .redis(&url)
        .prefix("faults")
        .timeout(Duration::from_millis(300))
        .resync_interval(Duration::from_millis(100))
        .build()
        .await
        .unwrap();
    assert_eq!(empty.sync_status().source, ReplicaSource::Empty);
    assert!(empty.switches().is_empty());

    // Redis comes back (empty here): both join it.
    server.restart().await;
    let writer = manager(&server, Duration::from_secs(30)).await;
    writer.enable_for_all("after").await.unwrap();
    eventually("both join Redis", SOON, || {
        from_file.active("after", ()) && empty.active("after", ())
    })
    .await;
    // Redis came back without the switches the file holds: a data loss,
    // so the file's switches are still served (and the file kept).
    let status = from_file.sync_status();
    assert!(status.connected);
    assert!(status.data_loss.is_some(), "{status:?}");
    assert_eq!(status.source, ReplicaSource::SnapshotFile);
    assert!(
        from_file.active("beta", "alice"),
        "the file's state is kept"
    );
    assert!(std::fs::read_to_string(&snapshot)
        .unwrap()
        .contains("alice"));
    // A node without a file has nothing to lose: it follows Redis.
    assert_eq!(empty.sync_status().source, ReplicaSource::Storage);
    assert!(empty.sync_status().data_loss.is_none());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_urls_are_clear_errors() {
    let err = Manager::builder()
        .redis("http://nope")
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Storage { message, .. } if message.contains("invalid Redis URL")),
        "{err}"
    );
    // The redis crate's own error is kept underneath.
    let source =
        std::error::Error::source(&err).and_then(|s| s.downcast_ref::<redis::RedisError>());
    assert!(source.is_some(), "{err:?}");
    let err = Manager::builder()
        .redis("redis://:secret@127.0.0.1:1/0")
        .timeout(Duration::from_millis(200))
        .build()
        .await
        .map(|m| m.sync_status().last_error.unwrap_or_default())
        .unwrap();
    assert!(!err.contains("secret"), "the password is not shown: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_checked_while_redis_is_down_are_registered_when_it_returns() {
    let mut server = Server::start().await;
    let manager = Manager::builder()
        .autocreate(true)
        .redis(server.url())
        .prefix("autocreate")
        .timeout(Duration::from_millis(300))
        .resync_interval(Duration::from_millis(100))
        .build()
        .await
        .unwrap();
    server.kill();
    for _ in 0..1_000 {
        assert!(!manager.active("late", ()));
        assert!(!manager.active("later", ()));
    }
    assert!(manager.switch("late").is_none());
    server.restart().await;
    eventually("both are registered, once", Duration::from_secs(10), || {
        manager.switch("late").is_some() && manager.switch("later").is_some()
    })
    .await;
    let history = manager.history(None, 100).await.unwrap();
    let registered: Vec<&str> = history.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(registered, ["later", "late"], "one audit entry per name");
    assert!(history.iter().all(|e| e.actor == gate::AUTOCREATE_ACTOR));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checking_a_parent_name_never_turns_its_children_off() {
    let server = Server::start().await;
    let manager = Manager::builder()
        .autocreate(true)
        .redis(server.url())
        .prefix("autocreate")
        .build()
        .await
        .unwrap();
    manager
        .register(Switch::new("payments:new_flow").state(State::Global))
        .await
        .unwrap();
    assert!(!manager.active("payments", "alice"), "unknown: off");
    // Give a background autocreate every chance to happen.
    assert!(!manager.active("unrelated", "alice"));
    eventually(
        "the unrelated name is autocreated",
        Duration::from_secs(5),
        || manager.switch("unrelated").is_some(),
    )
    .await;
    assert!(
        manager.switch("payments").is_none(),
        "a parent of a registered switch is not autocreated"
    );
    assert!(manager.active("payments:new_flow", "alice"));

    // The same with the memory storage, which registers at once.
    let memory = Manager::builder().autocreate(true).build();
    memory
        .register(Switch::new("payments:new_flow").state(State::Global))
        .await
        .unwrap();
    assert!(!memory.active("payments", "alice"));
    assert!(memory.switch("payments").is_none());
    assert!(memory.active("payments:new_flow", "alice"));
    assert!(!memory.active("other", ()));
    assert!(
        memory.switch("other").is_some(),
        "other names are autocreated"
    );
}

/// Issue 9, item 4: a hung server (SIGSTOP) is reported within 2 s, and
/// the node follows again once it answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_server_is_reported_within_two_seconds() {
    let server = Server::start().await;
    let url = server.url();
    let a = Manager::builder()
        .redis(&url)
        .prefix("hung")
        .build()
        .await
        .unwrap();
    let b = Manager::builder()
        .redis(&url)
        .prefix("hung")
        .build()
        .await
        .unwrap();
    assert!(a.sync_status().connected);
    server.pause();
    let paused = Instant::now();
    eventually(
        "the status says disconnected",
        Duration::from_secs(5),
        || !a.sync_status().connected,
    )
    .await;
    let noticed = paused.elapsed();
    eprintln!("a hung server was reported after {noticed:?}");
    assert!(
        noticed <= Duration::from_secs(2),
        "connected: true for {noticed:?} after the server hung"
    );
    let status = a.sync_status();
    assert!(status.last_error.is_some(), "{status:?}");
    server.resume();
    eventually("connected again", SOON, || a.sync_status().connected).await;
    a.enable_for_all("after").await.unwrap();
    eventually("the other node follows again", SOON, || {
        b.active("after", ())
    })
    .await;
}
