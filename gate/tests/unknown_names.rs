//! A check of a name that is not a switch answers off; it is logged once
//! per name (a warning), not once per check, and counted.

use std::sync::{Arc, Mutex};

use gate::Manager;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// Keeps the `switch` field of every warning.
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

struct SwitchField(Option<String>);

impl Visit for SwitchField {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "switch" {
            self.0 = Some(value.to_owned());
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "switch" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

impl Subscriber for Warnings {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= Level::WARN
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        if *event.metadata().level() == Level::WARN {
            let mut field = SwitchField(None);
            event.record(&mut field);
            if let Some(switch) = field.0 {
                self.0.lock().unwrap().push(switch);
            }
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

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
