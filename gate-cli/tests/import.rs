//! The real `gate` binary, run as a process. `gate export` and `gate
//! import`: round trips, all or nothing, the plan of a dry run. Every test
//! marked `both!` runs on a JSON file store and on Redis (the machine's
//! server or `GATE_REDIS_URL`, one key prefix per test).

#![allow(missing_docs)]

#[macro_use]
mod support;

use serde_json::{json, Value};
use support::Store;

both!(
    export_then_import_round_trips,
    import_is_all_or_nothing,
    import_dry_run_shows_the_plan_and_writes_nothing,
);

fn export_then_import_round_trips(s: &Store) {
    s.ok(&["percentage", "new_search", "20"]);
    s.ok(&["allow", "new_search", "alice", "bob"]);
    s.ok(&["create", "movies", "--label", "Movies"]);
    s.ok(&["global", "movies:star_wars"]);
    s.ok(&["variants", "movies:star_wars", "a", "b", "--weights", "3,1"]);
    let exported = s.ok(&["export"]);
    let parsed: Value = serde_json::from_str(&exported).unwrap();
    assert_eq!(parsed.as_array().unwrap().len(), 3);
    assert!(
        parsed[0].get("version").is_none(),
        "export leaves out store versions"
    );

    // Into an empty file store.
    let other = Store::file("round_trip_target");
    let file = s.dir().join("export.json");
    std::fs::write(&file, &exported).unwrap();
    let out = other.ok(&["import", file.to_str().unwrap()]);
    assert_eq!(
        out,
        "create     movies\ncreate     movies:star_wars\ncreate     new_search\nimported: 3 created, 0 changed, 0 unchanged\n"
    );
    assert_eq!(other.ok(&["export"]), exported);

    // Back into the same store: nothing to do.
    let out = s.ok(&["import", file.to_str().unwrap()]);
    assert!(
        out.ends_with("imported: 0 created, 0 changed, 3 unchanged\n"),
        "{out}"
    );

    // From standard input.
    let third = Store::file("round_trip_stdin");
    let mut child = third
        .command(&["import", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), exported.as_bytes()).unwrap();
    drop(child.stdin.take());
    assert!(child.wait_with_output().unwrap().status.success());
    assert_eq!(third.ok(&["export"]), exported);
}

fn import_is_all_or_nothing(s: &Store) {
    s.ok(&["create", "existing"]);
    let file = s.dir().join("bad.json");
    std::fs::write(
        &file,
        r#"[
            {"name": "good", "state": "global"},
            {"name": "existing", "state": "global"},
            {"name": "bad", "conditions": [{"argument": "@id", "operator": {"percent": 150}}]},
            {"name": "worse", "state": "sometimes"},
            {"name": "good"}
        ]"#,
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let run = s.fails(
        &["import", path],
        1,
        &[
            "3 switches are invalid; nothing imported",
            "switch 2 (\"bad\"): ",
            "invalid percentage 150",
            "switch 3 (\"worse\"): unknown variant `sometimes`",
            "switch 4 (\"good\"): repeats switch 0",
        ],
    );
    assert!(run.stdout.is_empty(), "{run:?}");
    // Not even the valid ones were written.
    assert_eq!(s.names(), ["existing"]);
    assert_eq!(s.show("existing")["state"], "disabled");
    let history: Value = serde_json::from_str(&s.ok(&["history", "--json"])).unwrap();
    assert_eq!(history.as_array().unwrap().len(), 1);

    std::fs::write(&file, "[{\"name\": \"a\"},\n  oops]").unwrap();
    s.fails(
        &["import", path],
        1,
        &[
            "bad.json is not valid JSON",
            "line 2 column 3",
            "nothing imported",
        ],
    );
    std::fs::write(&file, r#"{"name": "a"}"#).unwrap();
    s.fails(
        &["import", path],
        1,
        &["must hold a JSON array of switches"],
    );
    s.fails(
        &["import", "/nonexistent/switches.json"],
        1,
        &["cannot read /nonexistent/switches.json"],
    );
    assert_eq!(s.names(), ["existing"]);
}

fn import_dry_run_shows_the_plan_and_writes_nothing(s: &Store) {
    s.ok(&["percentage", "new_search", "20"]);
    s.ok(&["allow", "new_search", "alice", "bob"]);
    s.ok(&["global", "dark_mode"]);
    let before = s.ok(&["export"]);
    let history_before = s.ok(&["history", "--json"]);

    let file = s.dir().join("plan.json");
    std::fs::write(
        &file,
        r#"[
            {"name": "dark_mode", "state": "global"},
            {"name": "new_search", "state": "global", "users": ["alice", "carol"], "label": "Search",
             "conditions": [{"argument": "@id", "operator": {"percent": 20}}]},
            {"name": "beta", "state": "selective", "users": ["443301"]}
        ]"#,
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let out = s.ok(&["import", path, "--dry-run"]);
    assert_eq!(
        out,
        "unchanged  dark_mode\n\
         change     new_search\n\
         \x20            label: null → \"Search\"\n\
         \x20            state: \"selective\" → \"global\"\n\
         \x20            users: +carol\n\
         \x20            users: -bob\n\
         create     beta\n\
         dry run: 1 to create, 1 to change, 1 unchanged; nothing written\n"
    );
    assert_eq!(s.ok(&["export"]), before);
    assert_eq!(s.ok(&["history", "--json"]), history_before);

    // The real import does what the plan said.
    let out = s.ok(&["import", path]);
    assert!(
        out.ends_with("imported: 1 created, 1 changed, 1 unchanged\n"),
        "{out}"
    );
    let search = s.show("new_search");
    assert_eq!(search["state"], "global");
    assert_eq!(search["users"], json!(["alice", "carol"]));
    assert_eq!(search["label"], "Search");
    assert_eq!(s.show("beta")["users"], json!(["443301"]));
    assert_eq!(s.names(), ["beta", "dark_mode", "new_search"]);
}
