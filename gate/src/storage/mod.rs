//! Where switches are stored. Every manager keeps a replica of its storage
//! in memory and answers checks from it; the storage is only touched by
//! writes (and, for shared storages, by the change feed its follower
//! applies: [`Storage::watch`], `feed.rs`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Weak;

use crate::error::Error;
use crate::history::HistoryEntry;
use crate::key::SwitchKey;
use crate::switch::Switch;

mod feed;
mod file;
mod forward;
mod memory;
#[cfg(feature = "redis")]
mod redis;
mod shortcut;

#[cfg(feature = "redis")]
pub use self::redis::{redact_url, RedisBuilder, RedisStorage};
pub use feed::{Change, ChangeFeed, ReadMark, Watcher};
pub use file::FileStorage;
pub use memory::MemoryStorage;
pub use shortcut::{Shortcut, ShortcutRequest};

/// A boxed, sendable future, as storages return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The actor of switches a node re-publishes after its store lost its
/// data (see `republish_on_data_loss`).
pub const REPUBLISH_ACTOR: &str = "republish";

/// A stored switch with its key.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The storage key.
    pub key: SwitchKey,
    /// The switch, with its stored version.
    pub switch: Switch,
}

/// How a manager's replica stands with its storage, from
/// [`Manager::sync_status`](crate::Manager::sync_status).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncStatus {
    /// Whether the storage answers (always true in memory).
    pub connected: bool,
    /// When the replica last matched the whole storage.
    pub last_sync: Option<std::time::SystemTime>,
    /// Where the replica's switches came from.
    pub source: ReplicaSource,
    /// The last storage error, if the storage is not connected.
    pub last_error: Option<String>,
    /// Set while the storage is known to have lost its data (a Redis
    /// restarted without persistence, or flushed): what was seen. The
    /// replica keeps serving its last state meanwhile; switches written
    /// since are followed, and only explicit deletes remove any. Cleared
    /// when the store is restored (`gate restore --from <snapshot>`).
    pub data_loss: Option<String>,
    /// How many stored records cannot be read (listed by
    /// [`Manager::unreadable`](crate::Manager::unreadable)).
    pub unreadable: usize,
}

/// Where a replica's switches came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplicaSource {
    /// From the storage itself.
    Storage,
    /// From the local snapshot file, because the storage was unreachable
    /// at start-up (the storage's state replaces it once it answers), or
    /// because the storage had lost its data (see
    /// [`SyncStatus::data_loss`]).
    SnapshotFile,
    /// Nothing yet: the storage was unreachable at start-up and there was
    /// no snapshot file.
    Empty,
}

/// The outcome of [`Storage::apply_shortcut`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AppliedShortcut {
    /// The switch as stored after the change, at its new version (or at
    /// its version before, if the change was already there and nothing
    /// was written).
    pub switch: Switch,
    /// Whether `switch.users` is exactly the stored allow-list. `false`
    /// only when the storage could not tell without reading a large list
    /// again (Redis: more than 100,000 ids, changed by another writer
    /// since the caller's copy): `switch.users` is then the caller's copy
    /// with this change applied, and the manager leaves its replica to the
    /// change feed.
    pub exact: bool,
}

impl AppliedShortcut {
    /// The switch as stored, allow-list included.
    pub fn exact(switch: Switch) -> Self {
        AppliedShortcut {
            switch,
            exact: true,
        }
    }

    /// The switch as stored, except that its allow-list is the caller's
    /// copy with the change applied (see [`exact`](Self::exact)).
    pub fn inexact(switch: Switch) -> Self {
        AppliedShortcut {
            switch,
            exact: false,
        }
    }
}

/// What became of a write, by its operation id: the answer of
/// [`Manager::write_outcome`](crate::Manager::write_outcome) about an
/// [`Error::OutcomeUnknown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteOutcome {
    /// The write was applied.
    Applied,
    /// The write was not applied, and never will be: it was refused (its
    /// switch already existed, had changed, …), or it had not reached the
    /// store and the check cancelled it.
    NotApplied,
    /// The store has no record of this id: it is not one this store gave,
    /// or it is older than the store keeps records (one hour for Redis),
    /// and the audit trail does not mention it either.
    NoRecord,
}

