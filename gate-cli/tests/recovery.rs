//! The real `gate` binary on a Redis store holding records another tool
//! broke, and restoring a store that lost its data from a snapshot file.

#![allow(missing_docs)]

mod support;

use support::Store;

/// Runs one Redis command against the store.
fn redis(s: &Store, args: &[&str]) {
    let client = redis::Client::open(s.store.as_str()).unwrap();
    let mut c = client.get_connection().unwrap();
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    let _: redis::Value = cmd.query(&mut c).unwrap();
}

fn key(s: &Store, rest: &str) -> String {
    format!("{}:{rest}", s.prefix)
}

#[test]
fn broken_records_are_listed_shown_repaired_and_deleted() {
    let s = Store::redis("broken");
    s.ok(&["global", "good"]);
    s.ok(&["allow", "listed", "alice"]);
    s.ok(&["global", "versioned"]);
    redis(
        &s,
        &["HSET", &key(&s, "versions"), "versioned", "not-a-number"],
    );
    redis(&s, &["DEL", &key(&s, "users:listed")]);
    redis(&s, &["SET", &key(&s, "users:listed"), "alice"]);

    // list: the good switch, and which records cannot be read and why.
    let list = s.ok(&["list"]);
    assert!(
        list.contains("2 switches are stored but cannot be read"),
        "{list}"
    );
    assert!(
        list.contains("listed") && list.contains("is not a set"),
        "{list}"
    );
    assert!(
        list.contains("versioned") && list.contains(r#""not-a-number", not a whole number"#),
        "{list}"
    );
    assert!(list.contains("good") && list.contains("global"), "{list}");
    // --json stays an array of the readable switches; stderr warns.
    let run = s.run(&["list", "--json"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1);
    assert!(
        run.stderr
            .contains("\"versioned\" is stored but cannot be read"),
        "{run:?}"
    );

    // show says why; changes refuse without writing.
    s.fails(
        &["show", "listed"],
        1,
        &[
            "\"listed\" is stored but cannot be read",
            "is not a set",
            "gate put",
        ],
    );
    s.fails(
        &["allow", "listed", "bob"],
        1,
        &["cannot be read", "nothing was written"],
    );
    s.fails(
        &["percentage", "versioned", "5"],
        1,
        &["cannot be read", "nothing was written"],
    );
    let client = redis::Client::open(s.store.as_str()).unwrap();
    let mut c = client.get_connection().unwrap();
    let raw: String = redis::cmd("GET")
        .arg(key(&s, "users:listed"))
        .query(&mut c)
        .unwrap();
    assert_eq!(raw, "alice", "nothing was written");

    // put repairs one, delete removes the other.
    let file = s.dir().join("listed.json");
    std::fs::write(
        &file,
        r#"{"name": "listed", "state": "selective", "users": ["carol"]}"#,
    )
    .unwrap();
    let put = s.ok(&["put", file.to_str().unwrap()]);
    assert!(put.contains("listed: repaired"), "{put}");
    assert_eq!(s.show("listed")["users"], serde_json::json!(["carol"]));
    s.ok(&["allow", "listed", "dave"]);
    let deleted = s.ok(&["delete", "versioned"]);
    assert!(deleted.contains("deleted versioned"), "{deleted}");
    let list = s.ok(&["list"]);
    assert!(!list.contains("cannot be read"), "{list}");
    assert_eq!(s.names(), ["good", "listed"]);
    // put also creates and replaces.
    std::fs::write(&file, r#"{"name": "fresh", "state": "global"}"#).unwrap();
    assert!(s
        .ok(&["put", file.to_str().unwrap()])
        .contains("fresh: created"));
    std::fs::write(&file, r#"{"name": "fresh", "state": "disabled"}"#).unwrap();
    assert!(s
        .ok(&["put", file.to_str().unwrap()])
        .contains("fresh: replaced"));
    assert_eq!(s.show("fresh")["state"], "disabled");
}

#[test]
fn restore_writes_a_snapshot_back() {
    let s = Store::redis("restore");
    s.ok(&["global", "written_since"]);
    let file = s.dir().join("snapshot.json");
    std::fs::write(
        &file,
        r#"{"epoch": "e1", "switches": [
            {"key": "beta", "switch": {"name": "beta", "state": "selective", "users": ["alice"], "version": 4}},
            {"key": "kill", "switch": {"name": "kill", "state": "global", "version": 2}},
            {"key": "written_since", "switch": {"name": "written_since", "state": "disabled", "version": 1}},
            {"key": "eu.beta", "switch": {"name": "beta", "state": "global", "version": 1}}
        ]}"#,
    )
    .unwrap();
    let out = s.ok(&["restore", "--from", file.to_str().unwrap()]);
    assert!(
        out.contains("restored 3 switches: beta, eu.beta, kill"),
        "{out}"
    );
    assert!(
        out.contains("kept 1 switch the store holds already: written_since"),
        "{out}"
    );
    assert_eq!(s.show("beta")["users"], serde_json::json!(["alice"]));
    assert_eq!(s.show("kill")["state"], "global");
    assert_eq!(
        s.show("written_since")["state"],
        "global",
        "left as the store has it"
    );
    assert!(s.ok(&["--namespace", "eu", "list"]).contains("beta"));
    let history = s.ok(&["history", "beta"]);
    assert!(history.contains("cli:tester"), "{history}");

    // A file that is not a snapshot: a clear error, nothing written.
    std::fs::write(&file, "{oops").unwrap();
    s.fails(
        &["restore", "--from", file.to_str().unwrap()],
        1,
        &["snapshot file", "snapshot.json"],
    );
    s.fails(
        &["restore", "--from", "/nonexistent/snap.json"],
        1,
        &["/nonexistent/snap.json"],
    );
}
