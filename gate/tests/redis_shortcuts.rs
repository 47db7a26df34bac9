//! The rollout shortcuts under contention, on the machine's Redis (or
//! GATE_REDIS_URL), one key prefix per test: two managers with 200 calls
//! each in flight at once. The shortcuts are single atomic operations in
//! the store: none conflicts, none is lost, none is read back after the
//! write. `modify` (read-modify-write) loses nothing either, and says so
//! accurately when it gives up.

mod redis_support;

use gate::SwitchKey;
use std::future::Future;

use futures_util::future::join_all;
use gate::history::Action;
use gate::{Argument, Condition, Error, Manager, Operator, State, Switch};
use redis_support::{shared_url, Prefix};

/// A manager with a timeout long enough that a burst of 400 calls on a
/// loaded machine is not cut short: these tests count conflicts, not
/// slow answers.
async fn manager(url: &str, prefix: &Prefix) -> Manager {
    Manager::builder()
        .redis(url)
        .prefix(&prefix.name)
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .await
        .unwrap()
}

/// One shortcut call, boxed.
type Call = std::pin::Pin<Box<dyn Future<Output = Result<Switch, Error>> + Send>>;

/// Runs every call at once; returns the errors, with the call's index.
async fn all_at_once<F>(calls: Vec<F>) -> (usize, Vec<(usize, Error)>)
where
    F: Future<Output = Result<Switch, Error>> + Send + 'static,
{
    let handles: Vec<_> = calls.into_iter().map(tokio::spawn).collect();
    let results = join_all(handles).await;
    let total = results.len();
    let failed = results
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| r.unwrap().err().map(|e| (i, e)))
        .collect();
    (total, failed)
}

fn summary(failed: &[(usize, Error)]) -> String {
    let shown: Vec<String> = failed.iter().take(3).map(|(_, e)| e.to_string()).collect();
    format!("{} failed, e.g. {shown:?}", failed.len())
}

