//! The process-wide default manager (its own test binary: it is global).

#[test]
fn configure_once_before_use() {
    let manager = gate::Manager::builder().autocreate(true).build();
    gate::configure(manager.clone()).unwrap();
    let err = gate::configure(gate::Manager::in_memory()).unwrap_err();
    assert_eq!(err, gate::Error::AlreadyConfigured);
    assert!(err.to_string().contains("already in use"));
    // default() is the configured manager: autocreate registers in it.
    assert!(!gate::default().active("seen", "1"));
    assert!(manager.switch("seen").is_some());
}
