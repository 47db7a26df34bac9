//! The real `gate` binary, run as a process. Conditions and checks: `gate
//! condition`, `gate check`, and what the rules refuse (every command names
//! the field, nothing is written). Every test marked `both!` runs on a JSON
//! file store and on Redis (the machine's server or `GATE_REDIS_URL`, one
//! key prefix per test).

#![allow(missing_docs)]

#[macro_use]
mod support;

use serde_json::{json, Value};
use support::Store;

both!(
    conditions,
    check_prints_the_decision_and_why,
    the_rules_refuse_what_cannot_be_stored,
    bad_input_is_an_error_naming_it,
);

fn conditions(s: &Store) {
    s.ok(&["enable", "senior"]);
    let out = s.ok(&[
        "condition",
        "add",
        "senior",
        "--argument",
        "User",
        "--attribute",
        "age",
        "--op",
        "more_than",
        "--value",
        "65",
    ]);
    assert_eq!(out, "senior: added condition 0: User.age more_than 65\n");
    let out = s.ok(&[
        "condition",
        "add",
        "senior",
        "--argument",
        "User",
        "--attribute",
        "country",
        "--op",
        "one_of",
        "--value",
        r#"["fr","de"]"#,
        "--negative",
    ]);
    assert_eq!(
        out,
        "senior: added condition 1: not User.country one_of [\"fr\",\"de\"]\n"
    );
    s.ok(&[
        "condition",
        "add",
        "senior",
        "--identity",
        "--op",
        "matches",
        "--value",
        "^vip-",
    ]);
    s.ok(&[
        "condition",
        "add",
        "senior",
        "--argument",
        "@id",
        "--op",
        "percent",
        "--value",
        "10",
    ]);
    s.ok(&[
        "condition",
        "add",
        "senior",
        "--argument",
        "User",
        "--attribute",
        "age",
        "--op",
        "between",
        "--value",
        r#"{"lower":12,"upper":20}"#,
    ]);
    s.ok(&[
        "condition",
        "add",
        "senior",
        "--argument",
        "User",
        "--attribute",
        "admin",
        "--op",
        "truthy",
    ]);
    s.ok(&[
        "condition",
        "add",
        "senior",
        "--argument",
        "User",
        "--attribute",
        "name",
        "--op",
        "strip_ignorecase_equals",
        "--value",
        "Jeff",
    ]);

    let conditions = s.show("senior")["conditions"].clone();
    assert_eq!(
        conditions,
        json!([
            {"argument": "User", "attribute": "age", "operator": {"more_than": 65}, "negative": false},
            {"argument": "User", "attribute": "country", "operator": {"one_of": ["fr", "de"]}, "negative": true},
            {"argument": "@id", "attribute": "", "operator": {"matches": "^vip-"}, "negative": false},
            {"argument": "@id", "attribute": "", "operator": {"percent": 10}, "negative": false},
            {"argument": "User", "attribute": "age", "operator": {"between": {"lower": 12, "upper": 20}}, "negative": false},
            {"argument": "User", "attribute": "admin", "operator": "truthy", "negative": false},
            {"argument": "User", "attribute": "name", "operator": {"strip_ignorecase_equals": "Jeff"}, "negative": false},
        ])
    );
    let listed = s.ok(&["condition", "list", "senior"]);
    assert!(
        listed.starts_with("0  User.age more_than 65\n1  not User.country"),
        "{listed}"
    );
    assert_eq!(listed.lines().count(), 7);

    let old = r#"{"id":"44488","age":70,"country":"fr"}"#;
    let input = format!("User={old}");
    assert!(s
        .ok(&["check", "senior", "--input", &input])
        .starts_with("on\n"));

    let out = s.ok(&["condition", "remove", "senior", "0"]);
    assert_eq!(out, "senior: removed condition 0: User.age more_than 65\n");
    assert_eq!(s.show("senior")["conditions"].as_array().unwrap().len(), 6);
    assert!(s
        .ok(&["check", "senior", "--input", &input])
        .starts_with("off\n"));
    // The audit trail says which condition came or went, not every list.
    let history = s.ok(&["history", "senior", "--limit", "2"]);
    let lines: Vec<&str> = history.lines().collect();
    assert!(
        lines[1].ends_with("conditions: -User.age more_than 65"),
        "{history}"
    );
    assert!(
        lines[2].ends_with("conditions: +User.name strip_ignorecase_equals \"Jeff\""),
        "{history}"
    );
    let json: Value = serde_json::from_str(&s.ok(&["history", "senior", "--json"])).unwrap();
    assert_eq!(
        json[0]["lists"],
        json!({"conditions": {"removed": [
            {"argument": "User", "attribute": "age", "operator": {"more_than": 65}, "negative": false}
        ]}})
    );
    assert_eq!(json[0].get("changes"), None, "{json}");

    // Mistakes are errors that name them, and change nothing.
    s.fails(
        &["condition", "remove", "senior", "6"],
        1,
        &["has 6 conditions (0 to 5)", "no condition 6"],
    );
    s.fails(
        &[
            "condition",
            "add",
            "senior",
            "--argument",
            "User",
            "--op",
            "more_than",
            "--value",
            "1",
        ],
        1,
        &["needs --attribute"],
    );
    s.fails(
        &[
            "condition",
            "add",
            "senior",
            "--identity",
            "--attribute",
            "age",
            "--op",
            "truthy",
        ],
        1,
        &["drop --attribute"],
    );
    s.fails(
        &[
            "condition",
            "add",
            "senior",
            "--argument",
            "User",
            "--attribute",
            "a",
            "--op",
            "truthy",
            "--value",
            "1",
        ],
        1,
        &["truthy takes no --value"],
    );
    s.fails(
        &[
            "condition",
            "add",
            "senior",
            "--argument",
            "User",
            "--attribute",
            "a",
            "--op",
            "more_than",
        ],
        1,
        &["--op more_than needs --value"],
    );
    s.fails(
        &[
            "condition",
            "add",
            "senior",
            "--argument",
            "User",
            "--attribute",
            "a",
            "--op",
            "between",
            "--value",
            "12,20",
        ],
        1,
        &[
            "invalid --value \"12,20\" for --op between",
            "{\"lower\": 12",
        ],
    );
    s.fails(
        &[
            "condition",
            "add",
            "senior",
            "--identity",
            "--op",
            "percent",
            "--value",
            "101",
        ],
        1,
        &["101"],
    );
    s.fails(
        &[
            "condition",
            "add",
            "senior",
            "--argument",
            "User",
            "--attribute",
            "a",
            "--op",
            "bigger",
            "--value",
            "1",
        ],
        2,
        &["bigger", "more_than"],
    );
    s.fails(
        &["condition", "add", "senior", "--op", "truthy"],
        2,
        &["--argument"],
    );
    s.fails(
        &[
            "condition",
            "add",
            "nope",
            "--identity",
            "--op",
            "percent",
            "--value",
            "1",
        ],
        1,
        &["no switch named \"nope\""],
    );
    assert_eq!(s.show("senior")["conditions"].as_array().unwrap().len(), 6);
    assert_eq!(s.names(), ["senior"]);
}