/// The stored switch, read by a fresh manager.
async fn stored(url: &str, prefix: &Prefix, name: &str) -> Switch {
    manager(url, prefix).await.switch(name).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_allows_all_succeed_and_are_all_stored() {
    let url = shared_url().await;
    let prefix = Prefix::new(&url, "shortcut-allow").await;
    let (a, b) = (manager(&url, &prefix).await, manager(&url, &prefix).await);
    // The switch does not exist yet: the first calls race to create it.
    let mut calls = Vec::new();
    for i in 0..200 {
        for (m, side) in [(&a, "a"), (&b, "b")] {
            let m = m.clone();
            let id = format!("{side}{i}");
            calls.push(async move {
                let after = m.allow("crowd", &id).await?;
                assert!(after.users.contains(&id), "{id} is in the returned switch");
                Ok(after)
            });
        }
    }
    let (total, failed) = all_at_once(calls).await;
    assert!(
        failed.is_empty(),
        "{} of {total} succeeded; {}",
        total - failed.len(),
        summary(&failed)
    );
    let crowd = stored(&url, &prefix, "crowd").await;
    assert_eq!(crowd.users.len(), 400, "every id is stored");
    assert_eq!(crowd.state, State::Selective);
    let history = a.history(Some("crowd"), 1000).await.unwrap();
    assert_eq!(
        history.len() as u64,
        crowd.version,
        "one entry per write, and one write per version"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_shortcuts_never_conflict_and_lose_nothing() {
    let url = shared_url().await;
    let prefix = Prefix::new(&url, "shortcut-mixed").await;
    let (a, b) = (manager(&url, &prefix).await, manager(&url, &prefix).await);
    a.register(Switch::new("mixed").state(State::Selective))
        .await
        .unwrap();
    let mut calls: Vec<Call> = Vec::new();
    for i in 0..200u32 {
        let (a, b) = (a.clone(), b.clone());
        // a: percentages and patterns; b: state changes and patterns.
        // 20 distinct patterns, each added 5 times by a and twice by b.
        calls.push(Box::pin(async move {
            if i % 2 == 0 {
                a.set_percentage("mixed", i % 101).await
            } else {
                a.allow_matching("mixed", &format!("^staff-{}$", (i / 2) % 20))
                    .await
            }
        }));
        calls.push(Box::pin(async move {
            match i % 5 {
                0 => b.enable("mixed").await,
                1 => b.disable("mixed").await,
                2 => b.enable_for_all("mixed").await,
                3 => b.toggle("mixed").await,
                _ => {
                    b.allow_matching("mixed", &format!("^staff-{}$", (i / 5) % 20))
                        .await
                }
            }
        }));
    }
    let (total, failed) = all_at_once(calls).await;
    assert!(
        failed.is_empty(),
        "{} of {total} succeeded; {}",
        total - failed.len(),
        summary(&failed)
    );

    let mixed = stored(&url, &prefix, "mixed").await;
    let percents: Vec<&Condition> = mixed
        .conditions
        .iter()
        .filter(|c| matches!(c.operator, Operator::Percent(_)))
        .collect();
    assert_eq!(percents.len(), 1, "one percentage, the last one set");
    let patterns = mixed
        .conditions
        .iter()
        .filter(|c| matches!(c.operator, Operator::Matches(_)))
        .count();
    assert_eq!(patterns, 20, "every pattern added once, however often");
    let history = a.history(Some("mixed"), 1000).await.unwrap();
    assert_eq!(
        history.len() as u64,
        mixed.version,
        "one entry per write, and one write per version: no update lost"
    );
}

/// 400 toggles at once: each one flips the switch, so all of them must
/// apply, one version each, and 400 flips leave it as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_toggles_each_apply_once() {
    let url = shared_url().await;
    let prefix = Prefix::new(&url, "shortcut-toggle").await;
    let (a, b) = (manager(&url, &prefix).await, manager(&url, &prefix).await);
    a.register(Switch::new("flip").allow("alice"))
        .await
        .unwrap();
    let mut calls = Vec::new();
    for _ in 0..200 {
        for m in [&a, &b] {
            let m = m.clone();
            calls.push(async move { m.toggle("flip").await });
        }
    }
    let handles: Vec<_> = calls.into_iter().map(tokio::spawn).collect();
    let results: Vec<Result<Switch, Error>> = join_all(handles)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let failed: Vec<(usize, Error)> = results
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().err().map(|e| (i, e.clone())))
        .collect();
    assert!(
        failed.is_empty(),
        "{} of 400 succeeded; {}",
        400 - failed.len(),
        summary(&failed)
    );
    let mut versions: Vec<u64> = results
        .iter()
        .map(|r| r.as_ref().unwrap().version)
        .collect();
    versions.sort_unstable();
    assert_eq!(
        versions,
        (2..=401).collect::<Vec<u64>>(),
        "one version per toggle"
    );
    for switch in results.iter().map(|r| r.as_ref().unwrap()) {
        // Version 1 was disabled: odd versions are disabled again.
        let expected = if switch.version % 2 == 0 {
            State::Selective
        } else {
            State::Disabled
        };
        assert_eq!(
            switch.state, expected,
            "toggle at version {}",
            switch.version
        );
    }
    let flip = stored(&url, &prefix, "flip").await;
    assert_eq!((flip.state, flip.version), (State::Disabled, 401));
}

/// 400 percentages set at once: every call succeeds and the last writer
/// wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_percentages_all_succeed_and_the_last_wins() {
    let url = shared_url().await;
    let prefix = Prefix::new(&url, "shortcut-percent").await;
    let (a, b) = (manager(&url, &prefix).await, manager(&url, &prefix).await);
    let mut calls = Vec::new();
    for i in 0..200u32 {
        for (m, p) in [(&a, i % 50), (&b, 50 + i % 50)] {
            let m = m.clone();
            calls.push(async move { m.set_percentage("rollout", p).await });
        }
    }
    let handles: Vec<_> = calls.into_iter().map(tokio::spawn).collect();
    let results: Vec<Result<Switch, Error>> = join_all(handles)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let failed: Vec<(usize, Error)> = results
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().err().map(|e| (i, e.clone())))
        .collect();
    assert!(
        failed.is_empty(),
        "{} of 400 succeeded; {}",
        400 - failed.len(),
        summary(&failed)
    );
    let last = results
        .iter()
        .map(|r| r.as_ref().unwrap())
        .max_by_key(|s| s.version)
        .unwrap();
    let rollout = stored(&url, &prefix, "rollout").await;
    assert_eq!(rollout.conditions, last.conditions, "the last writer wins");
    assert_eq!(
        rollout.conditions.len(),
        1,
        "one percentage, replaced each time"
    );
    assert_eq!(rollout.version, last.version);
}

