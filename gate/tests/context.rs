//! The current-input context: task scopes (`gate::scope`) and thread scopes
//! (`gate::scope_sync`) stack in the order they were entered, whichever
//! kind encloses the other (issue 9, item 6).

use gate::Manager;

/// The identities of the current context, outermost first.
fn ids() -> Vec<String> {
    gate::Context::current()
        .inputs()
        .iter()
        .filter_map(|i| i.identity().map(|id| id.with_text(str::to_owned)))
        .collect()
}

/// A synchronous helper, as an axum handler would call one.
fn helper_sees(manager: &Manager) -> (Vec<String>, bool) {
    gate::scope_sync("alice", || (ids(), manager.active("beta", ())))
}

#[tokio::test]
async fn scope_sync_inside_a_task_scope_is_seen() {
    let manager = Manager::in_memory();
    manager.allow("beta", "alice").await.unwrap();
    let (inside, on) = gate::scope("bob", async { helper_sees(&manager) }).await;
    assert_eq!(inside, ["bob", "alice"], "innermost last");
    assert!(on, "the check in the helper sees the input it scoped");
    // And after the helper returns, the task scope is as it was.
    let after = gate::scope("bob", async {
        let _ = helper_sees(&manager);
        tokio::task::yield_now().await;
        (ids(), manager.active("beta", ()))
    })
    .await;
    assert_eq!(after, (vec!["bob".to_owned()], false));
    assert!(ids().is_empty());
}

#[tokio::test]
async fn nested_scopes_of_both_kinds_stack_innermost_last() {
    // task ⊃ sync ⊃ task ⊃ sync ⊃ sync, checked at every level.
    let chain = gate::scope("a", async {
        assert_eq!(ids(), ["a"]);
        let inner = gate::scope_sync("b", || {
            assert_eq!(ids(), ["a", "b"]);
            let deeper = block_on(gate::scope("c", async {
                assert_eq!(ids(), ["a", "b", "c"]);
                gate::scope_sync("d", || {
                    gate::scope_sync("e", || {
                        assert_eq!(ids(), ["a", "b", "c", "d", "e"]);
                    });
                    ids()
                })
            }));
            assert_eq!(ids(), ["a", "b"], "the inner task scope ended");
            deeper
        });
        assert_eq!(ids(), ["a"], "the sync scope ended");
        inner
    })
    .await;
    assert_eq!(chain, ["a", "b", "c", "d"]);
    assert!(ids().is_empty());

    // sync ⊃ task ⊃ sync.
    let chain = gate::scope_sync("x", || {
        block_on(gate::scope("y", async {
            tokio::task::yield_now().await;
            gate::scope_sync("z", ids)
        }))
    });
    assert_eq!(chain, ["x", "y", "z"]);
    assert!(ids().is_empty());
}

#[tokio::test]
async fn a_panicking_helper_leaves_the_task_scope_as_it_was() {
    let seen = gate::scope("a", async {
        let caught = std::panic::catch_unwind(|| gate::scope_sync("b", || panic!("helper")));
        assert!(caught.is_err());
        ids()
    })
    .await;
    assert_eq!(seen, ["a"]);
}

/// Polls a future to completion on this thread (a nested task scope inside
/// a synchronous one, as a sync helper driving a small future would).
/// (A tokio runtime cannot be started inside the test's own.)
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}
