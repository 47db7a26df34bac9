//! Issue 9, item 3: a switch is accepted if and only if it can be stored,
//! read back and evaluated. Every write path refuses what the rules
//! refuse, naming the field; reading applies the same rules; every
//! accepted regular expression judges a 100 KB id quickly.

use gate::SwitchKey;
use std::time::{Duration, Instant};

use gate::storage::FileStorage;
use gate::{limits, BatchWrite, Condition, Error, Manager, Operator, State, Switch, Value};

/// The worst patterns the limits still accept, and how long one match of
/// a 100 KB id may take here (debug build, shared machine: generous; the
/// release figure is far below 1 ms).
const WORST_ACCEPTED: &[&str] = &[
    "(?:a{30}){30}b",
    "(?:a{20}){25}c",
    "[01]*1[01]{13}2",
    "[ab]*a[ab]{12}c",
    r"\w{5}!",
    r"(?:\w+\.){3}\w+!",
    r"\p{L}{3}!",
    "(?:[a-c]{1,20}){1,20}d",
    "(.*){10}!",
    "a{900}b",
];

fn hay(kind: usize, n: usize) -> String {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n)
        .map(|_| match kind {
            0 => 'a',
            1 => ['0', '1'][(next() % 2) as usize],
            2 => ['a', 'b'][(next() % 2) as usize],
            _ => b"abcdefghijklmnopqrstuvwxyz0123456789._"[(next() % 38) as usize] as char,
        })
        .collect()
}

#[test]
fn every_accepted_pattern_judges_a_100_kb_id_quickly() {
    let hays: Vec<String> = (0..4).map(|k| hay(k, 100_000)).collect();
    let mut worst = (Duration::ZERO, "", 0);
    for pattern in WORST_ACCEPTED {
        let op = Operator::matches(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
        for (k, id) in hays.iter().enumerate() {
            // The best of three: the machine may be busy with other work.
            let took = (0..3)
                .map(|_| {
                    let t = Instant::now();
                    let _ = op.apply(&Value::from(id.as_str()), None);
                    t.elapsed()
                })
                .min()
                .unwrap_or_default();
            if took > worst.0 {
                worst = (took, pattern, k);
            }
        }
    }
    eprintln!("slowest accepted pattern on a 100 KB id: {worst:?}");
    // 1 ms is the target of an optimized build; a debug build runs the
    // matching loop unoptimized.
    let bound = if cfg!(debug_assertions) {
        Duration::from_millis(50)
    } else {
        Duration::from_millis(1)
    };
    assert!(
        worst.0 < bound,
        "the slowest accepted pattern took {worst:?}"
    );
}

#[test]
fn patterns_too_complex_to_judge_quickly_are_refused() {
    for pattern in [
        "(?:a{100}){100}b",
        "(?:a{50}){50}b",
        "[01]*1[01]{20}2",
        r"\w{30}!",
        r"(?:\w{10}){10}!",
        r"\p{L}{50}",
        "a{5000}b",
    ] {
        let t = Instant::now();
        let err = Operator::matches(pattern).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidRegex { pattern: p, reason } if p == pattern && reason.contains("too complex")),
            "{pattern}: {err}"
        );
        assert_eq!(err.field(), Some("operator"));
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "{pattern}: refused in {:?}",
            t.elapsed()
        );
    }
    let long = "a".repeat(limits::MAX_PATTERN_LEN + 1);
    assert!(Operator::matches(&long).is_err());
    let err = Operator::matches(r"\bword\b").unwrap_err();
    assert!(err.to_string().contains("(?-u:\\b)"), "{err}");
    assert!(Operator::matches(r"(?-u:\b)word(?-u:\b)").is_ok());
}

/// A switch that breaks a rule only through its public fields, since the
/// constructors refuse to build it.
fn broken_switches() -> Vec<(&'static str, Switch)> {
    let base = || Switch::new("broken").state(State::Selective);
    let condition = || Condition::new("User", "age", Operator::truthy()).unwrap();
    let mut empty_kind = condition();
    empty_kind.argument = gate::Argument::Kind(String::new());
    let mut empty_attribute = condition();
    empty_attribute.attribute = String::new();
    let mut spaced_attribute = condition();
    spaced_attribute.attribute = " age".into();
    let many = (0..=limits::MAX_CONDITIONS).map(|_| condition());
    let mut too_many = base();
    too_many.conditions.extend(many);
    vec![
        ("conditions[0].argument", base().condition(empty_kind)),
        ("conditions[0].attribute", base().condition(empty_attribute)),
        (
            "conditions[0].attribute",
            base().condition(spaced_attribute),
        ),
        ("conditions", too_many),
        ("label", base().label("x".repeat(limits::MAX_LABEL_LEN + 1))),
        ("label", base().label("evil\u{202E}txt")),
        ("label", base().label("two\nlines")),
        (
            "description",
            base().description("x".repeat(limits::MAX_DESCRIPTION_LEN + 1)),
        ),
        ("salt", base().salt("s".repeat(limits::MAX_SALT_LEN + 1))),
        ("variants[1].name", base().variants(["a", ""])),
        ("variants[1].name", base().variants(["a", "a"])),
        ("variants[0].name", base().variants(["a\u{200B}"])),
        (
            "variants",
            base().variants((0..=limits::MAX_VARIANTS).map(|i| i.to_string())),
        ),
        ("name", Switch::new("x".repeat(limits::MAX_NAME_LEN + 1))),
        ("name", Switch::new(" padded")),
        ("name", Switch::new("parent: child")),
        ("name", Switch::new("zero\u{200B}width")),
        ("name", Switch::new("bidi\u{202E}name")),
        ("name", Switch::new("tab\there")),
    ]
}

