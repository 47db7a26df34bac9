//! The evaluation rules of DESIGN.md, one test each: states, inputs and
//! conditions, percentages, allow-lists, variants, every operator, and
//! what a check survives (test overrides, a panicking listener).

mod common;

use std::sync::Arc;

use common::{adult, request, secure, selective, user, Request, User};
use gate::testing::Recorder;
use gate::{Condition, ConditionError, Error, Manager, Operator, State, Switch};

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
