//! Writes whose answer does not come: each against a private redis-server
//! this test hangs (SIGSTOP) and lets run again (SIGCONT) by pid.

mod redis_support;

use std::time::{Duration, Instant};

use gate::storage::WriteOutcome;
use gate::{Error, Manager, Switch};
use redis_support::{eventually, Server};

const TIMEOUT: Duration = Duration::from_millis(300);
const SOON: Duration = Duration::from_secs(5);

async fn manager(server: &Server) -> Manager {
    Manager::builder()
        .redis(server.url())
        .prefix("outcomes")
        .resync_interval(Duration::from_secs(30))
        .timeout(TIMEOUT)
        .build()
        .await
        .unwrap()
}

/// The allow-list of `name` as Redis holds it now.
async fn stored_users(server: &Server, name: &str) -> Vec<String> {
    let mut c = redis_support::connection(&server.url()).await;
    let mut ids: Vec<String> = redis::cmd("SMEMBERS")
        .arg(format!("outcomes:users:{name}"))
        .query_async(&mut c)
        .await
        .unwrap();
    ids.sort();
    ids
}

async fn stored(server: &Server, name: &str) -> bool {
    let mut c = redis_support::connection(&server.url()).await;
    redis::cmd("HEXISTS")
        .arg("outcomes:switches")
        .arg(name)
        .query_async(&mut c)
        .await
        .unwrap()
}

