//! The real `gate` binary, run as a process, against a JSON file store and
//! against Redis (the machine's server or `GATE_REDIS_URL`, one key prefix
//! per test). Every test below marked `both!` runs on each.

#![allow(missing_docs)]

mod support;

use serde_json::{json, Value};
use support::Store;

/// Each named test function, run once on a file store (`file::name`) and
/// once on Redis (`redis::name`).
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod file {
            $( #[test] fn $name() { super::$name(&super::Store::file(stringify!($name))); } )*
        }
        mod redis {
            $( #[test] fn $name() { super::$name(&super::Store::redis(stringify!($name))); } )*
        }
    };
}

both!(
    create_show_and_list,
    state_commands,
    percentage_and_allow_matching,
    allow_and_disallow,
    conditions,
    variants,
    delete_asks_for_yes_when_not_on_a_terminal,
    check_prints_the_decision_and_why,
    export_then_import_round_trips,
    import_is_all_or_nothing,
    the_rules_refuse_what_cannot_be_stored,
    import_dry_run_shows_the_plan_and_writes_nothing,
    history_records_the_cli_actor,
    concurrent_processes_lose_no_update,
    namespaces_are_apart,
    bad_input_is_an_error_naming_it,
);

fn create_show_and_list(s: &Store) {
    assert_eq!(s.ok(&["list"]), "no switches\n");
    assert_eq!(s.ok(&["list", "--json"]).trim(), "[]");

    let out = s.ok(&[
        "create",
        "new_search",
        "--label",
        "New search",
        "--description",
        "the rewritten search page",
    ]);
    assert_eq!(out, "new_search: created, disabled\n");
    s.ok(&["create", "movies"]);
    s.ok(&[
        "create",
        "movies:star_wars",
        "--no-concent",
        "--compounded",
        "--salt",
        "sw",
    ]);

    let shown = s.show("new_search");
    assert_eq!(shown["name"], "new_search");
    assert_eq!(shown["state"], "disabled");
    assert_eq!(shown["label"], "New search");
    assert_eq!(shown["description"], "the rewritten search page");
    assert_eq!(shown["version"], 1);
    let child = s.show("movies:star_wars");
    assert_eq!(child["concent"], false);
    assert_eq!(child["compounded"], true);
    assert_eq!(child["salt"], "sw");

    // The table: one row per switch, sorted, with state and rules.
    s.ok(&["allow", "new_search", "alice"]);
    let table = s.ok(&["list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(
        lines[0].starts_with("NAME") && lines[0].contains("STATE") && lines[0].contains("RULES")
    );
    assert!(
        lines[1].starts_with("movies ") && lines[1].contains("disabled"),
        "{table}"
    );
    assert!(
        lines[2].starts_with("movies:star_wars") && lines[2].contains("ignores its parent; salted"),
        "{table}"
    );
    assert!(
        lines[3].starts_with("new_search") && lines[3].contains("users: alice"),
        "{table}"
    );
    assert!(
        !table.contains('\x1b'),
        "no colour without a terminal: {table:?}"
    );

    assert_eq!(s.names(), ["movies", "movies:star_wars", "new_search"]);

    s.fails(
        &["create", "new_search"],
        1,
        &["new_search", "already exists"],
    );
    s.fails(&["show", "nope"], 1, &["no switch named \"nope\""]);
    s.fails(&["create", "bad name:"], 1, &["invalid switch name"]);
}

fn state_commands(s: &Store) {
    // The shortcuts create a switch that does not exist yet.
    assert_eq!(
        s.ok(&["enable", "beta"]),
        "beta: created, selective; rules: -\n"
    );
    assert_eq!(s.show("beta")["state"], "selective");
    assert_eq!(s.ok(&["global", "beta"]), "beta: global; rules: -\n");
    assert_eq!(s.show("beta")["state"], "global");
    assert_eq!(s.ok(&["disable", "beta"]), "beta: disabled; rules: -\n");
    assert_eq!(s.show("beta")["state"], "disabled");
    // A disabled switch without rules toggles to global, and back.
    assert_eq!(s.ok(&["toggle", "beta"]), "beta: global; rules: -\n");
    assert_eq!(s.ok(&["toggle", "beta"]), "beta: disabled; rules: -\n");
    // With rules, it toggles to selective.
    s.ok(&["allow", "beta", "alice"]);
    assert_eq!(
        s.ok(&["toggle", "beta"]),
        "beta: selective; rules: users: alice\n"
    );
    assert_eq!(s.show("beta")["state"], "selective");
    s.ok(&["toggle", "fresh"]);
    assert_eq!(s.show("fresh")["state"], "global");
}

fn percentage_and_allow_matching(s: &Store) {
    let out = s.ok(&["percentage", "new_search", "80"]);
    assert_eq!(
        out,
        "new_search: created, selective; rules: id percent 80\n"
    );
    assert!(s
        .ok(&["check", "new_search", "--id", "443301"])
        .starts_with("on\n"));
    assert!(s
        .ok(&["check", "new_search", "--id", "44488"])
        .starts_with("off\n"));
    // A new percentage replaces the old one.
    s.ok(&["percentage", "new_search", "90%"]);
    let conditions = s.show("new_search")["conditions"].clone();
    assert_eq!(conditions.as_array().unwrap().len(), 1);
    assert_eq!(conditions[0]["operator"], json!({"percent": 90}));
    assert!(s
        .ok(&["check", "new_search", "--id", "44488"])
        .starts_with("on\n"));
    s.ok(&["percentage", "new_search", "0"]);
    assert!(s
        .ok(&["check", "new_search", "--id", "443301"])
        .starts_with("off\n"));

    s.ok(&["allow-matching", "staff", r"^staff-\d+$"]);
    assert_eq!(
        s.show("staff")["conditions"][0]["operator"],
        json!({"matches": r"^staff-\d+$"})
    );
    assert!(s
        .ok(&["check", "staff", "--id", "staff-12"])
        .starts_with("on\n"));
    assert!(s
        .ok(&["check", "staff", "--id", "guest-12"])
        .starts_with("off\n"));

    s.fails(
        &["percentage", "new_search", "150"],
        2,
        &["150", "a percentage is a whole number from 0 to 100"],
    );
    s.fails(
        &["percentage", "new_search", "-5"],
        2,
        &["-5", "percentage"],
    );
    s.fails(
        &["allow-matching", "staff", "("],
        1,
        &["invalid regular expression \"(\""],
    );
    assert_eq!(s.show("staff")["conditions"].as_array().unwrap().len(), 1);
}

fn allow_and_disallow(s: &Store) {
    let out = s.ok(&["allow", "beta", "alice", "bob", "443301"]);
    assert_eq!(
        out,
        "beta: allowed alice, bob, 443301; 3 ids in its allow-list\n"
    );
    assert_eq!(s.show("beta")["users"], json!(["443301", "alice", "bob"]));
    // Several ids are one write with one audit entry.
    assert_eq!(s.show("beta")["version"], 1);
    let history: Value = serde_json::from_str(&s.ok(&["history", "beta", "--json"])).unwrap();
    assert_eq!(history.as_array().unwrap().len(), 1, "{history}");
    assert!(s.ok(&["check", "beta", "--id", "bob"]).starts_with("on\n"));
    let out = s.ok(&["disallow", "beta", "bob", "carol"]);
    assert_eq!(
        out,
        "beta: disallowed bob, carol; 2 ids in its allow-list\n"
    );
    assert_eq!(s.show("beta")["users"], json!(["443301", "alice"]));
    assert_eq!(s.show("beta")["version"], 2);
    let history: Value = serde_json::from_str(&s.ok(&["history", "beta", "--json"])).unwrap();
    assert_eq!(history[0]["action"], "disallowed");
    assert_eq!(history[0]["users"]["removed"], json!(["bob"]));
    assert!(s.ok(&["check", "beta", "--id", "bob"]).starts_with("off\n"));
    s.fails(
        &["disallow", "nope", "bob"],
        1,
        &["no switch named \"nope\""],
    );
    assert_eq!(s.names(), ["beta"]);
    s.fails(&["allow", "beta"], 2, &["<IDS>"]);
    // Options may follow the ids; an id that looks like one goes after --.
    s.ok(&["allow", "beta", "carol", "--actor", "x", "--", "-dash"]);
    assert_eq!(
        s.show("beta")["users"],
        json!(["-dash", "443301", "alice", "carol"])
    );
}

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

fn variants(s: &Store) {
    s.ok(&["global", "checkout"]);
    assert_eq!(
        s.ok(&["variants", "checkout", "control", "one_page"]),
        "checkout: variants: control, one_page\n"
    );
    assert_eq!(
        s.show("checkout")["variants"],
        json!([{"name": "control", "weight": 1}, {"name": "one_page", "weight": 1}])
    );
    let out = s.ok(&[
        "variants",
        "checkout",
        "a",
        "b",
        "c",
        "--weights",
        "50,25,25",
    ]);
    assert_eq!(out, "checkout: variants: a 50, b 25, c 25\n");
    assert_eq!(
        s.show("checkout")["variants"],
        json!([{"name": "a", "weight": 50}, {"name": "b", "weight": 25}, {"name": "c", "weight": 25}])
    );
    s.fails(
        &["variants", "checkout", "a", "b", "--weights", "50"],
        1,
        &["1 weight", "2 variants"],
    );
    s.fails(
        &["variants", "checkout", "a", "b", "--weights", "0,0"],
        1,
        &["total weight is zero"],
    );
    s.fails(&["variants", "checkout", "a", "--weights", "x"], 2, &["x"]);
    s.fails(&["variants", "nope", "a"], 1, &["no switch named \"nope\""]);
    assert_eq!(s.show("checkout")["variants"].as_array().unwrap().len(), 3);
    assert_eq!(
        s.ok(&["variants", "checkout", "--clear"]),
        "checkout: no variants\n"
    );
    assert_eq!(s.show("checkout")["variants"], json!([]));
}

fn delete_asks_for_yes_when_not_on_a_terminal(s: &Store) {
    for name in ["movies", "movies:star_wars", "movies:star_trek", "music"] {
        s.ok(&["create", name]);
    }
    // Standard input is not a terminal here: no question, a refusal.
    s.fails(
        &["delete", "movies"],
        1,
        &[
            "movies:star_trek, movies:star_wars",
            "nothing deleted",
            "pass --yes",
        ],
    );
    assert_eq!(s.names().len(), 4);
    assert_eq!(
        s.ok(&["delete", "movies", "--yes"]),
        "deleted movies, movies:star_trek, movies:star_wars\n"
    );
    assert_eq!(s.names(), ["music"]);
    // Without descendants there is nothing to confirm.
    assert_eq!(s.ok(&["delete", "music"]), "deleted music\n");
    assert!(s.names().is_empty());
    s.fails(&["delete", "music"], 1, &["no switch named \"music\""]);
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

fn concurrent_processes_lose_no_update(s: &Store) {
    s.ok(&["create", "beta"]);
    std::thread::scope(|scope| {
        for worker in 0..2 {
            scope.spawn(move || {
                for i in 0..20 {
                    let id = format!("w{worker}-{i}");
                    s.ok(&["allow", "beta", &id]);
                }
            });
        }
    });
    let users = s.show("beta")["users"].clone();
    let mut expected: Vec<String> = (0..2)
        .flat_map(|w| (0..20).map(move |i| format!("w{w}-{i}")))
        .collect();
    expected.sort();
    assert_eq!(users, json!(expected));
    let history: Value =
        serde_json::from_str(&s.ok(&["history", "beta", "--limit", "100", "--json"])).unwrap();
    assert_eq!(
        history.as_array().unwrap().len(),
        41,
        "one entry per change, none lost"
    );
}

fn namespaces_are_apart(s: &Store) {
    s.ok(&["--namespace", "germany", "global", "booze"]);
    s.ok(&["create", "booze"]);
    assert_eq!(s.show("booze")["state"], "disabled");
    let shown: Value =
        serde_json::from_str(&s.ok(&["--namespace", "germany", "show", "booze"])).unwrap();
    assert_eq!(shown["state"], "global");
    assert!(s
        .ok(&["check", "booze", "--namespace", "germany"])
        .starts_with("on\n"));
    assert!(s.ok(&["check", "booze"]).starts_with("off\n"));
    let list = s.ok(&["--namespace", "germany", "list", "--json"]);
    assert_eq!(
        serde_json::from_str::<Value>(&list)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let history: Value =
        serde_json::from_str(&s.ok(&["--namespace", "germany", "history", "--json"])).unwrap();
    assert_eq!(history.as_array().unwrap().len(), 1);
    assert_eq!(history[0]["key"], "germany.booze");
    s.fails(
        &["--namespace", "germany", "show", "nope"],
        1,
        &["no switch named \"nope\" in namespace \"germany\""],
    );
    s.fails(
        &["--namespace", "a.b", "list"],
        1,
        &["invalid namespace \"a.b\""],
    );
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

// ----- one backend only ------------------------------------------------

#[test]
fn a_malformed_store_file_is_an_error_naming_file_and_position() {
    let s = Store::file("malformed");
    let text = "{\"switches\": {\n  \"beta\": oops\n}}";
    std::fs::write(&s.store, text).unwrap();
    for args in [&["list"][..], &["enable", "beta"][..]] {
        s.fails(args, 1, &["invalid JSON", &s.store, "line 2 column 11"]);
    }
    assert_eq!(
        std::fs::read_to_string(&s.store).unwrap(),
        text,
        "left untouched"
    );
}

#[test]
fn the_default_store_is_gate_json_or_gate_store() {
    let dir = support::temp_dir("default_store");
    let gate = |env: Option<&str>, args: &[&str]| {
        let mut command = std::process::Command::new(support::GATE);
        command
            .current_dir(&dir)
            .args(args)
            .env_remove("GATE_STORE")
            .env_remove("GATE_PREFIX");
        if let Some(store) = env {
            command.env("GATE_STORE", store);
        }
        let output = command.output().unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    gate(None, &["create", "here"]);
    assert!(dir.join("gate.json").exists());
    gate(Some("elsewhere.json"), &["create", "there"]);
    assert!(gate(Some("elsewhere.json"), &["list"]).contains("there"));
    assert!(!gate(None, &["list"]).contains("there"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unreachable_redis_is_an_error_saying_so() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://:secret@127.0.0.1:{port}/0");
    let output = std::process::Command::new(support::GATE)
        .args(["--store", &url, "enable", "beta"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "cannot reach Redis at redis://:***@127.0.0.1:{port}/0"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("is redis-server running"), "{stderr}");
    assert!(
        !stderr.contains("secret"),
        "the password is not shown: {stderr}"
    );
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

#[test]
fn no_password_of_a_redis_url_is_printed() {
    // Issue 9: a password in the query string was printed in clear.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let socket = format!("/tmp/gate-cli-no-such-{}.sock", std::process::id());
    let urls = [
        format!("redis://127.0.0.1:{port}/0?password=s3cret"),
        format!("redis+unix://{socket}?pass=s3cret"),
        format!("unix://{socket}?db=1&password=s3cret"),
        format!("redis://:s3cret@127.0.0.1:{port}/zero"),
        format!("redis://:s3/cret@127.0.0.1:{port}/0"),
    ];
    for url in &urls {
        for args in [&["enable", "beta"][..], &["list"], &["history"]] {
            let output = std::process::Command::new(support::GATE)
                .arg("--store")
                .arg(url)
                .args(args)
                .output()
                .unwrap();
            assert_eq!(output.status.code(), Some(1), "{url} {args:?}");
            let stdout = String::from_utf8_lossy(&output.stdout);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                !stdout.contains("s3") && !stderr.contains("s3"),
                "{url} {args:?}: {stdout} {stderr}"
            );
        }
    }
    // The same through GATE_STORE.
    let output = std::process::Command::new(support::GATE)
        .args(["list"])
        .env("GATE_STORE", &urls[1])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("redis+unix://{socket}?pass=***")),
        "{stderr}"
    );
}

#[test]
fn redis_keys_live_under_the_prefix() {
    let s = Store::redis("prefix");
    s.ok(&["allow", "beta", "alice"]);
    let other = Store::redis("prefix_other");
    assert!(other.names().is_empty(), "another prefix sees nothing");
    assert_eq!(s.names(), ["beta"]);
    // GATE_STORE and GATE_PREFIX stand for --store and --prefix.
    let output = std::process::Command::new(support::GATE)
        .args(["show", "beta"])
        .env("GATE_STORE", &s.store)
        .env("GATE_PREFIX", &s.prefix)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("\"alice\""));
}

#[test]
fn every_subcommand_has_help() {
    let subcommands: &[&[&str]] = &[
        &[],
        &["list"],
        &["show"],
        &["create"],
        &["enable"],
        &["disable"],
        &["toggle"],
        &["global"],
        &["percentage"],
        &["allow"],
        &["disallow"],
        &["allow-matching"],
        &["condition"],
        &["condition", "add"],
        &["condition", "remove"],
        &["condition", "list"],
        &["variants"],
        &["delete"],
        &["check"],
        &["export"],
        &["import"],
        &["history"],
        &["outcome"],
        &["put"],
        &["restore"],
    ];
    for sub in subcommands {
        let output = std::process::Command::new(support::GATE)
            .args(*sub)
            .arg("--help")
            .output()
            .unwrap();
        assert!(output.status.success(), "{sub:?} --help: {output:?}");
        let help = String::from_utf8(output.stdout).unwrap();
        let usage = format!("Usage: gate {}", sub.join(" "));
        assert!(help.contains(usage.trim_end()), "{sub:?}: {help}");
        assert!(
            help.contains("--store <URL|FILE>"),
            "{sub:?}: global options listed: {help}"
        );
        assert!(!help.contains('\x1b'), "no colour on a pipe");
    }
    let output = std::process::Command::new(support::GATE)
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8(output.stdout)
        .unwrap()
        .starts_with("gate 0."));
}

/// Runs `gate ARGS` on a pseudo-terminal (util-linux `script`), typing
/// `typed` into it; what the terminal showed, and the exit status.
fn on_terminal(s: &Store, args: &[&str], typed: &str, no_colour: bool) -> (Option<i32>, String) {
    use std::io::Write as _;
    let quote = |arg: &str| format!("'{}'", arg.replace('\'', r"'\''"));
    let mut line = vec![quote(support::GATE), "--store".into(), quote(&s.store)];
    line.extend(args.iter().map(|a| quote(a)));
    let mut command = std::process::Command::new("script");
    command
        .args(["-qec", &line.join(" "), "/dev/null"])
        .env("USER", "tester")
        .env_remove("GATE_STORE")
        .env_remove("NO_COLOR")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    if no_colour {
        command.env("NO_COLOR", "1");
    }
    let mut child = command.spawn().unwrap_or_else(|e| {
        panic!("these tests need util-linux `script` for a pseudo-terminal ({e}): apt-get install util-linux")
    });
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(typed.as_bytes())
        .unwrap();
    drop(child.stdin.take());
    let output = child.wait_with_output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).replace("\r\n", "\n"),
    )
}

#[test]
fn delete_asks_on_a_terminal() {
    let s = Store::file("delete_terminal");
    for name in ["movies", "movies:star_wars", "music"] {
        s.ok(&["create", name]);
    }
    let (code, shown) = on_terminal(&s, &["delete", "movies"], "n\n", false);
    assert_eq!(code, Some(1), "{shown}");
    assert!(
        shown.contains("deleting movies also deletes its 1 descendant (movies:star_wars). Delete them all? [y/N]"),
        "{shown}"
    );
    assert!(shown.contains("not confirmed; nothing deleted"), "{shown}");
    assert_eq!(s.names().len(), 3);

    let (code, shown) = on_terminal(&s, &["delete", "movies"], "y\n", false);
    assert_eq!(code, Some(0), "{shown}");
    assert!(
        shown.contains("deleted movies, movies:star_wars"),
        "{shown}"
    );
    assert_eq!(s.names(), ["music"]);
    // Nothing to confirm without descendants.
    let (code, shown) = on_terminal(&s, &["delete", "music"], "", false);
    assert_eq!((code, shown.trim()), (Some(0), "deleted music"));
}

#[test]
fn colour_only_on_a_terminal() {
    let s = Store::file("colour");
    s.ok(&["global", "on_for_all"]);
    s.ok(&["create", "off_for_all"]);
    let (_, shown) = on_terminal(&s, &["list"], "", false);
    assert!(shown.contains("\x1b[32mglobal\x1b[0m"), "{shown:?}");
    assert!(shown.contains("\x1b[31mdisabled\x1b[0m"), "{shown:?}");
    let (_, shown) = on_terminal(&s, &["check", "on_for_all"], "", false);
    assert!(shown.starts_with("\x1b[32mon\x1b[0m\n"), "{shown:?}");
    let (_, shown) = on_terminal(&s, &["check", "off_for_all"], "", false);
    assert!(shown.starts_with("\x1b[31moff\x1b[0m\n"), "{shown:?}");
    // NO_COLOR turns it off; a pipe never has it.
    let (_, shown) = on_terminal(&s, &["list"], "", true);
    assert!(!shown.contains('\x1b'), "{shown:?}");
    assert!(!s.ok(&["list"]).contains('\x1b'));
}
