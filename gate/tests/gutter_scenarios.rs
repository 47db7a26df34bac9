//! gutter's integration scenarios, ported: drinking ages, concent,
//! compounded switches, namespaces, signals and change tracking,
//! unregister then autocreate.

mod common;

use common::User;
use gate::testing::Recorder;
use gate::{Condition, Manager, Operator, State, Switch};

fn users() -> (User, User, User, User) {
    (
        User::new(1, "jeff", 21, "San Francisco", false),
        User::new(2, "frank", 18, "Paris", true),
        User::new(3, "larry", 35, "Paris", false),
        User::new(4, "bill", 15, "San Francisco", false),
    )
}

fn cond(attr: &str, op: Operator) -> Condition {
    Condition::new("User", attr, op).unwrap()
}

async fn drinking_manager() -> Manager {
    let manager = Manager::in_memory();
    manager
        .register(
            Switch::new("can drink")
                .state(State::Selective)
                .condition(cond("age", Operator::more_than_or_equal_to(21).unwrap())),
        )
        .await
        .unwrap();
    manager
        .register(
            Switch::new("can drink:wine")
                .state(State::Selective)
                .condition(cond("location", Operator::equals("Paris").unwrap())),
        )
        .await
        .unwrap();
    manager
        .register(
            Switch::new("teen and in SF")
                .state(State::Selective)
                .compounded(true)
                .condition(cond("age", Operator::between(12, 20).unwrap()))
                .condition(cond("location", Operator::equals("San Francisco").unwrap())),
        )
        .await
        .unwrap();
    manager
}

#[tokio::test]
async fn drinking_age() {
    let manager = drinking_manager().await;
    let (jeff, frank, larry, bill) = users();
    assert!(manager.active("can drink", &jeff));
    assert!(!manager.active("can drink", &frank));
    assert!(manager.active("can drink", &larry));
    assert!(!manager.active("can drink", &bill));
}

#[tokio::test]
async fn child_needs_parent_consent() {
    let manager = drinking_manager().await;
    let (jeff, frank, larry, _) = users();
    // larry: 35 and in Paris: parent on, child on.
    assert!(manager.active("can drink:wine", &larry));
    // frank is in Paris but 18: the parent says no, so the child says no.
    assert!(!manager.active("can drink:wine", &frank));
    // jeff can drink but is not in Paris.
    assert!(!manager.active("can drink:wine", &jeff));

    // Without concent, frank's own answer counts.
    manager
        .modify("can drink:wine", |s| s.concent = false)
        .await
        .unwrap();
    assert!(manager.active("can drink:wine", &frank));
}

#[tokio::test]
async fn concent_applies_to_global_and_disabled_children() {
    let manager = drinking_manager().await;
    let (jeff, frank, ..) = users();
    manager.enable_for_all("can drink:beer").await.unwrap();
    assert!(manager.active("can drink:beer", &jeff));
    assert!(
        !manager.active("can drink:beer", &frank),
        "a global child still needs its parent"
    );
    // A parent that does not exist gives consent.
    manager.enable_for_all("orphan:child").await.unwrap();
    assert!(manager.active("orphan:child", &frank));
    // A disabled child is off whatever its parent says.
    manager.disable("can drink:beer").await.unwrap();
    assert!(!manager.active("can drink:beer", &jeff));
    // Grandparents count too.
    manager.enable_for_all("can drink:wine:red").await.unwrap();
    assert!(
        !manager.active("can drink:wine:red", &jeff),
        "jeff is not in Paris"
    );
    assert!(manager.active("can drink:wine:red", User::new(9, "x", 40, "Paris", true)));
}

#[tokio::test]
async fn compounded_teen_in_sf() {
    let manager = drinking_manager().await;
    let (jeff, frank, _, bill) = users();
    assert!(manager.active("teen and in SF", &bill));
    assert!(
        !manager.active("teen and in SF", &jeff),
        "21 is not between 12 and 20"
    );
    assert!(
        !manager.active("teen and in SF", &frank),
        "frank is a teen but in Paris"
    );
    // Not compounded: either condition is enough.
    manager
        .modify("teen and in SF", |s| s.compounded = false)
        .await
        .unwrap();
    assert!(manager.active("teen and in SF", &jeff));
    assert!(manager.active("teen and in SF", &frank));
}

