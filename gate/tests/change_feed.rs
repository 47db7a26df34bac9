//! A storage of its own with a change feed (`Storage::watch`), as a
//! Postgres `LISTEN/NOTIFY` or an etcd watch would be: the manager follows
//! it without knowing what it is. The feed here is a channel the test
//! sends `Change`s into.

use gate::SwitchKey;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use gate::storage::{BoxFuture, Change, ChangeFeed, ReadMark, Record, ReplicaSource, Watcher};
use gate::{Error, Manager, MemoryStorage, State, Storage, Switch};
use tokio::sync::mpsc;

/// A memory storage whose "other writers" are the test.
struct Fed {
    inner: MemoryStorage,
    changes: Mutex<Option<mpsc::UnboundedReceiver<Change>>>,
    watcher: Arc<Mutex<Option<Weak<dyn Watcher>>>>,
}

impl std::fmt::Debug for Fed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fed").field("inner", &self.inner).finish()
    }
}

impl Storage for Fed {
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
        self.inner.update(key, actor, switch)
    }

    fn remove_tree<'a>(
        &'a self,
        key: &'a SwitchKey,
        actor: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Record>, Error>> {
        self.inner.remove_tree(key, actor)
    }

    fn watch(&self, watcher: Weak<dyn Watcher>) -> Option<ChangeFeed> {
        *self.watcher.lock().unwrap() = Some(watcher);
        let changes = self.changes.lock().unwrap().take()?;
        Some(Box::pin(futures_util::stream::unfold(
            changes,
            |mut changes| async move { changes.recv().await.map(|c| (c, changes)) },
        )))
    }
}

fn on(name: &str, version: u64) -> Switch {
    let mut switch = Switch::new(name).state(State::Global);
    switch.version = version;
    switch
}

fn record(key: &str, version: u64) -> Record {
    Record {
        key: SwitchKey::parse(key),
        switch: on(key, version),
    }
}

fn loaded(records: Vec<Record>, read_at: ReadMark) -> Change {
    Change::Loaded {
        records,
        unreadable: Vec::new(),
        read_at,
        marker: None,
    }
}

async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storage_of_its_own_is_followed_through_its_feed() {
    let (feed, changes) = mpsc::unbounded_channel();
    let watcher = Arc::new(Mutex::new(None));
    let manager = Manager::builder()
        .storage(Fed {
            inner: MemoryStorage::new(),
            changes: Mutex::new(Some(changes)),
            watcher: watcher.clone(),
        })
        .build();
    let watcher: Weak<dyn Watcher> = watcher.lock().unwrap().clone().expect("watched");
    let registered = Arc::new(Mutex::new(Vec::new()));
    let log = registered.clone();
    manager.signals().switch_registered.connect(move |event| {
        log.lock().unwrap().push(event.switch.name.clone());
    });

    // A whole read.
    feed.send(loaded(vec![record("beta", 3)], ReadMark(0)))
        .unwrap();
    eventually("the read is applied", || manager.active("beta", ())).await;
    let status = manager.sync_status();
    assert!(status.connected && status.source == ReplicaSource::Storage);
    assert_eq!(watcher.upgrade().unwrap().held(), 1);

    // A switch another process stored, then one it removed.
    feed.send(Change::Stored {
        key: SwitchKey::parse("gamma"),
        switch: on("gamma", 1),
        read_at: None,
    })
    .unwrap();
    eventually("gamma arrives", || manager.active("gamma", ())).await;
    assert!(registered.lock().unwrap().contains(&"gamma".to_owned()));
    feed.send(Change::Removed {
        keys: vec![SwitchKey::parse("beta")],
        read_at: None,
    })
    .unwrap();
    eventually("beta goes", || manager.switch("beta").is_none()).await;

    // The storage stops answering, then answers again.
    feed.send(Change::Disconnected {
        error: Error::storage_msg("the store is down"),
    })
    .unwrap();
    eventually("disconnected", || !manager.sync_status().connected).await;
    assert!(manager
        .sync_status()
        .last_error
        .is_some_and(|e| e.contains("the store is down")));

    // A read that began before a local write does not undo it.
    let before = watcher.upgrade().unwrap().mark();
    manager.enable_for_all("local").await.unwrap();
    feed.send(loaded(vec![record("gamma", 1)], before)).unwrap();
    eventually("connected again", || manager.sync_status().connected).await;
    assert!(manager.active("local", ()), "the older read kept it");
    assert!(manager.active("gamma", ()));

    // The store lost its data: the replica only takes, until restored.
    feed.send(Change::DataLost {
        message: "the store lost its data".into(),
        switches: 2,
    })
    .unwrap();
    let now = watcher.upgrade().unwrap().mark();
    feed.send(loaded(vec![record("delta", 1)], now)).unwrap();
    eventually("delta arrives", || manager.active("delta", ())).await;
    assert!(manager.active("gamma", ()) && manager.active("local", ()));
    assert_eq!(
        manager.sync_status().data_loss.as_deref(),
        Some("the store lost its data")
    );
    feed.send(Change::Removed {
        keys: vec![SwitchKey::parse("gamma")],
        read_at: None,
    })
    .unwrap();
    eventually("an explicit delete removes", || {
        manager.switch("gamma").is_none()
    })
    .await;
    feed.send(Change::DataRestored).unwrap();
    let now = watcher.upgrade().unwrap().mark();
    feed.send(loaded(vec![record("delta", 1)], now)).unwrap();
    eventually("the store's state again", || {
        manager.sync_status().data_loss.is_none() && manager.switch("local").is_none()
    })
    .await;
    assert!(manager.active("delta", ()));

    // The watcher goes with the manager, so a feed can end.
    drop(manager);
    eventually("the watcher is gone", || watcher.upgrade().is_none()).await;
}

#[test]
fn storages_only_this_process_writes_have_no_feed() {
    struct Nobody;
    impl Watcher for Nobody {
        fn switch(&self, _: &SwitchKey) -> Option<Arc<Switch>> {
            None
        }
        fn held(&self) -> usize {
            0
        }
        fn missing(&self, _: &dyn Fn(&SwitchKey) -> bool) -> usize {
            0
        }
        fn mark(&self) -> ReadMark {
            ReadMark(0)
        }
        fn marker(&self) -> Option<String> {
            None
        }
        fn update_status(&self, _: &mut dyn FnMut(&mut gate::storage::SyncStatus)) {}
    }
    let nobody: Weak<dyn Watcher> = Weak::<Nobody>::new();
    assert!(MemoryStorage::new().watch(nobody.clone()).is_none());
    let dir = std::env::temp_dir().join(format!("gate-feed-{}", std::process::id()));
    let file = gate::storage::FileStorage::open(dir.join("switches.json"));
    assert!(file.is_ok_and(|f| f.watch(nobody).is_none()));
    let _ = std::fs::remove_dir_all(&dir);
}
