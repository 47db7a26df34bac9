//! `#[gate::with_switches]`: overrides for the whole test body.

use std::sync::LazyLock;

use gate::Manager;

static SWITCHES: LazyLock<Manager> = LazyLock::new(Manager::in_memory);

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
#[gate::with_switches(ws_sync_on = true, "ws:with:colons" = true, ws_sync_off = false)]
fn sync_test_with_the_default_manager() {
    let m = gate::default();
    assert!(m.active("ws_sync_on", "anyone"));
    assert!(m.active("ws:with:colons", ()));
    assert!(!m.active("ws_sync_off", "anyone"));
}

#[test]
fn overrides_end_with_the_function() {
    #[gate::with_switches(ws_scoped = true, manager = SWITCHES)]
    fn inside() -> bool {
        SWITCHES.active("ws_scoped", ())
    }
    assert!(inside());
    assert!(!SWITCHES.active("ws_scoped", ()));
}

#[test]
fn off_wins_over_a_global_switch() {
    block_on(SWITCHES.enable_for_all("ws_global")).unwrap();

    #[gate::with_switches(ws_global = false, manager = &*SWITCHES)]
    fn forced_off() -> bool {
        SWITCHES.active("ws_global", "x")
    }
    assert!(!forced_off());
    assert!(SWITCHES.active("ws_global", "x"));
}

#[gate::gate("ws_gated", manager = SWITCHES)]
async fn gated() -> Option<u8> {
    Some(1)
}

#[tokio::test]
#[gate::with_switches(ws_gated = true, manager = SWITCHES)]
async fn tokio_test_below() {
    tokio::task::yield_now().await;
    assert_eq!(gated().await, Some(1));
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    assert_eq!(gated().await, Some(1));
}

#[gate::with_switches(ws_gated = true, manager = SWITCHES)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_multi_thread_test_above() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        assert_eq!(gated().await, Some(1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[gate::with_switches(ws_gated = true, manager = SWITCHES)]
async fn tokio_multi_thread_test_below() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
        assert_eq!(gated().await, Some(1));
    }
}

#[test]
fn not_seen_by_other_threads() {
    #[gate::with_switches(ws_thread = true, manager = SWITCHES)]
    fn check() -> (bool, bool) {
        let here = SWITCHES.active("ws_thread", ());
        let there = std::thread::spawn(|| SWITCHES.active("ws_thread", ()))
            .join()
            .unwrap();
        (here, there)
    }
    assert_eq!(check(), (true, false));
}

#[test]
fn a_test_that_forgets_the_attribute_sees_the_real_switch() {
    assert_eq!(block_on(async { gated().await }), None);
}

#[gate::with_switches(ws_spawned = true, manager = SWITCHES)]
async fn spawned_body() -> bool {
    tokio::task::yield_now().await;
    SWITCHES.active("ws_spawned", ())
}

#[tokio::test]
async fn an_async_fn_with_overrides_is_send_and_can_be_spawned() {
    // On the current-thread runtime a spawned task runs on the test's
    // thread: it sees the overrides it made on its first poll.
    assert!(tokio::spawn(spawned_body()).await.unwrap());
    assert!(!SWITCHES.active("ws_spawned", ()));
}

mod renamed {
    pub(crate) use gate as switches;
}

#[test]
#[gate::with_switches(ws_crate_path = true, crate = "renamed::switches")]
fn crate_path_override() {
    assert!(gate::default().active("ws_crate_path", ()));
}
