//! `Manager::explain`: every kind of reason, and a property test that
//! `explain` and `active` never disagree over random switches and inputs.

mod common;

use common::{request, User};
use gate::explain::Reason;
use gate::testing::override_switch;
use gate::{Condition, Manager, Operator, State, Switch, Value};

fn cond(attr: &str, op: Operator) -> Condition {
    Condition::new("User", attr, op).unwrap()
}

#[tokio::test]
async fn every_reason() {
    let m = Manager::in_memory();
    let jeff = User::new(443301, "jeff", 30, "SF", false);

    assert_eq!(m.explain("nope", &jeff).reason, Reason::NotFound);

    m.enable_for_all("global").await.unwrap();
    let why = m.explain("global", ());
    assert!(why.active);
    assert_eq!(why.reason, Reason::Global);

    m.register(Switch::new("off")).await.unwrap();
    assert_eq!(m.explain("off", &jeff).reason, Reason::Disabled);
    {
        let _on = override_switch(&m, "off", true);
        let why = m.explain("off", &jeff);
        assert!(why.active);
        assert_eq!(why.reason, Reason::Override);
    }

    // Concent: the child is global, the parent off for everyone.
    m.register(Switch::new("off:child").state(State::Global))
        .await
        .unwrap();
    let why = m.explain("off:child", &jeff);
    assert!(!why.active);
    let Reason::ParentOff { parent } = &why.reason else {
        panic!("{why:?}")
    };
    assert_eq!(parent.switch, "off");
    assert_eq!(parent.reason, Reason::Disabled);
    assert!(why.to_string().contains("its parent is off (off is off"));

    m.allow("beta", 443301u64).await.unwrap();
    assert_eq!(
        m.explain("beta", &jeff).reason,
        Reason::AllowedId {
            id: "443301".into()
        }
    );
    assert_eq!(m.explain("beta", ()).reason, Reason::NoInputs);
    assert_eq!(
        m.explain("beta", request("1.2.3.4")).reason,
        Reason::NothingApplied {
            input_kinds: vec!["Request".into()]
        }
    );
}

#[tokio::test]
async fn conditions_report_value_bucket_and_the_deciding_one() {
    let m = Manager::in_memory();
    m.set_percentage("p", 80).await.unwrap();
    let why = m.explain("p", "44488");
    assert!(!why.active);
    let Reason::Conditions {
        outcomes, deciding, ..
    } = &why.reason
    else {
        panic!("{why:?}")
    };
    assert_eq!(*deciding, None, "not compounded, nothing held");
    assert_eq!(outcomes[0].bucket, Some(88.0));
    assert_eq!(outcomes[0].value, Some(Value::from("44488")));
    assert!(!outcomes[0].held);
    let on = m.explain("p", 443301u64);
    assert!(on.active);
    let Reason::Conditions {
        outcomes, deciding, ..
    } = &on.reason
    else {
        panic!("{on:?}")
    };
    assert_eq!(*deciding, Some(0));
    assert_eq!(outcomes[0].bucket, Some(5.0));

    // Compounded: the failing condition decides; an error is reported.
    m.register(
        Switch::new("teen_sf")
            .state(State::Selective)
            .compounded(true)
            .condition(cond("age", Operator::between(12, 20).unwrap()))
            .condition(cond("location", Operator::equals("SF").unwrap())),
    )
    .await
    .unwrap();
    let teen = User::new(1, "amy", 15, "NY", false);
    let why = m.explain("teen_sf", &teen);
    assert!(!why.active);
    let Reason::Conditions {
        outcomes,
        deciding,
        compounded,
    } = &why.reason
    else {
        panic!("{why:?}")
    };
    assert!(compounded);
    assert_eq!(outcomes.len(), 2);
    assert_eq!(*deciding, Some(1));
    assert_eq!(outcomes[1].value, Some(Value::from("NY")));
    assert!(outcomes[0].held && !outcomes[1].held);
    let text = why.to_string();
    assert!(text.contains("a condition fails (all must hold)"), "{text}");

    m.register(
        Switch::new("typed")
            .state(State::Selective)
            .condition(cond("name", Operator::more_than(10).unwrap()).negative()),
    )
    .await
    .unwrap();
    let why = m.explain("typed", &teen);
    let Reason::Conditions { outcomes, .. } = &why.reason else {
        panic!("{why:?}")
    };
    assert!(!why.active, "an error is false, even negative");
    assert!(!outcomes[0].held);
    assert!(outcomes[0]
        .error
        .as_deref()
        .unwrap()
        .contains("cannot compare"));
}

#[tokio::test]
async fn explain_sees_the_context_unless_exclusive_and_serializes() {
    let m = Manager::in_memory();
    m.allow("beta", "alice").await.unwrap();
    let why = gate::scope_sync("alice", || m.explain("beta", ()));
    assert!(why.active);
    let alone = gate::scope_sync("alice", || m.explain_exclusive("beta", ()));
    assert!(!alone.active);
    let json = serde_json::to_value(&why).unwrap();
    assert_eq!(json["reason"]["kind"], "allowed_id");
    assert_eq!(json["active"], true);
}

#[path = "common/rng.rs"]
mod rng;
use rng::Rng;

