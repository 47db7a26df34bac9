//! Writes under contention, without Redis: `modify` that gives up says it
//! was `modify`, and a storage without an atomic form of the shortcuts
//! gets them as read-modify-write (the default of
//! `Storage::apply_shortcut`).

use gate::history::HistoryEntry;
use gate::storage::{BoxFuture, Record};
use gate::SwitchKey;
use gate::{Error, Manager, MemoryStorage, State, Storage, Switch};

/// A memory storage that does not override `apply_shortcut`, and whose
/// updates can be made to always lose a race.
#[derive(Debug, Default)]
struct Racing {
    inner: MemoryStorage,
    always_moved: bool,
}

impl Storage for Racing {
    fn load(&self) -> BoxFuture<'_, Result<Vec<Record>, Error>> {
        self.inner.load()
    }

    fn get<'a>(&'a self, key: &'a SwitchKey) -> BoxFuture<'a, Result<Option<Switch>, Error>> {
        self.inner.get(key)
    }

    fn insert<'a>(
        &'a self,
        key: &'a SwitchKey,
        actor: &'a str,
        switch: Switch,
    ) -> BoxFuture<'a, Result<Switch, Error>> {
        self.inner.insert(key, actor, switch)
    }

    fn update<'a>(
        &'a self,
        key: &'a SwitchKey,
        actor: &'a str,
        switch: Switch,
    ) -> BoxFuture<'a, Result<(Switch, Switch), Error>> {
        if self.always_moved {
            // Someone else always wrote in between.
            let moved = Error::Conflict {
                name: switch.name.clone(),
                expected: switch.version,
                found: switch.version + 1,
            };
            return Box::pin(async move { Err(moved) });
        }
        self.inner.update(key, actor, switch)
    }

    fn remove_tree<'a>(
        &'a self,
        key: &'a SwitchKey,
        actor: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Record>, Error>> {
        self.inner.remove_tree(key, actor)
    }

    fn history<'a>(
        &'a self,
        key: Option<&'a SwitchKey>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<HistoryEntry>, Error>> {
        self.inner.history(key, limit)
    }
}

#[tokio::test]
async fn modify_that_gives_up_says_it_was_modify() {
    let m = Manager::builder()
        .storage(Racing {
            always_moved: true,
            ..Racing::default()
        })
        .build();
    m.register(Switch::new("beta")).await.unwrap();
    let err = m
        .modify("beta", |s| s.state = State::Global)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Contended { name, operation: "modify", attempts: 64 } if name == "beta"
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.starts_with("modify gave up on switch \"beta\" after 64 attempts"),
        "{message}"
    );
    assert!(
        !message.contains("or use modify"),
        "it does not suggest itself: {message}"
    );
    assert_eq!(m.switch("beta").unwrap().state, State::Disabled);

    // A shortcut on such a storage falls back to read-modify-write, and
    // names itself when it gives up.
    let err = m.allow("beta", "alice").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Contended {
                operation: "allow",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn shortcuts_fall_back_to_read_modify_write_on_other_storages() {
    let m = Manager::builder().storage(Racing::default()).build();
    let beta = m.allow_all("beta", ["alice", "bob"]).await.unwrap();
    assert_eq!(
        (beta.version, beta.state, beta.users.len()),
        (1, State::Selective, 2)
    );
    let beta = m.enable_for_all("beta").await.unwrap();
    assert_eq!((beta.version, beta.state), (2, State::Global));
    let same = m.enable_for_all("beta").await.unwrap();
    assert_eq!(same.version, 2, "no change, no write");
    let beta = m.disallow_all("beta", ["alice", "carol"]).await.unwrap();
    assert_eq!((beta.version, beta.users.len()), (3, 1));
    assert_eq!(m.switch("beta").unwrap(), beta, "the replica follows");
    assert_eq!(m.history(Some("beta"), 10).await.unwrap().len(), 3);
}

#[tokio::test]
async fn the_managers_retry_policy_paces_modify_and_the_shortcut_fallback() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    let pauses = Arc::new(AtomicUsize::new(0));
    let counted = pauses.clone();
    let m = Manager::builder()
        .storage(Racing {
            always_moved: true,
            ..Racing::default()
        })
        .retry_policy(gate::RetryPolicy::custom(move |attempt| {
            assert!(attempt >= 1, "attempts count from 1");
            counted.fetch_add(1, Ordering::Relaxed);
            std::time::Duration::ZERO
        }))
        .build();
    m.register(Switch::new("beta")).await.unwrap();
    assert!(m.modify("beta", |s| s.state = State::Global).await.is_err());
    assert_eq!(
        pauses.swap(0, Ordering::Relaxed),
        63,
        "a pause before each retry"
    );
    assert!(m.allow("beta", "alice").await.is_err());
    assert_eq!(
        pauses.load(Ordering::Relaxed),
        63,
        "the storage's read-modify-write pauses by the manager's policy"
    );
}