/// Big integers and floats survive every shortcut exactly: the store
/// edits the record's text, it does not re-encode its numbers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shortcuts_keep_every_number_of_the_record_exact() {
    let url = shared_url().await;
    let prefix = Prefix::new(&url, "shortcut-numbers").await;
    let a = manager(&url, &prefix).await;
    let exact = vec![
        Condition::new("User", "big", Operator::equals(i64::MAX).unwrap()).unwrap(),
        Condition::new("User", "sum", Operator::less_than(0.1 + 0.2).unwrap()).unwrap(),
        Condition::new(
            "User",
            "small",
            Operator::more_than(-9_007_199_254_740_993i64).unwrap(),
        )
        .unwrap(),
    ];
    let mut switch = Switch::new("numbers").state(State::Selective);
    switch.conditions = exact.clone();
    a.register(switch).await.unwrap();
    let record = || async {
        let mut c = redis_support::connection(&url).await;
        redis::cmd("HGET")
            .arg(format!("{}:switches", prefix.name))
            .arg("numbers")
            .query_async::<String>(&mut c)
            .await
            .unwrap()
    };
    let before = record().await;
    assert!(before.contains("9223372036854775807"), "{before}");
    assert!(before.contains("0.30000000000000004"), "{before}");

    a.enable_for_all("numbers").await.unwrap();
    a.disable("numbers").await.unwrap();
    a.toggle("numbers").await.unwrap();
    a.enable("numbers").await.unwrap();
    a.set_percentage("numbers", 30).await.unwrap();
    a.set_percentage("numbers", 40).await.unwrap();
    a.allow_matching("numbers", "^staff-").await.unwrap();
    a.allow("numbers", "alice").await.unwrap();
    a.disallow("numbers", "alice").await.unwrap();

    let after = stored(&url, &prefix, "numbers").await;
    assert_eq!(&after.conditions[..3], &exact[..], "the numbers are exact");
    assert_eq!(after.conditions.len(), 5);
    assert_eq!(
        after.conditions[3],
        Condition::identity(Operator::percent(40).unwrap())
    );
    assert_eq!(after.conditions[4].argument, Argument::Identity);
    let text = record().await;
    assert!(text.contains("9223372036854775807"), "{text}");
    assert!(text.contains("0.30000000000000004"), "{text}");
    assert!(text.contains("-9007199254740993"), "{text}");
    // The replica that made the changes agrees with the store.
    assert_eq!(a.switch("numbers").unwrap(), after);
}

/// `allow_all`: many ids, one write, one audit entry (it used to be one
/// write per id, which evicted the whole trail for 1,000 ids).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_all_is_one_write_and_one_entry() {
    let url = shared_url().await;
    let prefix = Prefix::new(&url, "shortcut-allow-all").await;
    let a = manager(&url, &prefix).await;
    let b = manager(&url, &prefix).await;
    let ids: Vec<String> = (0..1000).map(|i| format!("user-{i}")).collect();
    let created = a.allow_all("many", &ids).await.unwrap();
    assert_eq!((created.version, created.users.len()), (1, 1000));
    let more: Vec<String> = (500..1500).map(|i| format!("user-{i}")).collect();
    let after = a.allow_all("many", &more).await.unwrap();
    assert_eq!((after.version, after.users.len()), (2, 1500));
    let history = a.history(Some("many"), 10).await.unwrap();
    assert_eq!(history.len(), 2, "one entry per call");
    assert_eq!(history[0].action, Action::Allowed);
    let users = history[0].changes.users.as_ref().unwrap();
    assert_eq!(users.added_count, 500, "only the ids it added");
    assert_eq!(history[1].action, Action::Registered);
    assert_eq!(history[1].changes.users.as_ref().unwrap().added_count, 1000);

    let gone = b.disallow_all("many", &ids).await.unwrap();
    assert_eq!((gone.version, gone.users.len()), (3, 500));
    let history = a.history(Some("many"), 10).await.unwrap();
    assert_eq!(history.len(), 3);
    assert_eq!(history[0].action, Action::Disallowed);
    assert_eq!(
        history[0].changes.users.as_ref().unwrap().removed_count,
        1000
    );
    redis_support::eventually("a sees 500 ids", std::time::Duration::from_secs(5), || {
        a.switch("many").is_some_and(|s| s.users.len() == 500)
    })
    .await;
}