fn random_condition(rng: &mut Rng) -> Condition {
    let ops = |rng: &mut Rng| -> Operator {
        match rng.below(9) {
            0 => Operator::equals(rng.below(60) as i64).unwrap(),
            1 => {
                // `between` needs lower < upper.
                let lower = rng.below(40) as i64;
                Operator::between(lower, lower + 1 + rng.below(60) as i64).unwrap()
            }
            2 => Operator::more_than(rng.below(80) as i64).unwrap(),
            3 => Operator::less_than_or_equal_to(rng.below(80) as i64).unwrap(),
            4 => Operator::percent(rng.below(101) as u32).unwrap(),
            5 => Operator::one_of(["SF", "NY"]).unwrap(),
            6 => Operator::strip_ignorecase_equals(" Jeff ").unwrap(),
            7 => Operator::truthy(),
            _ => Operator::matches("^[0-4]").unwrap(),
        }
    };
    let op = ops(rng);
    let condition = match rng.below(4) {
        0 => Condition::identity(op),
        1 => Condition::new("Request", rng.pick(&["ip", "secure"]), op).unwrap(),
        _ => cond(
            rng.pick(&["age", "name", "location", "married", "missing"]),
            op,
        ),
    };
    if rng.below(4) == 0 {
        condition.negative()
    } else {
        condition
    }
}

#[tokio::test]
async fn explain_and_active_never_disagree() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let m = Manager::in_memory();
    let names = ["a", "a:b", "a:b:c", "d", "d:e"];
    let users: Vec<User> = (0..40)
        .map(|_| {
            User::new(
                rng.next() % 1_000_000,
                rng.pick(&["jeff", "JEFF ", "amy", ""]),
                (rng.below(90)) as i64,
                rng.pick(&["SF", "NY", "LA"]),
                rng.below(2) == 0,
            )
        })
        .chain([User::new(7, "x", 1, "SF", true)])
        .collect();
    let mut compared = 0;
    let mut on = 0;
    let mut kinds = std::collections::BTreeSet::new();
    for round in 0..60 {
        for name in names {
            let _ = m.unregister(name).await;
        }
        for name in names {
            let mut s = Switch::new(name)
                .state(rng.pick(&[State::Disabled, State::Selective, State::Global]))
                .compounded(rng.below(2) == 0);
            s.concent = rng.below(3) != 0;
            for _ in 0..rng.below(4) {
                s = s.condition(random_condition(&mut rng));
            }
            if rng.below(3) == 0 {
                s = s.allow(users[rng.below(users.len() as u64) as usize].id);
            }
            if rng.below(4) == 0 {
                s.salt = Some(format!("salt{round}"));
            }
            m.register(s).await.unwrap();
        }
        for user in &users {
            let req = request(rng.pick(&["1.2.3.4", ""]));
            for name in names {
                let both = (user, &req);
                assert_eq!(
                    m.explain(name, both).active,
                    m.active(name, both),
                    "{name} for {user:?} and {req:?}: {:?} / {}",
                    m.switch(name),
                    m.explain(name, both)
                );
                assert_eq!(m.explain(name, user).active, m.active(name, user));
                on += usize::from(m.active(name, both));
                let why = serde_json::to_value(m.explain(name, both)).unwrap();
                kinds.insert(why["reason"]["kind"].as_str().unwrap().to_owned());
                assert_eq!(m.explain(name, ()).active, m.active(name, ()));
                compared += 3;
            }
        }
    }
    assert_eq!(compared, 60 * 41 * 5 * 3);
    // The random cases reach both answers and every kind of reason.
    assert!(on > 1000 && on < 60 * 41 * 5 - 1000, "{on} on");
    let kinds: Vec<&str> = kinds.iter().map(String::as_str).collect();
    assert_eq!(
        kinds,
        [
            "allowed_id",
            "conditions",
            "disabled",
            "global",
            "nothing_applied",
            "parent_off"
        ]
    );
}

/// `explain` fires no signal, not even through a parent's `concent` check:
/// a parent whose condition cannot be applied (a type mismatch) fires
/// `condition_apply_error` on a check of its child, never on an
/// explanation of it.
#[tokio::test]
async fn explaining_a_child_fires_no_signal_from_its_parents_conditions() {
    let m = Manager::in_memory();
    let errors = gate::testing::Recorder::connect(&m.signals().condition_apply_error);
    let jeff = User::new(443301, "jeff", 30, "SF", false);
    // `more_than` a number on the string attribute `name`.
    m.register(
        Switch::new("parent")
            .state(State::Selective)
            .condition(cond("name", Operator::more_than(10).unwrap())),
    )
    .await
    .unwrap();
    m.enable_for_all("parent:child").await.unwrap();

    let why = m.explain("parent:child", &jeff);
    assert!(!why.active);
    assert!(matches!(why.reason, Reason::ParentOff { .. }), "{why:?}");
    assert!(m.explain("parent", &jeff).reason != Reason::NotFound);
    assert_eq!(errors.events().len(), 0, "explain fired a signal");

    assert!(!m.active("parent:child", &jeff));
    assert_eq!(errors.events().len(), 1, "a check fires it once");
}
