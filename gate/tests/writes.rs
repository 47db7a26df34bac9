//! Writes through the manager: bad input is a typed error that changes
//! nothing, lost updates are detected, concurrent modifies lose nothing,
//! the rollout shortcuts, a modify without change; and a switch's JSON
//! form, as storages keep it.

mod common;

use common::{adult, secure};
use gate::testing::Recorder;
use gate::{Condition, Error, Manager, Operator, State, Switch};

#[tokio::test]
async fn bad_input_is_a_typed_error_and_changes_nothing() {
    let manager = Manager::in_memory();
    manager.set_percentage("p", 20).await.unwrap();
    let before = manager.switch("p").unwrap();

    assert_eq!(
        manager.register(Switch::new("")).await,
        Err(Error::EmptyName)
    );
    let err = manager.set_percentage("p", 101).await.unwrap_err();
    assert_eq!(err, Error::InvalidPercentage { value: 101 });
    assert!(err.to_string().contains("101"));
    let err = Operator::percent_range(60, 40).unwrap_err();
    assert_eq!(
        err,
        Error::InvalidRange {
            lower: 60,
            upper: 40
        }
    );
    assert!(err.to_string().contains("60..40"));
    let err = manager.allow_matching("p", "(unclosed").await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidRegex { pattern, .. } if pattern == "(unclosed"),
        "{err}"
    );
    assert!(err.to_string().contains("(unclosed"));
    let err = manager
        .modify("p", |s| {
            s.variants = vec![gate::Variant {
                name: "a".into(),
                weight: 0,
            }]
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidVariants { names, .. } if names == &["a"]),
        "{err}"
    );
    let err = manager.namespaced("a.b").unwrap_err();
    assert!(matches!(&err, Error::InvalidNamespace { namespace, .. } if namespace == "a.b"));
    assert!(manager.namespaced("a:b").is_err());
    assert!(manager.namespaced("").is_err());
    for bad in ["a.b", ":a", "a:", "a::b"] {
        let err = manager.register(Switch::new(bad)).await.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidName { name, .. } if name == bad),
            "{bad}: {err}"
        );
    }
    let err = manager
        .modify("p", |s| s.name = "q".into())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidName { .. }));
    let err = manager.register(Switch::new("p")).await.unwrap_err();
    assert_eq!(err, Error::AlreadyExists { name: "p".into() });
    assert!(Condition::new("", "age", Operator::truthy()).is_err());
    assert!(Condition::new("@x", "age", Operator::truthy()).is_err());
    assert!(Condition::new("User", "", Operator::truthy()).is_err());

    assert_eq!(manager.switch("p").unwrap(), before, "nothing changed");
    assert_eq!(manager.switches().len(), 1);
}

