//! The evaluation rules of DESIGN.md, one test each.

mod common;

use std::sync::Arc;

use common::{request, Request, User};
use gate::testing::Recorder;
use gate::{Condition, ConditionError, Error, Manager, Operator, State, Switch};

fn user(id: u64, age: i64) -> User {
    User::new(id, "u", age, "Paris", false)
}

async fn selective(manager: &Manager, name: &str, compounded: bool, conditions: Vec<Condition>) {
    let mut switch = Switch::new(name)
        .state(State::Selective)
        .compounded(compounded);
    switch.conditions = conditions;
    manager.register(switch).await.unwrap();
}

fn adult() -> Condition {
    Condition::new("User", "age", Operator::more_than_or_equal_to(21).unwrap()).unwrap()
}

fn secure() -> Condition {
    Condition::new("Request", "secure", Operator::truthy()).unwrap()
}

#[tokio::test]
async fn disabled_and_global_ignore_inputs() {
    let manager = Manager::in_memory();
    manager.register(Switch::new("off")).await.unwrap();
    manager
        .register(Switch::new("on").state(State::Global))
        .await
        .unwrap();
    assert!(!manager.active("off", user(1, 40)));
    assert!(manager.active("on", ()));
    assert!(manager.active("on", user(1, 1)));
}

#[tokio::test]
async fn selective_without_inputs_is_off() {
    let manager = Manager::in_memory();
    selective(&manager, "s", false, vec![adult()]).await;
    assert!(!manager.active("s", ()));
}

#[tokio::test]
async fn inputs_without_applicable_conditions_abstain() {
    let manager = Manager::in_memory();
    selective(&manager, "adults", false, vec![adult()]).await;
    // The request abstains: only the user judges.
    assert!(manager.active("adults", (request("1.2.3.4"), user(1, 30))));
    assert!(!manager.active("adults", (request("1.2.3.4"), user(1, 10))));
    // Only abstaining inputs: off.
    assert!(!manager.active("adults", request("1.2.3.4")));
    // Compounded: an abstaining input does not veto.
    selective(&manager, "adults_c", true, vec![adult()]).await;
    assert!(manager.active("adults_c", (request("1.2.3.4"), user(1, 30))));
    assert!(
        !manager.active("adults_c", request("1.2.3.4")),
        "nobody judged"
    );
}

#[tokio::test]
async fn compounded_across_inputs_of_several_kinds() {
    let manager = Manager::in_memory();
    selective(&manager, "c", true, vec![adult(), secure()]).await;
    let insecure = Request {
        secure: false,
        ..request("1.2.3.4")
    };
    assert!(manager.active("c", (user(1, 30), request("1.2.3.4"))));
    assert!(
        !manager.active("c", (user(1, 30), insecure.clone())),
        "the request says no"
    );
    assert!(
        !manager.active("c", (user(1, 10), request("1.2.3.4"))),
        "the user says no"
    );
    assert!(
        manager.active("c", user(1, 30)),
        "the only judging input says yes"
    );
    // Two users: every judging input must say yes.
    assert!(!manager.active("c", (user(1, 30), user(2, 10))));
    assert!(manager.active("c", (user(1, 30), user(2, 50))));

    // Not compounded: any judging input saying yes is enough.
    selective(&manager, "any", false, vec![adult(), secure()]).await;
    assert!(manager.active("any", (user(1, 10), request("1.2.3.4"))));
    assert!(manager.active("any", (user(1, 30), insecure.clone())));
    assert!(!manager.active("any", (user(1, 10), insecure)));
}

#[tokio::test]
async fn compounded_needs_all_conditions_of_one_input() {
    let manager = Manager::in_memory();
    let paris = Condition::new("User", "location", Operator::equals("Paris").unwrap()).unwrap();
    selective(&manager, "c", true, vec![adult(), paris.clone()]).await;
    assert!(manager.active("c", user(1, 30)));
    assert!(!manager.active("c", User::new(1, "u", 30, "Rome", false)));
    selective(&manager, "a", false, vec![adult(), paris]).await;
    assert!(manager.active("a", User::new(1, "u", 30, "Rome", false)));
    assert!(manager.active("a", user(1, 3)));
}