#[tokio::test]
async fn namespaces_keep_same_names_apart() {
    let manager = Manager::in_memory();
    let usa = manager.namespaced("usa").unwrap();
    let germany = manager.namespaced("germany").unwrap();
    usa.register(
        Switch::new("booze")
            .state(State::Selective)
            .condition(cond("age", Operator::more_than_or_equal_to(21).unwrap())),
    )
    .await
    .unwrap();
    germany
        .register(
            Switch::new("booze")
                .state(State::Selective)
                .condition(cond("age", Operator::more_than_or_equal_to(16).unwrap())),
        )
        .await
        .unwrap();
    let (_, frank, ..) = users();
    assert!(!usa.active("booze", &frank));
    assert!(germany.active("booze", &frank));
    assert!(
        !manager.active("booze", &frank),
        "the root namespace has no booze"
    );
    assert_eq!(usa.switches().len(), 1);
    assert_eq!(manager.switches().len(), 0);

    let bavaria = germany.namespaced("bavaria").unwrap();
    assert_eq!(bavaria.namespace(), "germany.bavaria");
    bavaria.enable_for_all("booze").await.unwrap();
    assert!(bavaria.active("booze", &users().3));
    assert!(!germany.active("booze", &users().3));

    // Unregistering in one namespace leaves the other alone.
    usa.unregister("booze").await.unwrap();
    assert!(germany.switch("booze").is_some());
}

#[tokio::test]
async fn signals_and_change_tracking() {
    let manager = Manager::in_memory();
    let registered = Recorder::connect(&manager.signals().switch_registered);
    let updated = Recorder::connect(&manager.signals().switch_updated);
    let unregistered = Recorder::connect(&manager.signals().switch_unregistered);
    let checked = Recorder::connect(&manager.signals().switch_checked);
    let active = Recorder::connect(&manager.signals().switch_active);

    manager
        .register(Switch::new("movies").label("Movies"))
        .await
        .unwrap();
    assert_eq!(registered.events().len(), 1);
    assert_eq!(registered.events()[0].switch.name, "movies");
    assert_eq!(registered.events()[0].origin, gate::signals::Origin::Local);

    manager
        .modify("movies", |s| {
            s.state = State::Global;
            s.label = Some("Films".into());
        })
        .await
        .unwrap();
    let events = updated.events();
    assert_eq!(events.len(), 1);
    let changes = events[0].changes();
    assert_eq!(changes.fields(), ["label", "state"]);
    let state = changes.state.unwrap();
    assert_eq!(state.previous, State::Disabled);
    assert_eq!(state.current, State::Global);
    let label = changes.label.unwrap();
    assert_eq!(label.previous.as_deref(), Some("Movies"));
    assert_eq!(label.current.as_deref(), Some("Films"));

    assert!(manager.active("movies", "443301"));
    manager.disable("movies").await.unwrap();
    assert!(!manager.active("movies", "443301"));
    let checks = checked.events();
    assert_eq!(checks.len(), 2);
    assert!(checks[0].active && !checks[1].active);
    assert_eq!(active.events().len(), 1);

    manager
        .register(Switch::new("movies:star_wars"))
        .await
        .unwrap();
    manager
        .register(Switch::new("movies:star_wars:1977"))
        .await
        .unwrap();
    let removed = manager.unregister("movies").await.unwrap();
    assert_eq!(removed.len(), 3);
    let mut names: Vec<String> = unregistered
        .events()
        .iter()
        .map(|e| e.switch.name.clone())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["movies", "movies:star_wars", "movies:star_wars:1977"]
    );
    assert!(manager.switches().is_empty());
}

#[tokio::test]
async fn unregister_then_autocreate() {
    let manager = Manager::builder().autocreate(true).build();
    let registered = Recorder::connect(&manager.signals().switch_registered);
    manager.enable_for_all("beta").await.unwrap();
    assert!(manager.active("beta", "1"));
    manager.unregister("beta").await.unwrap();
    assert!(manager.switch("beta").is_none());
    // The next check registers it again, disabled, and answers false.
    assert!(!manager.active("beta", "1"));
    let again = manager.switch("beta").expect("autocreated");
    assert_eq!(again.state, State::Disabled);
    assert_eq!(registered.events().len(), 2);
    // try_active on an autocreated switch answers normally afterwards.
    assert_eq!(manager.try_active("beta", "1"), Ok(false));
}
