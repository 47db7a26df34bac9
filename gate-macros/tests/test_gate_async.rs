//! `#[gate]` on `async fn`: checked on first poll, inside the task-local
//! context of whoever polls it.

use std::sync::LazyLock;

use gate::{gate, Arguments, Inactive, Manager};

static SWITCHES: LazyLock<Manager> = LazyLock::new(Manager::in_memory);

#[derive(Arguments, Clone)]
struct User {
    #[gate(id)]
    id: String,
}

#[gate("async_context", manager = SWITCHES)]
async fn from_context() -> Option<&'static str> {
    tokio::task::yield_now().await;
    Some("on")
}

#[tokio::test]
async fn sees_the_context_of_the_scope_that_polls_it() {
    SWITCHES.allow("async_context", "alice").await.unwrap();
    assert_eq!(gate::scope("alice", from_context()).await, Some("on"));
    assert_eq!(gate::scope("bob", from_context()).await, None);
    assert_eq!(from_context().await, None);
}

#[tokio::test]
async fn checked_when_first_polled_not_when_called() {
    SWITCHES.allow("async_context", "erin").await.unwrap();
    // Created outside any scope, polled inside one: the check sees "erin".
    let future = from_context();
    assert_eq!(gate::scope("erin", future).await, Some("on"));
    // Created inside a scope, polled outside: no user.
    let future = gate::scope_sync("erin", from_context);
    assert_eq!(future.await, None);
}

#[gate("async_arg", arg = user, manager = SWITCHES)]
async fn with_arg(user: &User, delay: u64) -> Result<String, Inactive> {
    tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    Ok(format!("hi {}", user.id))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn result_across_await_points() {
    SWITCHES.allow("async_arg", "u1").await.unwrap();
    let u1 = User { id: "u1".into() };
    let u2 = User { id: "u2".into() };
    assert_eq!(with_arg(&u1, 1).await.unwrap(), "hi u1");
    assert_eq!(with_arg(&u2, 1).await, Err(Inactive::new("async_arg")));
    // A spawned task: the future is Send.
    let task = tokio::spawn(async move { with_arg(&u1, 0).await });
    assert_eq!(task.await.unwrap().unwrap(), "hi u1");
}

#[gate("async_context_and_arg", arg = n, manager = SWITCHES, otherwise = 0)]
async fn context_and_arg(n: u32) -> u32 {
    n
}

#[tokio::test]
async fn context_inputs_come_with_the_argument() {
    // The context's user comes first, then the argument: the allowed
    // user makes the check pass whatever the argument.
    SWITCHES
        .allow("async_context_and_arg", "frank")
        .await
        .unwrap();
    assert_eq!(gate::scope("frank", context_and_arg(5)).await, 5);
    assert_eq!(context_and_arg(5).await, 0);
}

struct Repo {
    manager: Manager,
}

impl Repo {
    #[gate("repo_load", arg = key, manager = self.manager)]
    async fn load(&self, key: &str) -> Option<usize> {
        tokio::task::yield_now().await;
        Some(key.len())
    }
}

#[tokio::test]
async fn async_methods() {
    let repo = Repo {
        manager: Manager::in_memory(),
    };
    assert_eq!(repo.load("abc").await, None);
    repo.manager.enable_for_all("repo_load").await.unwrap();
    assert_eq!(repo.load("abc").await, Some(3));
}

#[gate("async_generic", arg = input, manager = SWITCHES)]
async fn generic<A>(input: A) -> Option<String>
where
    A: Arguments + Send,
{
    Some(input.kind().to_owned())
}

#[tokio::test]
async fn async_generic_fn() {
    SWITCHES.allow("async_generic", 3u64).await.unwrap();
    assert_eq!(generic(3u64).await.as_deref(), Some("id"));
    assert_eq!(generic(4u64).await, None);
}
