//! The real `gate` binary, run as a process. Creating, showing, listing,
//! changing and deleting switches: the state commands, percentages, allow-
//! lists, variants; concurrent processes; namespaces. Every test marked
//! `both!` runs on a JSON file store and on Redis (the machine's server or
//! `GATE_REDIS_URL`, one key prefix per test).

#![allow(missing_docs)]

#[macro_use]
mod support;

use serde_json::{json, Value};
use support::Store;

both!(
    create_show_and_list,
    state_commands,
    percentage_and_allow_matching,
    allow_and_disallow,
    variants,
    delete_asks_for_yes_when_not_on_a_terminal,
    concurrent_processes_lose_no_update,
    namespaces_are_apart,
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
