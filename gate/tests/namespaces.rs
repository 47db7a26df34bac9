//! A namespace handle on a namespace that holds nothing registers nothing
//! (issue 9, item 6: the admin API's `?namespace=` grew the manager by one
//! entry per distinct name, +80 MB after 100,000 requests). Alone in its
//! binary, so the resident memory it measures is its own.

use gate::{Manager, State, Switch};

/// Resident memory of this process, in bytes (Linux).
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[tokio::test]
async fn handles_on_empty_namespaces_register_nothing() {
    let m = Manager::in_memory();
    m.enable_for_all("beta").await.unwrap();
    m.namespaced("germany")
        .unwrap()
        .enable_for_all("booze")
        .await
        .unwrap();
    // Warm up the allocator with the same work.
    let probe = |i: usize| {
        let ns = m
            .namespaced(&format!("tenant-{i:08}-with-a-longish-name"))
            .unwrap();
        assert!(!ns.active("beta", "alice"));
        assert!(ns.switch("beta").is_none());
        assert!(ns.switches().is_empty());
    };
    for i in 0..1_000 {
        probe(i);
    }
    let before = rss();
    for i in 1_000..201_000 {
        probe(i);
    }
    let grown = rss().saturating_sub(before);
    println!("RSS growth after 200,000 handles on distinct empty namespaces: {grown} bytes");
    assert!(grown < 2 << 20, "grew {grown} bytes");

    // Handles still work both ways: one made before its namespace had a
    // switch sees the switch once written, by itself or by another handle.
    let early = m.namespaced("france").unwrap();
    let other = m.namespaced("france").unwrap();
    assert!(!early.active("vin", ()));
    other.enable_for_all("vin").await.unwrap();
    assert!(early.active("vin", ()));
    assert_eq!(early.switch("vin").unwrap().state, State::Global);
    early
        .register(Switch::new("fromage").state(State::Global))
        .await
        .unwrap();
    assert!(other.active("fromage", ()));
    assert_eq!(early.switches().len(), 2);
    assert!(m.namespaced("germany").unwrap().active("booze", ()));
    assert!(!m.active("vin", ()), "namespaces stay apart");
    let nested = early.namespaced("paris").unwrap();
    nested.enable_for_all("metro").await.unwrap();
    assert!(m
        .namespaced("france")
        .unwrap()
        .namespaced("paris")
        .unwrap()
        .active("metro", ()));
    assert!(!early.active("metro", ()));
}