#[tokio::test]
async fn an_erroring_condition_is_false_even_when_negative_and_fires_a_signal() {
    let manager = Manager::in_memory();
    let errors = Recorder::connect(&manager.signals().condition_apply_error);
    // `more_than` a number on a string attribute: a type mismatch.
    let bad = Condition::new("User", "name", Operator::more_than(10).unwrap()).unwrap();
    selective(&manager, "bad", false, vec![bad.clone()]).await;
    selective(
        &manager,
        "bad_negative",
        false,
        vec![bad.clone().negative()],
    )
    .await;
    assert!(!manager.active("bad", user(1, 30)));
    assert!(!manager.active("bad_negative", user(1, 30)));
    let events = errors.events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].switch, "bad");
    assert_eq!(events[0].input_kind, "User");
    assert_eq!(events[0].condition, bad);
    assert_eq!(
        events[0].error,
        ConditionError::TypeMismatch {
            operator: "more_than",
            expected: "int",
            found: "string"
        }
    );
    // A missing attribute is an error too.
    let missing = Condition::new("User", "shoe_size", Operator::more_than(10).unwrap()).unwrap();
    selective(&manager, "missing", false, vec![missing.negative()]).await;
    assert!(!manager.active("missing", user(1, 30)));
    assert_eq!(errors.events()[2].error, ConditionError::MissingAttribute);
    // A negative condition that can be evaluated inverts.
    selective(&manager, "minors", false, vec![adult().negative()]).await;
    assert!(manager.active("minors", user(1, 10)));
    assert!(!manager.active("minors", user(1, 30)));
}

#[tokio::test]
async fn unknown_switches() {
    let manager = Manager::in_memory();
    assert!(!manager.active("nope", "1"));
    assert_eq!(
        manager.try_active("nope", "1"),
        Err(Error::NotFound {
            name: "nope".into()
        })
    );
    assert!(manager.switch("nope").is_none(), "no autocreate by default");
    assert_eq!(manager.variant("nope", "1"), None);
    assert!(!manager.is_enabled("nope"));

    let auto = Manager::builder().autocreate(true).build();
    assert_eq!(
        auto.try_active("fresh", "1"),
        Err(Error::NotFound {
            name: "fresh".into()
        })
    );
    let fresh = auto.switch("fresh").expect("registered on first check");
    assert_eq!((fresh.state, fresh.version), (State::Disabled, 1));
    assert!(!auto.active("bad.name", "1"));
    assert!(
        auto.switch("bad.name").is_none(),
        "invalid names are not autocreated"
    );
}

#[tokio::test]
async fn identity_percentages_follow_the_design_examples() {
    let manager = Manager::in_memory();
    manager.set_percentage("p", 80).await.unwrap();
    assert!(manager.active("p", "443301"), "bucket 5");
    assert!(!manager.active("p", "44488"), "bucket 88");
    assert!(!manager.active("p", "444401"), "bucket 85");
    assert!(manager.active("p", "jeff"), "bucket 76");
    // An integer id is bucketed as its decimal text: 1007 → 88, not 7.
    manager.set_percentage("p", 88).await.unwrap();
    assert!(!manager.active("p", 1007u64));
    manager.set_percentage("p", 89).await.unwrap();
    assert!(manager.active("p", 1007u64));
    assert!(manager.active("p", "1007"));
    assert_eq!(
        manager.switch("p").unwrap().conditions.len(),
        1,
        "set_percentage replaces"
    );
    // 0 and 100.
    manager.set_percentage("p", 0).await.unwrap();
    assert!((0..500u64).all(|id| !manager.active("p", id)));
    manager.set_percentage("p", 100).await.unwrap();
    assert!((0..500u64).all(|id| manager.active("p", id)));
}

#[tokio::test]
async fn attribute_percentages_follow_gutter() {
    let manager = Manager::in_memory();
    let by_age = |p| Condition::new("User", "age", Operator::percent(p).unwrap()).unwrap();
    // An integer attribute is rem_euclid(100): 1007 → 7.
    selective(&manager, "a8", false, vec![by_age(8)]).await;
    selective(&manager, "a7", false, vec![by_age(7)]).await;
    assert!(manager.active("a8", user(1, 1007)));
    assert!(!manager.active("a7", user(1, 1007)));
    assert!(manager.active("a8", user(1, -93)), "-93 rem_euclid 100 = 7");
    // A string attribute by its CRC: "jeff" → 76.
    let by_name =
        |lo, hi| Condition::new("User", "name", Operator::percent_range(lo, hi).unwrap()).unwrap();
    selective(&manager, "r", false, vec![by_name(76, 77)]).await;
    assert!(manager.active("r", User::new(1, "jeff", 1, "x", false)));
    selective(&manager, "r2", false, vec![by_name(70, 76)]).await;
    assert!(!manager.active("r2", User::new(1, "jeff", 1, "x", false)));
}