#[test]
fn operands_that_cannot_be_stored_or_compared_are_refused() {
    for (what, result) in [
        ("NaN", Operator::less_than(f64::NAN)),
        ("infinity", Operator::more_than(f64::INFINITY)),
        ("-infinity", Operator::equals(f64::NEG_INFINITY)),
        ("NaN in one_of", Operator::one_of([1.0, f64::NAN])),
        ("bool order", Operator::less_than(true)),
        ("empty between", Operator::between(5, 5)),
        ("reversed between", Operator::between(65, 18)),
        ("mixed between", Operator::between(1, "z")),
        ("empty one_of", Operator::one_of(Vec::<i64>::new())),
        (
            "mixed one_of",
            Operator::one_of([Value::from(1), Value::from("1")]),
        ),
        (
            "long string",
            Operator::equals("x".repeat(limits::MAX_OPERAND_LEN + 1)),
        ),
        (
            "long strip",
            Operator::strip_ignorecase_equals("x".repeat(limits::MAX_OPERAND_LEN + 1)),
        ),
        ("percent", Operator::percent(200)),
        ("percent_range", Operator::percent_range(30, 20)),
    ] {
        let err = result.expect_err(what);
        assert!(
            err.field() == Some("operator") || err.field() == Some("percentage"),
            "{what}: {err:?}"
        );
    }
    assert!(Operator::between(1, 2.5).is_ok(), "numbers mix");
    assert!(Operator::between("a", "b").is_ok());
    assert!(
        Operator::percent_range(20, 20).is_ok(),
        "an empty range is allowed"
    );
    assert!(gate::Percentage::new(101).is_err());
}

/// `Condition::new` takes an operator or the result of building one, so a
/// helper closure can pass `Operator::more_than(18)` as it is (the shared
/// benchmark against Unleash writes it so) and the operator's error still
/// comes out, naming the field.
#[test]
fn condition_new_takes_an_operator_or_its_result() {
    let cond = |attr: &str, op| Condition::new("User", attr, op);
    let age = cond("age", Operator::more_than(18)).expect("a valid operator");
    assert_eq!(age.operator, Operator::more_than(18).unwrap());
    let err = cond("age", Operator::more_than(f64::NAN)).expect_err("NaN is refused");
    assert_eq!(err.field(), Some("operator"), "{err:?}");
    let plain = Condition::new("User", "plan", Operator::truthy()).unwrap();
    assert_eq!(plain.operator, Operator::truthy());
}

#[tokio::test]
async fn every_write_path_refuses_what_the_rules_refuse_and_names_the_field() {
    let manager = Manager::in_memory();
    manager.register(Switch::new("broken")).await.unwrap();
    for (field, switch) in broken_switches() {
        let named = |err: Error| {
            assert_eq!(err.field(), Some(field), "{field}: {err}");
        };
        named(manager.register(switch.clone()).await.unwrap_err());
        let mut update = switch.clone();
        update.version = 1;
        if update.name == "broken" {
            named(manager.update(update).await.unwrap_err());
            let replacement = switch.clone();
            named(
                manager
                    .modify("broken", move |s| *s = replacement.clone())
                    .await
                    .unwrap_err(),
            );
        }
        named(manager.import(vec![switch.clone()]).await.unwrap_err());
        named(
            manager
                .plan_import(std::slice::from_ref(&switch))
                .unwrap_err(),
        );
        named(
            manager
                .write_all(vec![BatchWrite::Create(switch.clone())])
                .await
                .unwrap_err(),
        );
        // What the API refuses, reading refuses too.
        let json = serde_json::to_string(&switch).unwrap();
        named(Switch::from_json(&json).unwrap_err());
        assert!(serde_json::from_str::<Switch>(&json).is_err(), "{field}");
    }
    assert_eq!(
        manager.switch("broken").unwrap().version,
        1,
        "nothing was written"
    );
    assert_eq!(manager.switches().len(), 1);

    for bad in [
        "",
        " ns",
        "a\u{202E}b",
        &"n".repeat(limits::MAX_NAMESPACE_LEN + 1),
    ] {
        let err = manager.namespaced(bad).unwrap_err();
        assert_eq!(err.field(), Some("namespace"), "{bad:?}");
    }
    let err = manager.set_percentage("broken", 200).await.unwrap_err();
    assert_eq!(err, Error::InvalidPercentage { value: 200 });
    let err = manager
        .allow_matching("broken", "(?:a{100}){100}b")
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("operator"));
    let err = manager.enable("bad\u{200B}name").await.unwrap_err();
    assert_eq!(err.field(), Some("name"));
}

