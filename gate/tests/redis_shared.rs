//! Redis storage against the machine's Redis (or GATE_REDIS_URL), one key
//! prefix per test: sharing, versions, allow-lists, signals, namespaces.

mod redis_support;

use std::time::Duration;

use futures_util::StreamExt;
use gate::signals::Origin;
use gate::testing::Recorder;
use gate::{Condition, Error, Manager, Operator, State, Switch};
use redis_support::{eventually, shared_url, Prefix, Server};

const SOON: Duration = Duration::from_secs(5);

async fn manager(url: &str, prefix: &Prefix) -> Manager {
    Manager::builder()
        .redis(url)
        .prefix(&prefix.name)
        .build()
        .await
        .unwrap()
}

// The storage conformance suite, one test per rule, each under a key
// prefix of its own (deleted when the test ends).
gate::conformance_tests!(conformance, |rule| async move {
    let url = shared_url().await;
    let prefix = Prefix::new(&url, &format!("conformance-{rule}")).await;
    let storage = Manager::builder()
        .redis(&url)
        .prefix(&prefix.name)
        .build_storage()
        .unwrap();
    (storage, prefix)
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_managers_share_switches_and_prefixes_isolate() {
    let url = shared_url().await;
    let prefix = Prefix::new(&url, "share").await;
    let other_prefix = Prefix::new(&url, "share-other").await;
    let a = manager(&url, &prefix).await;
    let b = manager(&url, &prefix).await;
    let other = manager(&url, &other_prefix).await;
    assert!(a.sync_status().connected);

    let registered = Recorder::connect(&b.signals().switch_registered);
    let updated = Recorder::connect(&b.signals().switch_updated);
    let unregistered = Recorder::connect(&b.signals().switch_unregistered);

    a.register(
        Switch::new("beta")
            .state(State::Selective)
            .condition(Condition::new("User", "age", Operator::more_than(18).unwrap()).unwrap()),
    )
    .await
    .unwrap();
    // Signals fire right after the replica changes: wait for them.
    eventually("b signals beta", SOON, || !registered.events().is_empty()).await;
    assert!(b.switch("beta").is_some());
    let seen = registered.events();
    assert_eq!(seen[0].switch.name, "beta");
    assert_eq!(
        seen[0].origin,
        Origin::Remote,
        "b's signal says the change came from another node"
    );

    a.set_percentage("beta", 80).await.unwrap();
    eventually("b signals the percentage", SOON, || {
        updated
            .events()
            .iter()
            .any(|e| e.changes().conditions.is_some())
    })
    .await;
    assert!(b.active("beta", "443301"));
    assert!(!b.active("beta", "44488"));

    // Writes from b reach a too.
    b.enable_for_all("beta").await.unwrap();
    eventually("a sees global", SOON, || a.active("beta", "44488")).await;

    // The other prefix sees none of it.
    assert!(other.switch("beta").is_none());
    other.disable("beta").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(a.active("beta", "44488"));

    // Cascading unregister.
    a.register(Switch::new("beta:child")).await.unwrap();
    eventually("b sees the child", SOON, || {
        b.switch("beta:child").is_some()
    })
    .await;
    assert_eq!(a.unregister("beta").await.unwrap().len(), 2);
    eventually("b drops both", SOON, || unregistered.events().len() == 2).await;
    assert!(b.switches().is_empty());
    assert!(unregistered
        .events()
        .iter()
        .all(|e| e.origin == Origin::Remote));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_updates_conflict_and_concurrent_modifies_lose_nothing() {
    let url = shared_url().await;
    let prefix = Prefix::new(&url, "versions").await;
    let a = manager(&url, &prefix).await;
    let b = manager(&url, &prefix).await;
    a.register(Switch::new("counter").description("0"))
        .await
        .unwrap();
    eventually("b sees the counter", SOON, || b.switch("counter").is_some()).await;

    let stale = b.switch("counter").unwrap();
    a.modify("counter", |s| s.label = Some("moved".into()))
        .await
        .unwrap();
    let err = b.update(stale.state(State::Global)).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Conflict {
                expected: 1,
                found: 2,
                ..
            }
        ),
        "{err}"
    );

    let bump = |m: Manager| async move {
        for _ in 0..200 {
            m.modify("counter", |s| {
                let n: u64 = s.description.as_deref().unwrap().parse().unwrap();
                s.description = Some((n + 1).to_string());
            })
            .await
            .unwrap();
        }
    };
    let (ra, rb) = tokio::join!(tokio::spawn(bump(a.clone())), tokio::spawn(bump(b.clone())));
    ra.unwrap();
    rb.unwrap();
    let stored = a.shared_switch_for_test("counter").await;
    assert_eq!(stored.description.as_deref(), Some("400"));
    eventually("both replicas reach 400", SOON, || {
        [&a, &b]
            .iter()
            .all(|m| m.switch("counter").unwrap().description.as_deref() == Some("400"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_is_one_change_on_the_wire() {
    let url = shared_url().await;
    let prefix = Prefix::new(&url, "allow").await;
    let a = manager(&url, &prefix).await;
    let b = manager(&url, &prefix).await;
    let mut big = Switch::new("big").state(State::Selective);
    big.users = (0..20_000u32).map(|i| i.to_string()).collect();
    a.register(big).await.unwrap();
    eventually("b loads 20,000 ids", SOON, || {
        b.switch("big").is_some_and(|s| s.users.len() == 20_000)
    })
    .await;

    // Listen to the channel as another tool would.
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut pubsub = client.get_async_pubsub().await.unwrap();
    pubsub
        .subscribe(format!("{}:changes", prefix.name))
        .await
        .unwrap();
    let version = a.switch("big").unwrap().version;

    let after = a.allow("big", "alice").await.unwrap();
    assert_eq!(after.version, version + 1);
    let message = tokio::time::timeout(SOON, pubsub.on_message().next())
        .await
        .unwrap()
        .unwrap();
    let payload: serde_json::Value = serde_json::from_slice(message.get_payload_bytes()).unwrap();
    assert_eq!(payload["op"], "allow");
    assert_eq!(payload["ids"], serde_json::json!(["alice"]));
    assert!(
        message.get_payload_bytes().len() < 200,
        "one id, not the list"
    );
    eventually("b allows alice", SOON, || b.active("big", "alice")).await;
    assert!(b.active("big", "19999"));

    // The switch record itself was not rewritten with the ids.
    let mut c = redis_support::connection(&url).await;
    let record: String = redis::cmd("HGET")
        .arg(format!("{}:switches", prefix.name))
        .arg("big")
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(record.len() < 300, "{record}");

    a.disallow("big", "alice").await.unwrap();
    eventually("b disallows alice", SOON, || !b.active("big", "alice")).await;
    // allow on a missing switch creates it, as rollout does.
    a.allow("fresh", 7u64).await.unwrap();
    eventually("b sees fresh", SOON, || b.active("fresh", 7u64)).await;
}

/// A large allow-list goes through `register` and `modify` like any other
/// switch: staged in chunks, swapped in by one atomic script, and read by
/// the other node page by page. (The 1,000,000-id case runs in the
/// propagation benchmark, in release mode.)
/// How many SSCANs the server has answered.
async fn sscan_calls(c: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(c)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("cmdstat_sscan:calls="))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_allow_lists_register_and_modify_atomically() {
    // Its own server: the test counts the server's SSCAN calls, which
    // other tests (and other test processes) sharing a server would add to.
    let server = Server::start().await;
    let url = server.url();
    let prefix = Prefix::new(&url, "large").await;
    let a = manager(&url, &prefix).await;
    let b = manager(&url, &prefix).await;
    const N: u32 = 200_000;
    let mut large = Switch::new("large").state(State::Selective);
    large.users = (0..N).map(|i| i.to_string()).collect();
    let stored = a.register(large).await.unwrap();
    assert_eq!(stored.version, 1);
    let long = Duration::from_secs(20);
    eventually("b loads every id", long, || {
        b.switch("large")
            .is_some_and(|s| s.users.len() == N as usize)
    })
    .await;
    assert!(b.active("large", N - 1));

    // Swap half of them for others in one update.
    let after = a
        .modify("large", |s| {
            for i in 0..N / 2 {
                s.users.remove(&i.to_string());
                s.users.insert(format!("new-{i}"));
            }
        })
        .await
        .unwrap();
    assert_eq!(after.version, 2);
    eventually("b sees the swap", long, || {
        b.switch("large").is_some_and(|s| s.version == 2)
    })
    .await;
    let seen = b.switch("large").unwrap();
    assert_eq!(seen.users.len(), N as usize);
    assert!(!b.active("large", 0u32));
    assert!(b.active("large", "new-0"));
    assert!(b.active("large", N / 2));

    // A change that leaves the allow-list alone does not make the other
    // node read the list again: the writer's own reads (modify reads the
    // switch) cost the same SSCANs with or without b listening.
    let mut c = redis_support::connection(&url).await;
    drop(b);
    let before = sscan_calls(&mut c).await;
    a.modify("large", |s| s.description = Some("alone".into()))
        .await
        .unwrap();
    let writer_alone = sscan_calls(&mut c).await - before;
    assert!(
        writer_alone > 0,
        "the list is large enough to be read in pages"
    );
    let b = manager(&url, &prefix).await;
    assert_eq!(b.switch("large").unwrap().users.len(), N as usize);
    // b's follower may still be reading the store (its read after it
    // subscribed): wait until the server's SSCANs stop moving.
    let mut before = sscan_calls(&mut c).await;
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = sscan_calls(&mut c).await;
        if now == before {
            break;
        }
        before = now;
    }
    a.modify("large", |s| s.description = Some("just the record".into()))
        .await
        .unwrap();
    eventually("b sees the new description", long, || {
        b.switch("large")
            .is_some_and(|s| s.description.as_deref() == Some("just the record"))
    })
    .await;
    assert_eq!(b.switch("large").unwrap().users.len(), N as usize);
    assert_eq!(
        sscan_calls(&mut c).await - before,
        writer_alone,
        "b read the list again"
    );

    // No staging set is left behind.
    let left: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}:staging:*", prefix.name))
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
    let stored: usize = redis::cmd("SCARD")
        .arg(format!("{}:users:large", prefix.name))
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(stored, N as usize);
}

/// Every write records who did what in `{prefix}:history`, in the same
/// script as the write; another node reads the same trail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_trail_is_shared_and_complete() {
    use gate::history::Action;
    let url = shared_url().await;
    let prefix = Prefix::new(&url, "history").await;
    let a = manager(&url, &prefix).await.as_actor("alice");
    let b = manager(&url, &prefix).await.as_actor("bob");
    a.register(Switch::new("beta")).await.unwrap();
    a.enable_for_all("beta").await.unwrap();
    b.allow("beta", "carol/1").await.unwrap();
    b.disallow("beta", "carol/1").await.unwrap();
    b.allow("beta", "carol/1").await.unwrap();
    a.allow("beta", "carol/1").await.unwrap(); // no change: no entry
    a.register(Switch::new("beta:child")).await.unwrap();
    let stale = Switch {
        version: 1,
        ..a.switch("beta:child").unwrap()
    };
    b.modify("beta:child", |s| s.description = Some("by bob".into()))
        .await
        .unwrap();
    assert!(matches!(a.update(stale).await, Err(Error::Conflict { .. })));
    b.unregister("beta").await.unwrap();

    let history = a.history(None, 100).await.unwrap();
    let summary: Vec<(&str, &str, Action, u64)> = history
        .iter()
        .map(|e| (e.actor.as_str(), e.key.as_str(), e.action, e.version))
        .collect();
    assert_eq!(
        summary,
        [
            ("bob", "beta:child", Action::Unregistered, 0),
            ("bob", "beta", Action::Unregistered, 0),
            ("bob", "beta:child", Action::Updated, 2),
            ("alice", "beta:child", Action::Registered, 1),
            ("bob", "beta", Action::Allowed, 5),
            ("bob", "beta", Action::Disallowed, 4),
            ("bob", "beta", Action::Allowed, 3),
            ("alice", "beta", Action::Updated, 2),
            ("alice", "beta", Action::Registered, 1),
        ],
        "newest first; the conflict and the no-op wrote nothing"
    );
    let allowed = &history[4];
    let users = allowed.changes.users.as_ref().unwrap();
    assert_eq!(
        (users.added.as_slice(), users.added_count),
        (["carol/1".to_owned()].as_slice(), 1)
    );
    assert!(history[0].at >= history[8].at && history[8].at > 0);
    assert_eq!(
        history[2]
            .changes
            .description
            .as_ref()
            .unwrap()
            .current
            .as_deref(),
        Some("by bob")
    );
    // The other node reads the same trail, and per switch.
    assert_eq!(b.history(Some("beta:child"), 100).await.unwrap().len(), 3);
    assert_eq!(b.history(None, 2).await.unwrap(), history[..2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_and_shortcuts_work_on_redis() {
    let url = shared_url().await;
    let prefix = Prefix::new(&url, "namespaces").await;
    let a = manager(&url, &prefix).await;
    let b = manager(&url, &prefix).await;
    let de_a = a.namespaced("germany").unwrap();
    let de_b = b.namespaced("germany").unwrap();
    de_a.enable_for_all("booze").await.unwrap();
    a.disable("booze").await.unwrap();
    eventually("b sees germany.booze", SOON, || de_b.active("booze", ())).await;
    assert!(!b.active("booze", ()));
    de_a.toggle("booze").await.unwrap();
    eventually("b sees it toggled off", SOON, || !de_b.is_enabled("booze")).await;
    de_a.allow_matching("booze", "^hans$").await.unwrap();
    de_a.enable("booze").await.unwrap();
    eventually("b sees the regex", SOON, || de_b.active("booze", "hans")).await;
    assert!(!de_b.active("booze", "fritz"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_records_are_skipped_and_heal() {
    let url = shared_url().await;
    let prefix = Prefix::new(&url, "malformed").await;
    let a = Manager::builder()
        .redis(&url)
        .prefix(&prefix.name)
        .resync_interval(Duration::from_millis(100))
        .build()
        .await
        .unwrap();
    let skipped = Recorder::connect(&a.signals().record_skipped);
    a.enable_for_all("good").await.unwrap();
    a.enable_for_all("victim").await.unwrap();

    let mut c = redis_support::connection(&url).await;
    let switches = format!("{}:switches", prefix.name);
    for bad in [
        "{not json",
        r#"{"name":"victim","conditions":[{"argument":"User","attribute":"a","operator":{"bigger_than":1}}]}"#,
        r#"{"name":"victim","state":42}"#,
    ] {
        skipped.clear();
        let _: () = redis::cmd("HSET")
            .arg(&switches)
            .arg("victim")
            .arg(bad)
            .query_async(&mut c)
            .await
            .unwrap();
        eventually("the bad record is reported", SOON, || {
            !skipped.events().is_empty()
        })
        .await;
        assert_eq!(skipped.events()[0].key, "victim");
        assert!(a.active("good", ()), "every other switch works");
        assert!(a.active("victim", ()), "the last good copy is kept");
    }
    // Fixing the record heals it.
    let _: () = redis::cmd("HSET")
        .arg(&switches)
        .arg("victim")
        .arg(r#"{"name":"victim","state":"disabled"}"#)
        .query_async(&mut c)
        .await
        .unwrap();
    eventually("the fixed record is loaded", SOON, || {
        !a.active("victim", ())
    })
    .await;
}

/// Reads the switch as stored, bypassing the replica.
trait StoredSwitch {
    async fn shared_switch_for_test(&self, name: &str) -> Switch;
}

impl StoredSwitch for Manager {
    async fn shared_switch_for_test(&self, name: &str) -> Switch {
        let fresh = self.clone();
        // modify without a change reads the stored switch and writes nothing.
        fresh.modify(name, |_| {}).await.unwrap()
    }
}

/// Issue 9, item 0: the cascade's audit entries, its returned records and
/// its notification follow key order, never the order of `HKEYS` (which,
/// for a hash of long values, depends on the server's random seed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cascade_is_recorded_in_key_order_not_hash_order() {
    let url = shared_url().await;
    let prefix = Prefix::new(&url, "cascade-order").await;
    let a = manager(&url, &prefix).await;
    // Long descriptions make the hash a real hashtable (listpack values
    // are at most 64 bytes), whose order is seeded at random.
    let long = "x".repeat(200);
    let mut names = vec!["tree".to_owned()];
    for i in (0..24).rev() {
        names.push(format!("tree:{i:02}"));
        names.push(format!("tree:{i:02}:leaf"));
    }
    for name in &names {
        a.register(Switch::new(name.as_str()).description(long.clone()))
            .await
            .unwrap();
    }
    let removed: Vec<String> = a
        .unregister("tree")
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(removed, sorted, "removed in key order, parents first");
    let trail: Vec<String> = a
        .history(None, 100)
        .await
        .unwrap()
        .into_iter()
        .take(names.len())
        .map(|e| e.key.to_string())
        .collect();
    let newest_first: Vec<String> = sorted.iter().rev().cloned().collect();
    assert_eq!(
        trail, newest_first,
        "the trail, newest first, lists descendants first"
    );
}