/// `modify` under the same contention: nothing lost, and a call that gives
/// up says it was `modify`, after how many attempts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_modifies_lose_nothing_and_give_up_accurately() {
    let url = shared_url().await;
    let prefix = Prefix::new(&url, "modify-contention").await;
    let (a, b) = (manager(&url, &prefix).await, manager(&url, &prefix).await);
    a.register(Switch::new("counter").description("0"))
        .await
        .unwrap();
    let mut calls = Vec::new();
    for _ in 0..200 {
        for m in [&a, &b] {
            let m = m.clone();
            calls.push(async move {
                m.modify("counter", |s| {
                    let n: u64 = s.description.as_deref().unwrap().parse().unwrap();
                    s.description = Some((n + 1).to_string());
                })
                .await
            });
        }
    }
    let (total, failed) = all_at_once(calls).await;
    let succeeded = total - failed.len();
    eprintln!("concurrent modify: {succeeded} of {total} succeeded");
    for (_, e) in &failed {
        assert!(
            matches!(e, Error::Contended { operation: "modify", attempts, .. } if *attempts > 1),
            "a modify that gives up says so: {e}"
        );
        let message = e.to_string();
        assert!(
            message.contains("modify") && !message.contains("or use modify"),
            "{message}"
        );
    }
    let counter = stored(&url, &prefix, "counter").await;
    assert_eq!(
        counter.description.as_deref(),
        Some(succeeded.to_string().as_str()),
        "every successful modify counted once, no failed one counted"
    );
}

/// A record another tool wrote in another layout is changed by
/// read-modify-write (and rewritten in gate's form); one gate cannot read
/// is not changed at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_in_another_form_fall_back_to_read_modify_write() {
    let url = shared_url().await;
    let prefix = Prefix::new(&url, "shortcut-foreign").await;
    let mut c = redis_support::connection(&url).await;
    let spaced = r#"{ "name": "spaced", "state": "disabled", "conditions": [ {"argument": "User", "attribute": "n", "operator": {"equals": 9007199254740993}} ] }"#;
    let _: () = redis::pipe()
        .hset(format!("{}:switches", prefix.name), "spaced", spaced)
        .hset(format!("{}:versions", prefix.name), "spaced", 3)
        .hset(
            format!("{}:switches", prefix.name),
            "broken",
            r#"{"name":"broken","state":"on"}"#,
        )
        .hset(format!("{}:versions", prefix.name), "broken", 1)
        .query_async(&mut c)
        .await
        .unwrap();
    let a = manager(&url, &prefix).await;

    let after = a.allow("spaced", "alice").await.unwrap();
    assert_eq!((after.version, after.users.len()), (4, 1));
    let after = a.set_percentage("spaced", 20).await.unwrap();
    assert_eq!((after.version, after.conditions.len()), (5, 2));
    let record: String = redis::cmd("HGET")
        .arg(format!("{}:switches", prefix.name))
        .arg("spaced")
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(
        record.starts_with(r#"{"name":"spaced","state":"disabled","compounded":false"#),
        "rewritten in gate's form: {record}"
    );
    assert!(record.contains("9007199254740993"), "{record}");
    assert_eq!(stored(&url, &prefix, "spaced").await, after);

    let err = a.allow("broken", "alice").await.unwrap_err();
    assert!(matches!(err, Error::Unreadable { .. }), "{err:?}");
    let users: usize = redis::cmd("SCARD")
        .arg(format!("{}:users:broken", prefix.name))
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(users, 0, "nothing was added to a record gate cannot read");

    // A version or an allow-list of the wrong type: nothing is written
    // either (a script that fails midway is not rolled back).
    let record = |name: &str| Switch::new(name).to_json();
    let _: () = redis::pipe()
        .hset(
            format!("{}:switches", prefix.name),
            "counted",
            record("counted"),
        )
        .hset(format!("{}:versions", prefix.name), "counted", "many")
        .hset(
            format!("{}:switches", prefix.name),
            "typed",
            record("typed"),
        )
        .hset(format!("{}:versions", prefix.name), "typed", 2)
        .set(format!("{}:users:typed", prefix.name), "oops")
        .query_async(&mut c)
        .await
        .unwrap();
    for name in ["counted", "typed"] {
        assert!(a.allow(name, "alice").await.is_err(), "{name}");
        assert!(a.enable_for_all(name).await.is_err(), "{name}");
    }
    let (counted, typed_version, typed_users, history): (usize, String, String, usize) =
        redis::pipe()
            .scard(format!("{}:users:counted", prefix.name))
            .hget(format!("{}:versions", prefix.name), "typed")
            .get(format!("{}:users:typed", prefix.name))
            .llen(format!("{}:history", prefix.name))
            .query_async(&mut c)
            .await
            .unwrap();
    assert_eq!(
        (counted, typed_version.as_str(), typed_users.as_str()),
        (0, "2", "oops")
    );
    assert_eq!(history, 2, "only the two writes to \"spaced\" are recorded");
}