#[tokio::test]
async fn a_bool_percentage_samples_at_random() {
    let manager = Manager::in_memory();
    let by_married = |p| Condition::new("User", "married", Operator::percent(p).unwrap()).unwrap();
    selective(&manager, "half", false, vec![by_married(50)]).await;
    let u = User::new(1, "u", 30, "x", true);
    let on = (0..2000).filter(|_| manager.active("half", &u)).count();
    assert!((800..1200).contains(&on), "{on} of 2000 at 50%");
    selective(&manager, "never", false, vec![by_married(0)]).await;
    assert!((0..200).all(|_| !manager.active("never", &u)));
}

#[tokio::test]
async fn a_salt_gives_independent_percentages() {
    let manager = Manager::in_memory();
    manager.set_percentage("plain", 10).await.unwrap();
    manager.set_percentage("salted", 10).await.unwrap();
    manager
        .modify("salted", |s| s.salt = Some("exp42".into()))
        .await
        .unwrap();
    let mut differ = 0;
    for id in 0..2000u64 {
        let plain = gate::bucket(&id.to_string()) < 10;
        let salted = gate::crc32(format!("exp42:{id}").as_bytes()) % 100 < 10;
        assert_eq!(manager.active("plain", id), plain, "id {id}");
        assert_eq!(manager.active("salted", id), salted, "id {id}");
        differ += usize::from(plain != salted);
    }
    assert!(
        differ > 200,
        "the two 10% groups should mostly differ ({differ})"
    );
}

#[tokio::test]
async fn the_allow_list_and_regex_rules() {
    let manager = Manager::in_memory();
    manager.allow("beta", 42u64).await.unwrap();
    manager.allow("beta", "alice").await.unwrap();
    assert!(manager.active("beta", 42u64));
    assert!(manager.active("beta", "42"));
    assert!(manager.active("beta", "alice"));
    assert!(!manager.active("beta", "bob"));
    assert!(
        manager.active("beta", ("bob", "alice")),
        "any input in the list"
    );
    manager.disallow("beta", "alice").await.unwrap();
    assert!(!manager.active("beta", "alice"));

    manager
        .allow_matching("beta", r"^staff-\d+$")
        .await
        .unwrap();
    manager
        .allow_matching("beta", r"^staff-\d+$")
        .await
        .unwrap();
    assert_eq!(
        manager.switch("beta").unwrap().conditions.len(),
        1,
        "same pattern once"
    );
    assert!(manager.active("beta", "staff-7"));
    assert!(!manager.active("beta", "staff-x"));
    // The allow-list wins even over a compounded failing condition.
    manager
        .modify("beta", |s| s.compounded = true)
        .await
        .unwrap();
    assert!(manager.active("beta", 42u64));
}

#[tokio::test]
async fn variants_by_identity() {
    let manager = Manager::in_memory();
    manager
        .register(
            Switch::new("layout")
                .state(State::Global)
                .variants(["a", "b", "c"]),
        )
        .await
        .unwrap();
    for id in ["443301", "44488", "jeff", "ü字"] {
        let expected = (gate::crc32(id.as_bytes()) % 3) as usize;
        assert_eq!(manager.variant("layout", id), Some(expected), "{id}");
    }
    assert_eq!(
        manager.variant("layout", 1007u64),
        manager.variant("layout", "1007")
    );
    assert_eq!(
        manager.variant("layout", request("1.1.1.1")),
        None,
        "no identity"
    );

    manager
        .register(
            Switch::new("weighted")
                .state(State::Global)
                .weighted_variants([("small", 10), ("big", 90)]),
        )
        .await
        .unwrap();
    for id in 0..500u64 {
        let point = gate::crc32(id.to_string().as_bytes()) % 100;
        let expected = if point < 10 { 0 } else { 1 };
        assert_eq!(manager.variant("weighted", id), Some(expected), "{id}");
    }
    manager.disable("weighted").await.unwrap();
    assert_eq!(manager.variant("weighted", 1u64), None, "off → None");
}

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