#[tokio::test]
async fn update_detects_lost_updates() {
    let manager = Manager::in_memory();
    manager.register(Switch::new("f")).await.unwrap();
    let mine = manager.switch("f").unwrap();
    let theirs = manager.switch("f").unwrap();
    let saved = manager.update(mine.state(State::Global)).await.unwrap();
    assert_eq!(saved.version, 2);
    let err = manager.update(theirs.label("mine")).await.unwrap_err();
    assert_eq!(
        err,
        Error::Conflict {
            name: "f".into(),
            expected: 1,
            found: 2
        }
    );
    assert!(err.to_string().contains("modify"));
    assert_eq!(
        manager.switch("f").unwrap(),
        saved,
        "the conflicting write changed nothing"
    );
    assert_eq!(
        manager.update(Switch::new("ghost")).await,
        Err(Error::NotFound {
            name: "ghost".into()
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_modifies_lose_nothing() {
    let manager = Manager::in_memory();
    manager
        .register(Switch::new("counter").description("0"))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let m = manager.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..200 {
                m.modify("counter", |s| {
                    let n: u64 = s.description.as_deref().unwrap_or("0").parse().unwrap();
                    s.description = Some((n + 1).to_string());
                })
                .await
                .unwrap();
                tokio::task::yield_now().await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let counter = manager.switch("counter").unwrap();
    assert_eq!(counter.description.as_deref(), Some("400"));
    assert_eq!(counter.version, 401);
}

#[tokio::test]
async fn the_rollout_shortcuts() {
    let manager = Manager::in_memory();
    // Shortcuts create the switch, selective.
    let s = manager.allow("new", "1").await.unwrap();
    assert_eq!(s.state, State::Selective);
    assert!(manager.is_enabled("new"));
    manager.disable("new").await.unwrap();
    assert!(!manager.is_enabled("new"));
    assert!(!manager.active("new", "1"), "rules kept but disabled");
    manager.enable("new").await.unwrap();
    assert!(manager.active("new", "1"), "enable keeps the rules");
    manager.enable_for_all("new").await.unwrap();
    assert!(manager.active("new", "2"));
    // Toggle: enabled → disabled; disabled with rules → selective.
    assert_eq!(manager.toggle("new").await.unwrap().state, State::Disabled);
    assert_eq!(manager.toggle("new").await.unwrap().state, State::Selective);
    // Toggle of a switch without rules turns it on for everybody.
    assert_eq!(manager.toggle("kill").await.unwrap().state, State::Global);
    assert_eq!(manager.toggle("kill").await.unwrap().state, State::Disabled);
    assert_eq!(manager.toggle("kill").await.unwrap().state, State::Global);
    // A selective switch at 0% is enabled but active for no one.
    manager.set_percentage("zero", 0).await.unwrap();
    assert!(manager.is_enabled("zero"));
    assert!(!manager.active("zero", "443301"));
    // set_percentage leaves an existing switch's state alone.
    manager.disable("zero").await.unwrap();
    manager.set_percentage("zero", 50).await.unwrap();
    assert_eq!(manager.switch("zero").unwrap().state, State::Disabled);
}

#[tokio::test]
async fn modify_without_change_writes_nothing() {
    let manager = Manager::in_memory();
    manager.register(Switch::new("f")).await.unwrap();
    let updated = Recorder::connect(&manager.signals().switch_updated);
    let same = manager.modify("f", |_| {}).await.unwrap();
    assert_eq!(same.version, 1);
    assert!(updated.events().is_empty());
    assert_eq!(
        manager.modify("ghost", |_| {}).await,
        Err(Error::NotFound {
            name: "ghost".into()
        })
    );
}

#[tokio::test]
async fn json_round_trip_and_errors() {
    let switch = Switch::new("movies:star_wars")
        .state(State::Selective)
        .compounded(true)
        .concent(false)
        .condition(adult())
        .condition(secure().negative())
        .condition(Condition::identity(Operator::matches("^a").unwrap()))
        .condition(
            Condition::new(
                "User",
                "location",
                Operator::one_of(["Paris", "Rome"]).unwrap(),
            )
            .unwrap(),
        )
        .condition(Condition::new("User", "age", Operator::between(1, 2.5).unwrap()).unwrap())
        .condition(
            Condition::new(
                "User",
                "name",
                Operator::strip_ignorecase_equals(" Bob ").unwrap(),
            )
            .unwrap(),
        )
        .condition(Condition::identity(
            Operator::percent_range(10, 20).unwrap(),
        ))
        .allow("7")
        .weighted_variants([("a", 1), ("b", 3)])
        .label("Star Wars")
        .description("all of it")
        .salt("s1");
    let json = switch.to_json();
    assert_eq!(Switch::from_json(&json).unwrap(), switch);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    for field in [
        "name",
        "state",
        "compounded",
        "concent",
        "conditions",
        "users",
        "variants",
        "label",
        "description",
        "salt",
        "version",
    ] {
        assert!(value.get(field).is_some(), "field {field} in {json}");
    }
    assert_eq!(
        value["conditions"][0]["operator"],
        serde_json::json!({"more_than_or_equal_to": 21})
    );
    assert_eq!(value["conditions"][1]["negative"], true);

    // Defaults: concent true, state disabled.
    let minimal = Switch::from_json(r#"{"name":"x"}"#).unwrap();
    assert!(minimal.concent);
    assert_eq!(minimal.state, State::Disabled);

    let err = Switch::from_json(
        r#"{"name":"x","conditions":[{"argument":"User","attribute":"a","operator":{"bigger_than":3}}]}"#,
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidJson { reason, .. } if reason.contains("bigger_than")),
        "{err}"
    );
    let err = Switch::from_json(
        r#"{"name":"x","conditions":[{"argument":"@id","operator":{"percent":140}}]}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("140"), "{err}");
    let err = Switch::from_json(
        r#"{"name":"x","conditions":[{"argument":"@id","operator":{"matches":"("}}]}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("regular expression"), "{err}");
    let err = Switch::from_json(r#"{"name": 3}"#).unwrap_err();
    assert!(matches!(err, Error::InvalidJson { .. }));
    assert!(Switch::from_json("{not json").is_err());
    assert_eq!(Switch::from_json(r#"{"name":""}"#), Err(Error::EmptyName));
}
