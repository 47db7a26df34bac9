//! Import: all switches are checked before anything is written.

use gate::import::Planned;
use gate::{Error, Manager, State, Switch, Variant};

#[tokio::test]
async fn an_invalid_switch_means_nothing_is_written() {
    let m = Manager::in_memory();
    m.enable_for_all("kept").await.unwrap();
    let mut bad = Switch::new("bad");
    bad.variants = vec![Variant {
        name: "x".into(),
        weight: 0,
    }];
    let batch = vec![
        Switch::new("new_one").state(State::Global),
        Switch::new("kept"),
        bad,
    ];
    let err = m.import(batch).await.unwrap_err();
    assert!(matches!(err, Error::InvalidVariants { .. }), "{err}");
    assert!(m.switch("new_one").is_none());
    assert!(m.active("kept", ()));
    assert_eq!(
        m.history(None, 10).await.unwrap().len(),
        1,
        "no write at all"
    );

    let twice = vec![Switch::new("a"), Switch::new("a")];
    let err = m.plan_import(&twice).unwrap_err().to_string();
    assert!(err.contains("given twice"), "{err}");
}

#[tokio::test]
async fn create_update_unchanged() {
    let m = Manager::in_memory();
    m.enable_for_all("same").await.unwrap();
    m.enable_for_all("changed").await.unwrap();
    let mut same = m.switch("same").unwrap();
    same.version = 99; // ignored
    let batch = vec![
        same,
        Switch::new("changed").description("now"),
        Switch::new("created").state(State::Global),
    ];
    let plan = m.plan_import(&batch).unwrap();
    assert_eq!(
        plan[0],
        Planned::Unchanged {
            name: "same".into()
        }
    );
    let Planned::Update { changes, .. } = &plan[1] else {
        panic!("{plan:?}")
    };
    assert_eq!(changes.state.as_ref().unwrap().current, State::Disabled);
    assert_eq!(
        changes.description.as_ref().unwrap().current.as_deref(),
        Some("now")
    );
    assert_eq!(
        plan[2],
        Planned::Create {
            name: "created".into()
        }
    );
    assert!(m.active("changed", ()), "planning writes nothing");

    assert_eq!(m.import(batch).await.unwrap(), plan);
    assert!(!m.active("changed", ()));
    assert!(m.active("created", ()));
    assert_eq!(m.switch("same").unwrap().version, 1);
}

#[tokio::test]
async fn a_name_given_twice_is_named_with_both_places() {
    let m = Manager::in_memory();
    let twice = vec![Switch::new("a"), Switch::new("b"), Switch::new("a")];
    let err = m.plan_import(&twice).unwrap_err();
    assert_eq!(
        err,
        Error::DuplicateName {
            name: "a".into(),
            first: 0,
            position: 2
        }
    );
    assert_eq!(err.field(), Some("name"));
    assert!(m.import(twice).await.is_err());
    assert!(m.switches().is_empty());
}

/// An update's step in JSON tells its changes as an audit entry does.
#[tokio::test]
async fn the_plan_in_json() {
    let m = Manager::in_memory();
    m.allow("beta", "alice").await.unwrap();
    let plan = m
        .plan_import(&[Switch::new("beta").state(State::Global).allow("bob")])
        .unwrap();
    assert_eq!(
        serde_json::to_value(&plan).unwrap(),
        serde_json::json!([{
            "action": "update",
            "name": "beta",
            "changes": {"state": {"previous": "selective", "current": "global"}},
            "users": {"added": ["bob"], "added_count": 1, "removed": ["alice"], "removed_count": 1}
        }])
    );
}