/// A shortcut never sends back an allow-list of more than 100,000 ids:
/// given the caller's copy at the version it changed, the change is
/// applied to that copy (exact); given an older copy, the answer says its
/// allow-list is not exact, and a manager leaves it to the change feed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_allow_list_is_not_sent_back() {
    use gate::storage::{Shortcut, ShortcutRequest};
    use gate::Storage;
    let url = shared_url().await;
    let prefix = Prefix::new(&url, "shortcut-large").await;
    let storage = Manager::builder()
        .redis(&url)
        .prefix(&prefix.name)
        .timeout(std::time::Duration::from_secs(10))
        .build_storage()
        .unwrap();
    let mut big = Switch::new("big").state(State::Selective);
    big.users = (0..100_001u32).map(|i| i.to_string()).collect();
    let v1 = storage
        .insert(&SwitchKey::parse("big"), "test", big)
        .await
        .unwrap();

    let allow_x = Shortcut::Allow(vec!["x".into()]);
    let v2 = storage
        .apply_shortcut(
            ShortcutRequest::new(&SwitchKey::parse("big"), "test", &allow_x).known(Some(&v1)),
        )
        .await
        .unwrap();
    assert!(v2.exact, "the caller's copy was the version changed");
    assert_eq!((v2.switch.version, v2.switch.users.len()), (2, 100_002));
    assert!(v2.switch.users.contains("x"));

    let global = Shortcut::State(State::Global);
    let v3 = storage
        .apply_shortcut(
            ShortcutRequest::new(&SwitchKey::parse("big"), "test", &global).known(Some(&v1)),
        )
        .await
        .unwrap();
    assert!(!v3.exact, "an older copy: the list is not sent back");
    assert_eq!((v3.switch.version, v3.switch.state), (3, State::Global));
    // Checked without reading the list (SSCAN), which redis_shared counts.
    let mut c = redis_support::connection(&url).await;
    let (version, ids): (u64, usize) = redis::pipe()
        .hget(format!("{}:versions", prefix.name), "big")
        .scard(format!("{}:users:big", prefix.name))
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!((version, ids), (3, 100_002));
}

/// `allow_matching` on Redis never stores more conditions than the rules
/// allow (the record would be unreadable for every node).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_matching_stops_at_the_condition_limit() {
    let url = shared_url().await;
    let prefix = Prefix::new(&url, "shortcut-limit").await;
    let a = manager(&url, &prefix).await;
    for i in 0..gate::limits::MAX_CONDITIONS {
        a.allow_matching("many", &format!("^user{i}$"))
            .await
            .unwrap();
    }
    let err = a.allow_matching("many", "^one_more$").await.unwrap_err();
    assert!(matches!(err, Error::Invalid { .. }), "{err:?}");
    let b = manager(&url, &prefix).await;
    assert_eq!(
        b.switch("many").unwrap().conditions.len(),
        gate::limits::MAX_CONDITIONS,
        "another node reads the switch"
    );
}
