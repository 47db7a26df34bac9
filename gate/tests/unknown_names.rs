//! A check of a name that is not a switch answers off; it is logged once
//! per name (a warning), not once per check, and counted.

use gate::Manager;

#[path = "common/warnings.rs"]
mod warnings;
use warnings::Warnings;

#[test]
fn an_unknown_name_is_logged_once_and_every_check_counted() {
    let warnings = Warnings::default();
    let seen = warnings.clone();
    tracing::subscriber::with_default(warnings, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let manager = rt.block_on(async {
            let m = Manager::in_memory();
            m.enable_for_all("beta").await.unwrap();
            m
        });
        for i in 0..1000u32 {
            assert!(manager.active("beta", i));
            assert!(!manager.active("bta", i), "a misspelt name is off");
        }
        assert!(!manager.active("gamma", 1u32));
        let payments = manager.namespaced("payments").unwrap();
        assert!(!payments.active("bta", 1u32));

        assert_eq!(manager.unknown_checks(), 1002);
        assert_eq!(
            manager.unknown_names(),
            ["bta", "gamma", "payments.bta"],
            "sorted, each once"
        );
    });
    let mut logged = seen.0.lock().unwrap().clone();
    logged.sort();
    assert_eq!(
        logged,
        ["bta", "bta", "gamma"],
        "one warning per name and namespace"
    );
}

#[test]
fn a_known_switch_is_never_counted_as_unknown() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let manager = rt.block_on(async {
        let m = Manager::in_memory();
        m.set_percentage("half", 50).await.unwrap();
        m
    });
    for i in 0..100u32 {
        manager.active("half", i);
    }
    assert_eq!(manager.unknown_checks(), 0);
    assert!(manager.unknown_names().is_empty());
}

#[test]
fn past_the_limit_names_are_counted_not_listed() {
    let warnings = Warnings::default();
    let seen = warnings.clone();
    let limit = gate::limits::MAX_UNKNOWN_NAMES;
    tracing::subscriber::with_default(warnings, || {
        let manager = Manager::in_memory();
        for round in 0..2 {
            for i in 0..limit + 100 {
                assert!(!manager.active(&format!("typo_{i}"), round as u32));
            }
        }
        assert_eq!(manager.unknown_checks(), 2 * (limit as u64 + 100));
        assert_eq!(manager.unknown_names().len(), limit);
    });
    assert_eq!(
        seen.0.lock().unwrap().len(),
        limit,
        "one warning per listed name"
    );
}