fn check_prints_the_decision_and_why(s: &Store) {
    s.ok(&["percentage", "new_search", "80"]);
    assert_eq!(
        s.ok(&["check", "new_search", "--id", "443301"]),
        "on\nnew_search is on for these inputs: a condition holds\n  → id percent 80 on id (value \"443301\", bucket 5): holds\n"
    );
    assert_eq!(
        s.ok(&["check", "new_search", "--id", "44488"]),
        "off\nnew_search is off for these inputs: no condition holds\n  · id percent 80 on id (value \"44488\", bucket 88): fails\n"
    );
    // Inputs from JSON; their "id" is their identity.
    s.ok(&["enable", "senior"]);
    s.ok(&[
        "condition",
        "add",
        "senior",
        "--argument",
        "User",
        "--attribute",
        "age",
        "--op",
        "more_than",
        "--value",
        "65",
    ]);
    let on = s.ok(&["check", "senior", "--input", r#"User={"id":7,"age":70}"#]);
    assert!(
        on.starts_with("on\n") && on.contains("User.age more_than 65 on User (value 70): holds"),
        "{on}"
    );
    let off = s.ok(&["check", "senior", "--input", r#"User={"id":8,"age":30}"#]);
    assert!(
        off.starts_with("off\n") && off.contains("(value 30): fails"),
        "{off}"
    );
    // Several inputs: any one may turn it on.
    s.ok(&["allow", "senior", "alice"]);
    let both = s.ok(&[
        "check",
        "senior",
        "--id",
        "alice",
        "--input",
        r#"User={"age":30}"#,
    ]);
    assert!(
        both.starts_with("on\n") && both.contains("\"alice\" is in its allow-list"),
        "{both}"
    );
    // No inputs.
    assert!(s.ok(&["check", "senior"]).contains("there are no inputs"));

    let json: Value =
        serde_json::from_str(&s.ok(&["check", "new_search", "--id", "44488", "--json"])).unwrap();
    assert_eq!(json["switch"], "new_search");
    assert_eq!(json["active"], false);
    assert_eq!(json["reason"]["kind"], "conditions");
    assert_eq!(json["reason"]["outcomes"][0]["bucket"], 88.0);

    s.fails(
        &["check", "nope", "--id", "1"],
        1,
        &["no switch named \"nope\""],
    );
    s.fails(
        &["check", "senior", "--input", "User"],
        1,
        &["invalid --input \"User\"", "KIND=JSON"],
    );
    s.fails(
        &["check", "senior", "--input", "={}"],
        1,
        &["kind before '=' is empty"],
    );
    s.fails(
        &["check", "senior", "--input", "User={age:1"],
        1,
        &["invalid JSON for the User input"],
    );
    s.fails(
        &["check", "senior", "--input", "User=[1]"],
        1,
        &["expected an object"],
    );
}

/// Issue 9, item 3: what the rules refuse is refused by every command,
/// saying which field and why; nothing is written.
fn the_rules_refuse_what_cannot_be_stored(s: &Store) {
    s.ok(&["create", "kept"]);
    s.fails(&["create", "bidi\u{202E}name"], 1, &["bidirectional"]);
    s.fails(&["create", " padded"], 1, &["whitespace"]);
    s.fails(
        &[
            "create",
            "kept2",
            "--label",
            &"x".repeat(gate::limits::MAX_LABEL_LEN + 1),
        ],
        1,
        &["invalid label", "the most is 200"],
    );
    for (op, value, shown) in [
        ("between", r#"{"lower": 9, "upper": 1}"#, "lower < upper"),
        ("less_than", "true", "not a bool"),
        ("one_of", "[]", "at least one value"),
        ("matches", "(?:a{100}){100}b", "too complex"),
        ("percent", "200", "invalid percentage 200"),
    ] {
        s.fails(
            &[
                "condition",
                "add",
                "kept",
                "--argument",
                "User",
                "--attribute",
                "age",
                "--op",
                op,
                "--value",
                value,
            ],
            1,
            &[shown],
        );
    }
    s.fails(
        &["allow-matching", "kept", "(?:a{100}){100}b"],
        1,
        &["too complex"],
    );
    let file = s.dir().join("bad.json");
    std::fs::write(
        &file,
        r#"[{"name": "p", "conditions": [{"argument": "User", "attribute": "age", "operator": {"between": {"lower": 9, "upper": 1}}}]}]"#,
    )
    .unwrap();
    s.fails(
        &["import", file.to_str().unwrap()],
        1,
        &[
            "conditions[0].operator",
            "lower < upper",
            "nothing imported",
        ],
    );
    assert_eq!(s.names(), ["kept"]);
    assert_eq!(s.show("kept")["version"], 1);
}

fn bad_input_is_an_error_naming_it(s: &Store) {
    s.fails(
        &["percentage", "x", "ten"],
        2,
        &["ten", "a percentage is a whole number"],
    );
    s.fails(&["show"], 2, &["<NAME>"]);
    s.fails(&["frobnicate"], 2, &["frobnicate"]);
    s.fails(&["history", "--limit", "many"], 2, &["many"]);
    s.fails(&["enable", ""], 1, &["a switch name must not be empty"]);
    s.fails(&["allow", "beta", ""], 1, &["an id must not be empty"]);
    let run = s.fails(
        &["show", "nope"],
        1,
        &["gate: error: no switch named \"nope\""],
    );
    assert!(run.stdout.is_empty());
    assert!(
        !run.stderr.contains('\x1b'),
        "no colour on a pipe: {:?}",
        run.stderr
    );
    assert!(s.names().is_empty());
}