#[tokio::test]
async fn every_operator() {
    use gate::Value;
    let v = |x: Value<'static>| x;
    let cases: Vec<(Operator, Value<'static>, Result<bool, ()>)> = vec![
        (Operator::equals(5).unwrap(), v(5.into()), Ok(true)),
        (Operator::equals(5).unwrap(), v(5.0.into()), Ok(true)),
        (Operator::equals("a").unwrap(), v("b".into()), Ok(false)),
        (Operator::equals("5").unwrap(), v(5.into()), Err(())),
        (Operator::equals(true).unwrap(), v(true.into()), Ok(true)),
        (Operator::between(1, 10).unwrap(), v(1.into()), Ok(false)),
        (Operator::between(1, 10).unwrap(), v(5.into()), Ok(true)),
        (
            Operator::between("a", "c").unwrap(),
            v("b".into()),
            Ok(true),
        ),
        (Operator::less_than(3).unwrap(), v(2.5.into()), Ok(true)),
        (Operator::less_than(3).unwrap(), v(3.into()), Ok(false)),
        (
            Operator::less_than_or_equal_to(3).unwrap(),
            v(3.into()),
            Ok(true),
        ),
        (Operator::more_than(3).unwrap(), v(3.into()), Ok(false)),
        (Operator::more_than(3).unwrap(), v("4".into()), Err(())),
        (
            Operator::more_than_or_equal_to(3).unwrap(),
            v(3.into()),
            Ok(true),
        ),
        (Operator::truthy(), v(0.into()), Ok(false)),
        (Operator::truthy(), v("".into()), Ok(false)),
        (Operator::truthy(), v("x".into()), Ok(true)),
        (Operator::truthy(), v(0.5.into()), Ok(true)),
        (Operator::percent(6).unwrap(), v("443301".into()), Ok(true)),
        (Operator::percent(5).unwrap(), v("443301".into()), Ok(false)),
        (Operator::percent(50).unwrap(), v(149.into()), Ok(true)),
        (Operator::percent(50).unwrap(), v(49.5.into()), Ok(true)),
        (Operator::percent(50).unwrap(), v(150.5.into()), Ok(false)),
        (
            Operator::percent_range(5, 6).unwrap(),
            v("443301".into()),
            Ok(true),
        ),
        (
            Operator::percent_range(0, 5).unwrap(),
            v("443301".into()),
            Ok(false),
        ),
        (
            Operator::strip_ignorecase_equals("  Hello ").unwrap(),
            v("hELLO".into()),
            Ok(true),
        ),
        (
            Operator::strip_ignorecase_equals("ÉTÉ").unwrap(),
            v(" été".into()),
            Ok(true),
        ),
        (
            Operator::strip_ignorecase_equals("a").unwrap(),
            v(1.into()),
            Err(()),
        ),
        (
            Operator::matches("^ad+$").unwrap(),
            v("addd".into()),
            Ok(true),
        ),
        (
            Operator::matches("^ad+$").unwrap(),
            v("xad".into()),
            Ok(false),
        ),
        (Operator::matches("a").unwrap(), v(true.into()), Err(())),
        (
            Operator::one_of(["fr", "de"]).unwrap(),
            v("de".into()),
            Ok(true),
        ),
        (
            Operator::one_of(["fr", "de"]).unwrap(),
            v("it".into()),
            Ok(false),
        ),
        (Operator::one_of([1, 2]).unwrap(), v(2.into()), Ok(true)),
        (Operator::one_of([1, 2]).unwrap(), v("2".into()), Err(())),
    ];
    for (op, value, expected) in cases {
        let got = op.apply(&value, None).map_err(|_| ());
        assert_eq!(got, expected, "{op:?} on {value:?}");
        // The JSON form round-trips.
        let json = serde_json::to_string(&op).unwrap();
        assert_eq!(
            serde_json::from_str::<Operator>(&json).unwrap(),
            op,
            "{json}"
        );
    }
}