#[test]
fn reading_json_applies_the_rules_and_names_the_field() {
    for (json, field) in [
        (
            r#"{"name":"p","conditions":[{"argument":"@id","operator":{"percent":200}}]}"#,
            "conditions[0].percentage",
        ),
        (
            r#"{"name":"p","conditions":[{"argument":"","attribute":"a","operator":"truthy"}]}"#,
            "conditions[0].argument",
        ),
        (
            r#"{"name":"p","conditions":[{"argument":"User","attribute":"a","operator":"truthy"},{"argument":"User","attribute":"a","operator":{"between":{"lower":9,"upper":1}}}]}"#,
            "conditions[1].operator",
        ),
        (
            r#"{"name":"p","conditions":[{"argument":"User","attribute":"a","operator":{"less_than":true}}]}"#,
            "conditions[0].operator",
        ),
        (
            r#"{"name":"p","conditions":[{"argument":"@id","operator":{"matches":"(?:a{100}){100}b"}}]}"#,
            "conditions[0].operator",
        ),
        (r#"{"name":"p","label":"\u202e"}"#, "label"),
        (r#"{"name":" p"}"#, "name"),
    ] {
        let err = Switch::from_json(json).unwrap_err();
        assert_eq!(err.field(), Some(field), "{json}: {err}");
        let message = err.to_string();
        assert!(message.contains(field), "{message}");
    }
    // `null` (what serde_json writes for NaN) is not a number.
    let null = r#"{"name":"p","conditions":[{"argument":"User","attribute":"a","operator":{"less_than":null}}]}"#;
    assert!(matches!(
        Switch::from_json(null),
        Err(Error::InvalidJson { .. })
    ));
}

#[tokio::test]
async fn a_refused_switch_never_reaches_the_file_store() {
    let dir = std::env::temp_dir().join(format!("gate-validation-file-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("switches.json");
    let manager = Manager::builder()
        .storage(FileStorage::open(&path).unwrap())
        .build();
    manager.set_percentage("fine", 10).await.unwrap();
    for (_, switch) in broken_switches() {
        assert!(manager.register(switch).await.is_err());
    }
    assert!(Operator::less_than(f64::INFINITY).is_err());
    // Every reader still reads the file, and a delete works.
    let other = Manager::builder()
        .storage(FileStorage::open(&path).unwrap())
        .build();
    assert_eq!(other.switches().len(), 1);
    assert_eq!(other.unregister("fine").await.unwrap().len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A snapshot file holding one record the rules refuse (`null` is what a
/// NaN bound used to be written as) still gives a node starting while
/// Redis is down every other switch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_bad_record_in_a_snapshot_skips_that_record_only() {
    let dir = std::env::temp_dir().join(format!("gate-validation-snapshot-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let snapshot = dir.join("snapshot.json");
    std::fs::write(
        &snapshot,
        r#"[{"key":"good","switch":{"name":"good","state":"global","version":3}},
            {"key":"poison","switch":{"name":"poison","state":"selective","conditions":[{"argument":"User","attribute":"age","operator":{"less_than":null}}],"version":1}}]"#,
    )
    .unwrap();
    // Nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let node = Manager::builder()
        .redis(format!("redis://127.0.0.1:{port}/0"))
        .prefix("validation-snapshot")
        .snapshot_file(&snapshot)
        .timeout(Duration::from_millis(300))
        .build()
        .await
        .unwrap();
    assert!(node.active("good", ()), "the good record is served");
    assert!(node.switch("poison").is_none());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Even used directly, through the `Storage` trait, the memory and file
/// storages refuse a switch the rules refuse: the file stays readable.
#[tokio::test]
async fn the_storages_themselves_refuse_what_the_rules_refuse() {
    use gate::{MemoryStorage, Storage};
    let dir = std::env::temp_dir().join(format!("gate-validation-direct-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("switches.json");
    let file = FileStorage::open(&path).unwrap();
    let memory = MemoryStorage::new();
    for (field, switch) in broken_switches() {
        let key = switch.name.clone();
        for storage in [&file as &dyn Storage, &memory] {
            let err = storage
                .insert(&SwitchKey::parse(&key), "test", switch.clone())
                .await
                .unwrap_err();
            assert_eq!(err.field(), Some(field), "{err}");
            let err = storage
                .write_batch(
                    "test",
                    vec![(SwitchKey::parse(&key), BatchWrite::Create(switch.clone()))],
                )
                .await
                .unwrap_err();
            assert_eq!(err.field(), Some(field), "{err}");
        }
    }
    file.insert(&SwitchKey::parse("fine"), "test", Switch::new("fine"))
        .await
        .unwrap();
    let mut broken = broken_switches().remove(0).1;
    broken.name = "fine".into();
    broken.version = 1;
    assert!(file
        .update(&SwitchKey::parse("fine"), "test", broken)
        .await
        .is_err());
    assert_eq!(FileStorage::open(&path).unwrap().reload().unwrap().len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}
