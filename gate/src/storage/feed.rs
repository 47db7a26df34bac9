//! The change feed: how a shared storage tells a manager's replica what
//! other processes changed ([`Storage::watch`](super::Storage::watch)).
//!
//! A storage that only this process writes (memory, file) has no feed. A
//! shared one (Redis pub/sub; a Postgres `LISTEN/NOTIFY` or an etcd watch
//! would do the same) returns a stream of [`Change`]s, and the follower
//! (`replica/follower.rs`) applies them to the replica: it keeps the sync
//! status, serves the last known state while the store has lost its data,
//! and writes the snapshot file. The storage side only reads its store and
//! says what it found; it asks the follower, through [`Watcher`], what the
//! follower holds.
//!
//! A feed is pulled: the storage reads only when the follower asks for the
//! next change, so what it asks of the [`Watcher`] reflects every change
//! it sent before.

use std::pin::Pin;
use std::sync::Arc;

use futures_util::Stream;

use super::{Record, SyncStatus};
use crate::error::Error;
use crate::key::SwitchKey;
use crate::switch::Switch;

/// A storage's change feed: the [`Change`]s another process's writes (and
/// the storage's health) make, in order. It ends when the follower it
/// serves is gone.
pub type ChangeFeed = Pin<Box<dyn Stream<Item = Change> + Send + 'static>>;

/// Where a [`Watcher`] stood when a read of the storage began
/// ([`Watcher::mark`]). A change read by it carries the mark, so that it
/// does not undo a newer change the watcher applied while the read ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReadMark(pub u64);

/// One change of a [`ChangeFeed`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Change {
    /// The whole storage, as one read that began at `read_at` found it.
    /// The follower makes its replica equal to it (switches not listed are
    /// removed, except those in `unreadable`, whose last good copy is
    /// kept), or, while the store has lost its data ([`Change::DataLost`]),
    /// only takes what it holds.
    Loaded {
        /// Every readable switch.
        records: Vec<Record>,
        /// The keys whose records cannot be read, and why.
        unreadable: Vec<(SwitchKey, Error)>,
        /// The watcher's mark taken before the read began.
        read_at: ReadMark,
        /// The store's marker the follower follows now, kept in its
        /// snapshot file (see [`Watcher::marker`]).
        marker: Option<String>,
    },
    /// The switch at `key` as the storage holds it now. Replaces whatever
    /// differs, unless the watcher changed that key after `read_at`.
    Stored {
        /// The storage key.
        key: SwitchKey,
        /// The switch, with its stored version.
        switch: Switch,
        /// The watcher's mark taken before the read began (`None`: no read,
        /// the change itself said it all).
        read_at: Option<ReadMark>,
    },
    /// A newer version of the switch at `key`, which the storage derived
    /// from the watcher's copy and a delta it announced (ids added to or
    /// removed from an allow-list): replaces only an older version.
    Advanced {
        /// The storage key.
        key: SwitchKey,
        /// The switch at its new version.
        switch: Switch,
    },
    /// These switches were removed: by explicit deletes (`read_at` is
    /// `None`), or a read that began at `read_at` found them gone. Removes
    /// them also while the store has lost its data.
    Removed {
        /// The storage keys.
        keys: Vec<SwitchKey>,
        /// The watcher's mark taken before the read began, if one did.
        read_at: Option<ReadMark>,
    },
    /// The record at `key` cannot be read: the follower keeps its last
    /// good copy, and reports the problem once.
    Unreadable {
        /// The storage key.
        key: SwitchKey,
        /// Why ([`Error::Unreadable`], or another error).
        error: Error,
    },
    /// The storage stopped answering. The feed keeps trying, and sends a
    /// [`Change::Loaded`] once the storage answers again.
    Disconnected {
        /// What failed.
        error: Error,
    },
    /// The store lost its data (restarted without persistence, flushed).
    /// Sent again at each read while it lasts. Until
    /// [`Change::DataRestored`], the follower serves its last state, which
    /// only [`Change::Removed`] shrinks, and leaves its snapshot file alone.
    DataLost {
        /// What was seen ([`SyncStatus::data_loss`]).
        message: String,
        /// How many switches the follower serves meanwhile.
        switches: usize,
    },
    /// The store was restored after a data loss: the next
    /// [`Change::Loaded`] is the whole state again.
    DataRestored,
}

/// The follower of a [`ChangeFeed`], as the storage sees it: what it holds,
/// where it stands, and its sync status. Implemented by the follower; a
/// storage holds it weakly (`Weak<dyn Watcher>`), and ends its feed once it
/// is gone.
pub trait Watcher: Send + Sync {
    /// The watcher's copy of the switch at `key`.
    fn switch(&self, key: &SwitchKey) -> Option<Arc<Switch>>;

    /// How many switches the watcher serves: its replica, or the snapshot
    /// file it will serve if the store turns out to have lost its data.
    fn held(&self) -> usize;

    /// How many of the switches it serves ([`held`](Self::held)) the store
    /// lacks, `stored` saying which keys the store has: a store found
    /// without its marker lost nothing when this is 0 (the watcher held
    /// nothing, or only what was written since).
    fn missing(&self, stored: &dyn Fn(&SwitchKey) -> bool) -> usize;

    /// Where the watcher stands now: take it before a read, and send it with
    /// what the read found.
    fn mark(&self) -> ReadMark;

    /// The store's marker the watcher's state came from (its snapshot
    /// file's), if any: a storage that marks its store (Redis) tells by it
    /// whether the store lost its data while this process was away.
    fn marker(&self) -> Option<String>;

    /// Changes the sync status at once, outside the feed: for a storage
    /// that notices in a write's call that it stopped answering, or that it
    /// answers again.
    fn update_status(&self, change: &mut dyn FnMut(&mut SyncStatus));
}