#[tokio::test]
async fn context_inputs_come_first_and_exclusive_ignores_them() {
    let manager = Manager::in_memory();
    manager.allow("beta", "alice").await.unwrap();
    assert!(!manager.active("beta", ()));
    gate::scope("alice", async {
        assert!(manager.active("beta", ()));
        assert!(manager.active("beta", "bob"), "context + local");
        assert!(!manager.active_exclusive("beta", "bob"));
        tokio::task::yield_now().await;
        assert!(manager.active("beta", ()), "across .await");
        // Nested scopes stack.
        gate::scope("bob", async {
            assert_eq!(gate::Context::current().len(), 2);
            assert!(manager.active("beta", ()));
        })
        .await;
        // A spawned task does not inherit the context…
        let m = manager.clone();
        let spawned = tokio::spawn(async move { m.active("beta", ()) });
        assert!(!spawned.await.unwrap());
        // …unless it is carried.
        let m = manager.clone();
        let carried =
            tokio::spawn(gate::Context::current().run(async move { m.active("beta", ()) }));
        assert!(carried.await.unwrap());
    })
    .await;
    assert!(!manager.active("beta", ()));

    // The synchronous form.
    let on = gate::scope_sync("alice", || manager.active("beta", ()));
    assert!(on);
    assert!(!manager.active("beta", ()));
    gate::scope_sync("bob", || {
        gate::scope_sync("alice", || assert!(manager.active("beta", ())));
        assert!(!manager.active("beta", ()), "the inner scope ended");
    });
}

#[tokio::test]
async fn context_inputs_of_several_kinds_are_judged() {
    let manager = Manager::in_memory();
    selective(&manager, "c", true, vec![adult(), secure()]).await;
    let on = gate::scope((user(1, 30), request("1.1.1.1")), async {
        manager.active("c", ())
    })
    .await;
    assert!(on);
    let off = gate::scope(user(1, 30), async {
        manager.active(
            "c",
            Request {
                secure: false,
                ..request("1.1.1.1")
            },
        )
    })
    .await;
    assert!(!off);
}

#[tokio::test]
async fn overrides_are_per_thread_unless_everywhere() {
    let manager = Manager::in_memory();
    manager.enable_for_all("f").await.unwrap();
    let guard = gate::testing::override_switch(&manager, "f", false);
    assert!(!manager.active("f", ()));
    let m = manager.clone();
    let elsewhere = std::thread::spawn(move || m.active("f", ()))
        .join()
        .unwrap();
    assert!(
        elsewhere,
        "another thread does not see this thread's override"
    );
    {
        let _inner = gate::testing::override_switch(&manager, "f", true);
        assert!(manager.active("f", ()), "the newest override wins");
    }
    assert!(!manager.active("f", ()), "the outer override is back");
    drop(guard);
    assert!(manager.active("f", ()));

    let everywhere = gate::testing::override_switch(&manager, "ghost", true).everywhere();
    let m = manager.clone();
    assert!(std::thread::spawn(move || m.active("ghost", ()))
        .join()
        .unwrap());
    assert!(manager.is_enabled("ghost"));
    drop(everywhere);
    assert!(!manager.active("ghost", ()));

    // An override of a parent is seen by its children through concent.
    manager.enable_for_all("f:child").await.unwrap();
    let _off = gate::testing::override_switch(&manager, "f", false);
    assert!(!manager.active("f:child", ()));
    // Overrides are per namespace.
    let ns = manager.namespaced("ns").unwrap();
    ns.enable_for_all("f").await.unwrap();
    assert!(ns.active("f", ()));
}

#[tokio::test]
async fn a_panicking_listener_does_not_break_checks() {
    let manager = Manager::in_memory();
    manager.enable_for_all("f").await.unwrap();
    manager
        .signals()
        .switch_checked
        .connect(|_| panic!("listener bug"));
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = count.clone();
    let id = manager.signals().switch_active.connect(move |_| {
        c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    assert!(manager.active("f", ()));
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(manager.signals().switch_active.disconnect(id));
    assert!(manager.active("f", ()));
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn memory_storage_conformance() {
    gate::testing::conformance(&gate::MemoryStorage::new(), "").await;
    gate::testing::conformance(&gate::MemoryStorage::new(), "ns").await;
}