/// A storage back end.
///
/// Implementations must make every write atomic and versioned: `insert`
/// stores version 1, `update` stores `version + 1` only if the stored
/// version still equals the switch's `version`, else fails with
/// [`Error::Conflict`]; `apply_shortcut` changes whatever is stored, with
/// no version to match, so it never conflicts. Every write records a
/// [`HistoryEntry`] naming
/// `actor`, atomically with the write where the storage allows it. The
/// manager's conformance suite ([`crate::testing::conformance`]) checks
/// these rules.
///
/// `Arc<S>` and `Box<S>` (also `Box<dyn Storage>`) are storages too,
/// forwarding every method to `S`, so that several managers can share one
/// storage:
///
/// ```
/// use std::sync::Arc;
///
/// let shared = Arc::new(gate::MemoryStorage::new());
/// let a = gate::Manager::builder().storage(shared.clone()).build();
/// let b = gate::Manager::builder().storage(shared).build();
/// # let _ = (a, b);
/// ```
pub trait Storage: Send + Sync + fmt::Debug + 'static {
    /// Every stored switch.
    fn load(&self) -> BoxFuture<'_, Result<Vec<Record>, Error>>;

    /// One switch.
    fn get<'a>(&'a self, key: &'a SwitchKey) -> BoxFuture<'a, Result<Option<Switch>, Error>>;

    /// Stores a new switch at version 1 and returns it.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyExists`] if the key is taken.
    fn insert<'a>(
        &'a self,
        key: &'a SwitchKey,
        actor: &'a str,
        switch: Switch,
    ) -> BoxFuture<'a, Result<Switch, Error>>;

    /// Replaces a switch if its stored version is `switch.version`;
    /// returns the previous and the new switch.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], or [`Error::Conflict`] if the version moved.
    fn update<'a>(
        &'a self,
        key: &'a SwitchKey,
        actor: &'a str,
        switch: Switch,
    ) -> BoxFuture<'a, Result<(Switch, Switch), Error>>;

    /// [`update`](Storage::update), given `previous`: the switch as the
    /// caller just read it from this storage, at `switch.version`. A
    /// storage may use it instead of reading the switch again (Redis does,
    /// so `modify` reads a million-id allow-list once, not twice); the
    /// version check still guards the write. The default ignores it.
    fn update_from<'a>(
        &'a self,
        key: &'a SwitchKey,
        actor: &'a str,
        previous: Switch,
        switch: Switch,
    ) -> BoxFuture<'a, Result<(Switch, Switch), Error>> {
        let _ = previous;
        self.update(key, actor, switch)
    }

    /// Removes the switch at `key` and every descendant (`key:…`); returns
    /// what was removed.
    fn remove_tree<'a>(
        &'a self,
        key: &'a SwitchKey,
        actor: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Record>, Error>>;

    /// Applies a rollout shortcut (`request.shortcut`) to the switch at
    /// `request.key` as stored right now, as one atomic write (one audit
    /// entry naming `request.actor`, the version bumped once), creating the
    /// switch (selective) if it is missing, and writing nothing if the
    /// change is already there. Two writers never conflict.
    ///
    /// `request.known` is the caller's copy of the switch, if it has one
    /// (its replica's): a storage may use it instead of sending back an
    /// allow-list the caller already has.
    ///
    /// The default reads, applies and updates, retrying when another
    /// writer got in between, after the pause `request.retry` (the
    /// manager's policy) says, so it can give up with
    /// [`Error::Contended`]; the memory, file and Redis storages apply it
    /// atomically.
    ///
    /// # Errors
    ///
    /// A validation error of the changed switch, or a storage error.
    fn apply_shortcut<'a>(
        &'a self,
        request: ShortcutRequest<'a>,
    ) -> BoxFuture<'a, Result<AppliedShortcut, Error>> {
        Box::pin(async move {
            shortcut::read_modify_write(self, &request)
                .await
                .map(AppliedShortcut::exact)
        })
    }

    /// The newest `limit` entries of the audit trail, newest first, about
    /// the switch at `key` and its descendants (every switch if `None`).
    /// A storage without an audit trail returns none.
    fn history<'a>(
        &'a self,
        key: Option<&'a SwitchKey>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<HistoryEntry>, Error>> {
        let _ = (key, limit);
        Box::pin(async { Ok(Vec::new()) })
    }

    /// The storage's change feed, for a storage that other processes write
    /// too: what they change, for `watcher`'s replica to follow (see
    /// [`Change`]). The default, `None`, is for storages only this process
    /// writes (memory, file): the manager applies its own writes.
    fn watch(&self, watcher: Weak<dyn Watcher>) -> Option<ChangeFeed> {
        let _ = watcher;
        None
    }

    /// Applies every write of `writes` or none: creates (failing with
    /// [`Error::AlreadyExists`] if the key is taken) and updates (failing
    /// with [`Error::Conflict`] if the stored version is not the switch's
    /// `version`, or [`Error::NotFound`]), each recorded in the audit
    /// trail; returns the switches as stored, in order.
    ///
    /// The default checks every write, then applies them one by one: all
    /// or nothing unless another writer interleaves. The memory, file and
    /// Redis storages do it atomically.
    fn write_batch<'a>(
        &'a self,
        actor: &'a str,
        writes: Vec<(SwitchKey, BatchWrite)>,
    ) -> BoxFuture<'a, Result<Vec<Switch>, Error>> {
        Box::pin(async move {
            for (key, write) in &writes {
                let stored = self.get(key).await?;
                write.check(key, stored.as_ref())?;
            }
            let mut done = Vec::with_capacity(writes.len());
            for (key, write) in writes {
                done.push(match write {
                    BatchWrite::Create(switch) => self.insert(&key, actor, switch).await?,
                    BatchWrite::Update(switch) => self.update(&key, actor, switch).await?.1,
                });
            }
            Ok(done)
        })
    }

    /// What became of the write with operation id `id` (from an
    /// [`Error::OutcomeUnknown`]). A write that has not been applied yet
    /// is cancelled, so that the answer stays true. Storages whose writes
    /// never have unknown outcomes (memory, file) keep no ids and answer
    /// [`WriteOutcome::NoRecord`], the default.
    fn write_outcome<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<WriteOutcome, Error>> {
        let _ = id;
        Box::pin(std::future::ready(Ok(WriteOutcome::NoRecord)))
    }

    /// Stores `switch` at `key` whatever the key holds now, also a record
    /// that cannot be read (see [`Error::Unreadable`]); returns it as
    /// stored. The default updates a readable switch (or creates one) and
    /// fails with the read error on an unreadable one.
    fn repair<'a>(
        &'a self,
        key: &'a SwitchKey,
        actor: &'a str,
        switch: Switch,
    ) -> BoxFuture<'a, Result<Switch, Error>> {
        Box::pin(async move {
            match self.get(key).await? {
                Some(stored) => {
                    let mut switch = switch;
                    switch.version = stored.version;
                    Ok(self.update(key, actor, switch).await?.1)
                }
                None => self.insert(key, actor, switch).await,
            }
        })
    }

    /// Marks the storage as restored after a data loss (see
    /// [`SyncStatus::data_loss`]), so that the managers following it take
    /// its state as authoritative again. The default does nothing.
    fn mark_restored(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(std::future::ready(Ok(())))
    }

    /// The abilities of this storage that answer without waiting, if it
    /// has them (see [`ImmediateStorage`]): the memory storage returns
    /// itself, so that a manager built on it starts with its switches and
    /// autocreates on the spot. The default has none: the manager then
    /// loads and autocreates in the background.
    fn immediate(&self) -> Option<&dyn ImmediateStorage> {
        None
    }
}

