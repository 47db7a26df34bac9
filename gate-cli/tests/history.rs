//! The real `gate` binary, run as a process. The audit trail: `gate
//! history` (also of entries older versions wrote) and `gate outcome`.
//! Every test marked `both!` runs on a JSON file store and on Redis (the
//! machine's server or `GATE_REDIS_URL`, one key prefix per test).

#![allow(missing_docs)]

#[macro_use]
mod support;

use serde_json::{json, Value};
use support::Store;

both!(history_records_the_cli_actor,);

fn history_records_the_cli_actor(s: &Store) {
    s.ok(&["create", "beta", "--label", "Beta"]); // as cli:tester ($USER)
    s.ok(&["--actor", "alice", "global", "beta"]);
    s.ok(&["allow", "beta", "bob", "--actor", "ops-bot"]);
    s.ok(&["create", "other"]);
    // Without $USER the actor is plain "cli".
    let run = s
        .command(&["disable", "beta"])
        .env_remove("USER")
        .output()
        .unwrap();
    assert!(run.status.success());

    let table = s.ok(&["history", "beta"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 5, "{table}");
    assert!(lines[0].starts_with("WHEN (UTC)") && lines[0].contains("ACTOR"));
    let row = |line: &str| {
        line.split_whitespace()
            .skip(2)
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(row(lines[1]), "cli updated beta");
    assert!(
        lines[1].ends_with("state: \"global\" → \"disabled\""),
        "{table}"
    );
    assert!(
        row(lines[2]).starts_with("ops-bot ") && lines[2].ends_with("users: +bob"),
        "{table}"
    );
    assert_eq!(row(lines[3]), "alice updated beta");
    assert_eq!(row(lines[4]), "cli:tester created beta");
    assert!(lines[4].ends_with("label: \"Beta\""), "{table}");

    let all: Value = serde_json::from_str(&s.ok(&["history", "--json"])).unwrap();
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(all[0]["actor"], "cli");
    assert_eq!(all[0]["key"], "beta");
    assert_eq!(all[0]["action"], "updated");
    assert_eq!(
        all[0]["changes"]["state"],
        json!({"previous": "global", "current": "disabled"})
    );
    assert_eq!(all[1]["actor"], "cli:tester");
    assert_eq!(all[1]["key"], "other");
    assert_eq!(all[1]["action"], "registered");
    assert!(all[1]["at"].as_u64().unwrap() > 1_700_000_000_000);
    let limited: Value =
        serde_json::from_str(&s.ok(&["history", "--limit", "2", "--json"])).unwrap();
    assert_eq!(limited.as_array().unwrap().len(), 2);
    assert_eq!(s.ok(&["history", "nothing_here"]), "no history\n");
}

#[test]
fn outcome_tells_whether_a_write_was_applied() {
    let s = Store::redis("outcome");
    s.ok(&["allow", "beta", "alice"]);
    // Every write's operation id is in its audit entry.
    let history: Value = serde_json::from_str(&s.ok(&["history", "--json"])).unwrap();
    let op = history[0]["op"]
        .as_str()
        .expect("an operation id")
        .to_owned();
    assert!(s.ok(&["outcome", &op]).contains(": applied"));
    // An id Redis never saw (a write that never arrived): not applied, and
    // cancelled for good.
    let never = "19a00000000-0123456789abcdef0123456789abcdef"
        .replace("19a00000000", &op[..op.find('-').unwrap()]);
    assert!(s
        .ok(&["outcome", &never])
        .contains("not applied, and now never will be"));
    assert!(s
        .ok(&["outcome", "nonsense"])
        .contains("no record of this write"));
    // A file store's writes always know their outcome.
    let file = Store::file("outcome");
    assert!(file
        .ok(&["outcome", &op])
        .contains("no record of this write"));
}

#[test]
fn history_entries_written_before_compact_lists_still_read() {
    // An entry as gate wrote it before issue 9: the whole list twice.
    let s = Store::file("old_history");
    let condition = json!({"argument": "User", "attribute": "age", "operator": {"more_than": 65}, "negative": false});
    let file = json!({
        "switches": {"senior": {"name": "senior", "state": "selective", "conditions": [condition], "version": 2}},
        "history": [
            {"actor": "alice", "at": 1_700_000_000_000u64, "key": "senior", "action": "registered", "version": 1,
             "changes": {"state": {"previous": "disabled", "current": "selective"}}},
            {"actor": "alice", "at": 1_700_000_000_001u64, "key": "senior", "action": "updated", "version": 2,
             "changes": {"conditions": {"previous": [], "current": [condition]}}}
        ]
    });
    std::fs::write(&s.store, serde_json::to_vec_pretty(&file).unwrap()).unwrap();
    s.ok(&["condition", "remove", "senior", "0"]);
    let history = s.ok(&["history", "senior"]);
    let lines: Vec<&str> = history.lines().collect();
    assert_eq!(lines.len(), 4, "{history}");
    assert!(
        lines[1].ends_with("conditions: -User.age more_than 65"),
        "{history}"
    );
    assert!(
        lines[2].ends_with("conditions: +User.age more_than 65"),
        "{history}"
    );
    let json: Value = serde_json::from_str(&s.ok(&["history", "--json"])).unwrap();
    assert_eq!(
        json[1]["changes"]["conditions"]["current"],
        json!([condition])
    );
    assert_eq!(
        json[0]["lists"]["conditions"]["removed"],
        json!([condition])
    );
}
