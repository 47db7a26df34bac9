//! The current-input context: task scopes (`gate::scope`) and thread scopes
//! (`gate::scope_sync`) stack in the order they were entered, whichever
//! kind encloses the other (issue 9, item 6); context inputs are judged
//! before a check's own, and `active_exclusive` ignores them.

mod common;

use common::{adult, request, secure, selective, user, Request};
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

#[tokio::test]
async fn context_inputs_come_first_and_exclusive_ignores_them() {
    let manager = Manager::in_memory();
    manager.allow("beta", "alice").await.unwrap();
    assert!(!manager.active("beta", ()));
    gate::scope("alice", async {
        assert!(manager.active("beta", ()));
        assert!(manager.active("beta", "bob"), "context + local");
        assert!(!manager.active_exclusive("beta", "bob"));
        tokio::task::yield_now().await;
        assert!(manager.active("beta", ()), "across .await");
        // Nested scopes stack.
        gate::scope("bob", async {
            assert_eq!(gate::Context::current().len(), 2);
            assert!(manager.active("beta", ()));
        })
        .await;
        // A spawned task does not inherit the context…
        let m = manager.clone();
        let spawned = tokio::spawn(async move { m.active("beta", ()) });
        assert!(!spawned.await.unwrap());
        // …unless it is carried.
        let m = manager.clone();
        let carried =
            tokio::spawn(gate::Context::current().run(async move { m.active("beta", ()) }));
        assert!(carried.await.unwrap());
    })
    .await;
    assert!(!manager.active("beta", ()));

    // The synchronous form.
    let on = gate::scope_sync("alice", || manager.active("beta", ()));
    assert!(on);
    assert!(!manager.active("beta", ()));
    gate::scope_sync("bob", || {
        gate::scope_sync("alice", || assert!(manager.active("beta", ())));
        assert!(!manager.active("beta", ()), "the inner scope ended");
    });
}

#[tokio::test]
async fn context_inputs_of_several_kinds_are_judged() {
    let manager = Manager::in_memory();
    selective(&manager, "c", true, vec![adult(), secure()]).await;
    let on = gate::scope((user(1, 30), request("1.1.1.1")), async {
        manager.active("c", ())
    })
    .await;
    assert!(on);
    let off = gate::scope(user(1, 30), async {
        manager.active(
            "c",
            Request {
                secure: false,
                ..request("1.1.1.1")
            },
        )
    })
    .await;
    assert!(!off);
}