/// The optional, synchronous abilities of a storage that can answer
/// without waiting for a server, offered through
/// [`Storage::immediate`]. A manager uses them when it is built (to fill
/// its replica before `build` returns) and when a check meets an unknown
/// name with autocreate on (to register it at once, on the check path).
///
/// # Examples
///
/// ```
/// use gate::storage::ImmediateStorage;
/// use gate::{MemoryStorage, Storage, Switch, SwitchKey};
///
/// let storage = MemoryStorage::new();
/// let now = storage.immediate().expect("the memory storage answers at once");
/// let key = SwitchKey::root("beta").unwrap();
/// now.insert_now(&key, "alice", Switch::new("beta")).unwrap().unwrap();
/// assert_eq!(now.load_now().unwrap().len(), 1);
/// ```
pub trait ImmediateStorage: Send + Sync {
    /// Every stored switch, read now. Called when a manager is built,
    /// never on the check path, so it may read a local file.
    ///
    /// # Errors
    ///
    /// The storage's error (the manager then starts empty, with a
    /// warning).
    fn load_now(&self) -> Result<Vec<Record>, Error>;

    /// [`insert`](Storage::insert) right now, on the check path (by
    /// autocreate), if the storage can do it in memory, without I/O;
    /// `None` (the default) if it cannot, and the manager then registers
    /// the switch in the background.
    fn insert_now(
        &self,
        key: &SwitchKey,
        actor: &str,
        switch: Switch,
    ) -> Option<Result<Switch, Error>> {
        let _ = (key, actor, switch);
        None
    }
}

/// One write of [`Storage::write_batch`].
#[derive(Debug, Clone, PartialEq)]
pub enum BatchWrite {
    /// Register this switch (the key must be free).
    Create(Switch),
    /// Replace the stored switch, which must be at this switch's `version`.
    Update(Switch),
}

impl BatchWrite {
    /// The switch written.
    pub fn switch(&self) -> &Switch {
        match self {
            BatchWrite::Create(s) | BatchWrite::Update(s) => s,
        }
    }

    /// Whether this write may apply to `stored` (what the key holds now).
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyExists`], [`Error::NotFound`] or [`Error::Conflict`].
    pub fn check(&self, key: &SwitchKey, stored: Option<&Switch>) -> Result<(), Error> {
        let name = || key.name().to_owned();
        match (self, stored) {
            (BatchWrite::Create(_), Some(_)) => Err(Error::AlreadyExists { name: name() }),
            (BatchWrite::Create(_), None) => Ok(()),
            (BatchWrite::Update(_), None) => Err(Error::NotFound { name: name() }),
            (BatchWrite::Update(s), Some(stored)) if stored.version != s.version => {
                Err(Error::Conflict {
                    name: name(),
                    expected: s.version,
                    found: stored.version,
                })
            }
            (BatchWrite::Update(_), Some(_)) => Ok(()),
        }
    }
}
