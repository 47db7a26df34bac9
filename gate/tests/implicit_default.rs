//! `gate::default()` never configured, used beside a manager the app
//! built: the two can disagree, so it is said once (its own test binary:
//! the default manager is process-wide).

#[path = "common/warnings.rs"]
mod warnings;

#[test]
fn an_implicit_default_beside_a_built_manager_is_logged_once() {
    let warnings = warnings::Warnings::default();
    let seen = warnings.clone();
    tracing::subscriber::with_default(warnings, || {
        let configured = gate::Manager::builder().autocreate(true).build();
        assert!(!gate::default().active("beta", "1"));
        // Not the same manager: autocreate did not register it there.
        assert!(configured.switch("beta").is_none());
        for _ in 0..3 {
            let _ = gate::Manager::in_memory();
            assert!(!gate::default().active("beta", "1"));
        }
    });
    let messages = seen.1.lock().unwrap().clone();
    let about_default: Vec<&String> = messages
        .iter()
        .filter(|m| m.contains("gate::default() was never configured"))
        .collect();
    assert_eq!(about_default.len(), 1, "{messages:?}");
}