/// The operation id of an unknown outcome.
fn unknown_id(result: &Result<Switch, Error>) -> String {
    match result {
        Err(Error::OutcomeUnknown { id, .. }) => id.clone(),
        other => panic!("expected an unknown outcome, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_reported_failed_while_redis_hangs_never_happens() {
    let server = Server::start().await;
    let m = manager(&server).await;
    m.register(Switch::new("beta")).await.unwrap();
    m.allow("beta", "bob").await.unwrap();

    server.pause();
    let start = Instant::now();
    let allow = m.allow("beta", "alice").await;
    let register = m.register(Switch::new("gamma")).await;
    let took = start.elapsed();
    // Redis answered neither the writes nor the checks of their ids: the
    // outcome is unknown, and the error says so (never "nothing written").
    for result in [&allow, &register] {
        let e = result.as_ref().unwrap_err();
        assert!(
            matches!(e, Error::OutcomeUnknown { .. }),
            "a write Redis did not answer is an unknown outcome: {e:?}"
        );
        let message = e.to_string();
        assert!(
            message.contains("may or may not have been applied"),
            "{message}"
        );
        assert!(message.contains("write_outcome("), "{message}");
        assert!(!message.contains("nothing was written"), "{message}");
    }
    assert!(
        took < 4 * TIMEOUT + Duration::from_millis(500),
        "two writes took {took:?} (each: the timeout, then checking within the timeout)"
    );
    let (allow_id, register_id) = (unknown_id(&allow), unknown_id(&register));
    assert_ne!(allow_id, register_id);

    server.resume();
    // The writes were queued in Redis: they run now, and their ids say so.
    assert_eq!(
        m.write_outcome(&allow_id).await.unwrap(),
        WriteOutcome::Applied
    );
    assert_eq!(
        m.write_outcome(&register_id).await.unwrap(),
        WriteOutcome::Applied
    );
    assert_eq!(stored_users(&server, "beta").await, ["alice", "bob"]);
    assert!(stored(&server, "gamma").await);
    // Each id is in the audit entry of its change, once.
    let history = m.history(None, 10).await.unwrap();
    for id in [&allow_id, &register_id] {
        let entries = history.iter().filter(|e| e.op.as_ref() == Some(id)).count();
        assert_eq!(entries, 1, "{id} in {history:?}");
    }
    // And the replica follows.
    eventually("the replica follows", SOON, || {
        m.switch("beta").is_some_and(|b| b.users.contains("alice")) && m.switch("gamma").is_some()
    })
    .await;
    assert_eq!(
        m.write_outcome("no-such-id").await.unwrap(),
        WriteOutcome::NoRecord
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_answer_is_late_is_resolved_by_its_id() {
    let server = Server::start().await;
    let m = manager(&server).await;
    m.allow("beta", "bob").await.unwrap();

    // Redis hangs past the write's timeout, then answers while the
    // manager checks the write's id: the write's real result comes back.
    server.pause();
    let writer = {
        let m = m.clone();
        tokio::spawn(async move { m.allow("beta", "alice").await })
    };
    tokio::time::sleep(TIMEOUT + Duration::from_millis(100)).await;
    assert!(!writer.is_finished());
    server.resume();
    let beta = writer.await.unwrap().unwrap();
    assert!(beta.users.contains("alice"));
    assert_eq!(stored_users(&server, "beta").await, ["alice", "bob"]);
    assert!(m.active("beta", "alice"));
    let history = m.history(Some("beta"), 10).await.unwrap();
    assert_eq!(history.len(), 2, "registered with bob, alice: {history:?}");
    assert!(history.iter().all(|e| e.op.is_some()), "{history:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_write_says_nothing_was_written() {
    let mut server = Server::start().await;
    let m = manager(&server).await;
    m.enable_for_all("kept").await.unwrap();
    server.kill();
    // The first write may find the old connection just broken (Redis could
    // have died after running it: unknown); once the connection is refused,
    // nothing can have been sent.
    let mut last = None;
    for _ in 0..3 {
        last = Some(m.register(Switch::new("refused")).await.unwrap_err());
    }
    let last = last.unwrap();
    assert!(
        matches!(&last, Error::Storage { message, .. } if message.contains("nothing was written")),
        "{last:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_timing_out_marks_the_store_disconnected() {
    let server = Server::start().await;
    let m = manager(&server).await;
    assert!(m.sync_status().connected);
    // The manager follows changes (subscribed) before Redis hangs.
    let mut c = redis_support::connection(&server.url()).await;
    let deadline = Instant::now() + SOON;
    loop {
        let (_, subscribers): (String, u64) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg("outcomes:changes")
            .query_async::<Vec<(String, u64)>>(&mut c)
            .await
            .unwrap()
            .remove(0);
        if subscribers == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the manager never subscribed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    // Nothing else talks to Redis meanwhile (no change to follow, the next
    // resync 30 s away): only the write can tell that Redis hangs.
    server.pause();
    let hung = Instant::now();
    let write = m.register(Switch::new("beta")).await;
    assert!(
        matches!(write, Err(Error::OutcomeUnknown { .. })),
        "{write:?}"
    );
    let status = m.sync_status();
    assert!(
        !status.connected,
        "{:?} after Redis hung, a write timed out, yet: {status:?}",
        hung.elapsed()
    );
    assert!(
        hung.elapsed() < Duration::from_secs(2),
        "{:?}",
        hung.elapsed()
    );
    // Whichever noticed first says so: the write ("did not answer"), the
    // follower's health ping / resubscription ("no answer within"), which
    // also runs every 500 ms, or the follower's read of the store that
    // follows its subscription, if it was still under way ("timed out").
    assert!(
        status.last_error.as_deref().is_some_and(|e| {
            e.contains("did not answer")
                || e.contains("no answer within")
                || e.contains("timed out")
        }),
        "{status:?}"
    );

    // The next answer clears the mark.
    server.resume();
    m.register(Switch::new("gamma")).await.unwrap();
    assert!(m.sync_status().connected, "{:?}", m.sync_status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_redis_does_not_answer_says_its_outcome_is_unknown() {
    let server = Server::start().await;
    let m = manager(&server).await;
    // (The batch script is loaded: one Redis has never run is not run when
    // it arrives, see below.)
    m.import(vec![Switch::new("existing")]).await.unwrap();

    server.pause();
    let mut big = Switch::new("big");
    for i in 0..5_000 {
        big.users.insert(format!("user-{i}").as_str());
    }
    // A large allow-list is staged first: that fails, before any switch is
    // written.
    let staged = m.import(vec![big]).await.unwrap_err();
    assert!(
        matches!(&staged, Error::Storage { message, .. } if message.contains("nothing was written")),
        "{staged:?}"
    );
    // Small ones travel with the write itself: unknown.
    let imported = m
        .import(vec![Switch::new("a"), Switch::new("b")])
        .await
        .unwrap_err();
    let Error::OutcomeUnknown {
        name,
        operation,
        id,
        ..
    } = &imported
    else {
        panic!("expected an unknown outcome: {imported:?}");
    };
    assert_eq!((name.as_str(), operation.as_str()), ("a", "batch"));

    server.resume();
    assert_eq!(m.write_outcome(id).await.unwrap(), WriteOutcome::Applied);
    assert!(stored(&server, "a").await && stored(&server, "b").await);
    assert!(!stored(&server, "big").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_never_ran_is_reported_not_applied() {
    let server = Server::start().await;
    let m = manager(&server).await;
    // Redis has not loaded the batch script yet: while it hangs, the write
    // is sent by hash, and when it answers, it answers "no such script"
    // to nobody. The check then finds the write did not happen, and
    // cancels it for good.
    server.pause();
    let imported = m.import(vec![Switch::new("a")]).await.unwrap_err();
    let Error::OutcomeUnknown { id, .. } = &imported else {
        panic!("expected an unknown outcome: {imported:?}");
    };
    server.resume();
    assert_eq!(m.write_outcome(id).await.unwrap(), WriteOutcome::NotApplied);
    assert_eq!(m.write_outcome(id).await.unwrap(), WriteOutcome::NotApplied);
    assert!(!stored(&server, "a").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_of_the_wrong_type_stops_a_write_before_it_changes_anything() {
    let server = Server::start().await;
    let m = manager(&server).await;
    // Some other tool wrote the audit trail as a string: Redis does not
    // roll a script back, so a write that failed at its audit entry would
    // have stored the switch anyway.
    let mut c = redis_support::connection(&server.url()).await;
    let _: () = redis::cmd("SET")
        .arg("outcomes:history")
        .arg("oops")
        .query_async(&mut c)
        .await
        .unwrap();
    let e = m.register(Switch::new("beta")).await.unwrap_err();
    assert!(
        matches!(&e, Error::Storage { message, .. } if message.contains("outcomes:history holds a string, not a list")
            && message.contains("nothing was written")),
        "{e:?}"
    );
    assert!(!stored(&server, "beta").await, "nothing was written");
}

/// A connection that waits for answers however long they take.
async fn patient(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection_with_config(
            &redis::AsyncConnectionConfig::new()
                .set_response_timeout(None)
                .set_connection_timeout(None),
        )
        .await
        .unwrap()
}

/// Pings Redis in a loop until stopped; returns the slowest answer.
fn ping_loop(
    url: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> tokio::task::JoinHandle<Duration> {
    tokio::spawn(async move {
        let mut c = patient(&url).await;
        let mut slowest = Duration::ZERO;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let start = Instant::now();
            let _: String = redis::cmd("PING").query_async(&mut c).await.unwrap();
            slowest = slowest.max(start.elapsed());
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        slowest
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_id_import_never_blocks_redis_and_reports_what_it_wrote() {
    const IDS: usize = 1_000_000;
    let server = Server::start().await;
    let m = Manager::builder()
        .redis(server.url())
        .prefix("outcomes")
        .timeout(Duration::from_millis(1500))
        .build()
        .await
        .unwrap();
    // The batch script is loaded (as on any server that saw an import).
    m.import(vec![Switch::new("small")]).await.unwrap();
    let mut big = Switch::new("big");
    for i in 0..IDS {
        big.users.insert(format!("user-{i}").as_str());
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pinger = ping_loop(server.url(), stop.clone());
    let mut c = patient(&server.url()).await;
    // Redis's own record of its slow commands (over 10 ms).
    for (name, value) in [
        ("slowlog-log-slower-than", "10000"),
        ("slowlog-max-len", "1000"),
    ] {
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg(name)
            .arg(value)
            .query_async(&mut c)
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let start = Instant::now();
    let imported = m.import(vec![big]).await;
    let took = start.elapsed();
    // Whatever Redis still has of the import runs within a few seconds.
    let mut stored = 0;
    let deadline = Instant::now() + Duration::from_secs(4);
    while Instant::now() < deadline && stored < IDS {
        stored = redis::cmd("SCARD")
            .arg("outcomes:users:big")
            .query_async(&mut c)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let slowest = pinger.await.unwrap();
    let slow: Vec<(u64, u64, u64, Vec<String>)> = redis::cmd("SLOWLOG")
        .arg("GET")
        .arg(1000)
        .query_async::<Vec<redis::Value>>(&mut c)
        .await
        .unwrap()
        .into_iter()
        .map(|entry| match entry {
            redis::Value::Array(fields) => {
                let int = |i: usize| match fields.get(i) {
                    Some(redis::Value::Int(n)) => *n as u64,
                    _ => 0,
                };
                let args = match fields.get(3) {
                    Some(redis::Value::Array(args)) => args
                        .iter()
                        .take(2)
                        .map(|a| match a {
                            redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                            other => format!("{other:?}"),
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                (int(0), int(1), int(2), args)
            }
            _ => (0, 0, 0, Vec::new()),
        })
        .collect();
    let longest = slow.iter().map(|e| e.2).max().unwrap_or(0);
    let mut slowest_commands: Vec<(u64, &Vec<String>)> = slow.iter().map(|e| (e.2, &e.3)).collect();
    slowest_commands.sort_by_key(|c| std::cmp::Reverse(c.0));
    slowest_commands.truncate(3);
    eprintln!("slowest commands in Redis (µs): {slowest_commands:?}");
    assert!(
        Duration::from_micros(longest) < Duration::from_millis(1500),
        "a command blocked Redis for {longest} µs"
    );
    eprintln!("import of {IDS} ids: {imported:?} in {took:?}; {stored} ids stored; slowest PING {slowest:?}");
    match imported {
        Ok(_) => assert_eq!(stored, IDS),
        Err(e) => assert_eq!(stored, 0, "the import failed ({e}) yet wrote {stored} ids"),
    }
    assert!(
        slowest < Duration::from_millis(1500),
        "Redis was blocked for {slowest:?}"
    );
}
