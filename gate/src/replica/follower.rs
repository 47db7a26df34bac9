//! The follower: the background task that keeps a replica in step with a
//! shared storage, whatever the storage. It takes the storage's change
//! feed ([`Storage::watch`]) and applies each [`Change`] to the replica:
//! whole reads (without undoing a newer change, see [`ReadMark`]), stored
//! and removed switches, unreadable records (reported once). It keeps the
//! sync status; while the store has lost its data it serves the last
//! state, which only explicit deletes shrink, and writes it back if told
//! to (with ordinary storage writes); and it has the snapshot file written
//! ([`snapshot_file`](super::snapshot_file)).
//!
//! The storage side (for Redis, `storage/redis/watch.rs`) reads the store
//! and says what it found; it sees the follower as a [`Watcher`] (here,
//! [`Watch`]).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};
use std::time::SystemTime;

use futures_util::StreamExt;

use super::snapshot_file::{read_snapshot, SnapshotFile, Writer};
use super::{lock, Apply, Replica};
use crate::error::Error;
use crate::key::SwitchKey;
use crate::signals::{Origin, RecordSkipped, StoreDataLost};
use crate::storage::{
    BatchWrite, Change, ChangeFeed, ReadMark, Record, ReplicaSource, Storage, SyncStatus, Watcher,
    REPUBLISH_ACTOR,
};
use crate::switch::Switch;

/// How a replica follows its storage, besides the storage.
#[derive(Default)]
pub(crate) struct FollowOptions {
    /// The snapshot file: read at start-up, written as the replica changes.
    pub(crate) snapshot: Option<PathBuf>,
    /// Where to write the replica back when the store lost its data, if
    /// this node should (`republish_on_data_loss`).
    pub(crate) republish: Option<Arc<dyn Storage>>,
}

/// The records of a snapshot file that are valid switches.
fn valid(records: Vec<Record>) -> Vec<Record> {
    records
        .into_iter()
        .filter(|r| r.switch.validate().is_ok())
        .collect()
}

/// What a storage's change feed sees of the follower (its [`Watcher`]).
/// Owned by the replica, so the feed ends when the replica goes.
pub(crate) struct Watch {
    replica: Weak<Replica>,
    /// The snapshot file's switches until the first read: served if that
    /// read finds the store has lost its data.
    saved: Mutex<Option<Vec<Record>>>,
    /// The store's marker of the snapshot file.
    marker: Option<String>,
}

impl Watcher for Watch {
    fn switch(&self, key: &SwitchKey) -> Option<Arc<Switch>> {
        self.replica.upgrade()?.switch(key)
    }

    fn held(&self) -> usize {
        let saved = lock(&self.saved).as_ref().map_or(0, Vec::len);
        self.replica.upgrade().map_or(0, |r| r.len()).max(saved)
    }

    fn missing(&self, stored: &dyn Fn(&SwitchKey) -> bool) -> usize {
        let replica = self.replica.upgrade();
        match replica.filter(|r| r.len() > 0) {
            Some(replica) => replica
                .current()
                .switches()
                .filter(|(key, _)| !stored(key))
                .count(),
            None => lock(&self.saved)
                .iter()
                .flatten()
                .filter(|r| !stored(&r.key))
                .count(),
        }
    }

    fn mark(&self) -> ReadMark {
        ReadMark(self.replica.upgrade().map_or(0, |r| r.seq()))
    }

    fn marker(&self) -> Option<String> {
        self.marker.clone()
    }

    fn update_status(&self, change: &mut dyn FnMut(&mut SyncStatus)) {
        if let Some(replica) = self.replica.upgrade() {
            replica.set_sync(change);
        }
    }
}

/// The follower of one replica (see the module docs).
pub(crate) struct Follower {
    replica: Weak<Replica>,
    feed: ChangeFeed,
    snapshot: Option<PathBuf>,
    /// The snapshot file as read at start-up, until the first read.
    from_file: Option<Result<SnapshotFile, String>>,
    writer: Option<Writer>,
    republish: Option<Arc<dyn Storage>>,
    /// The store's marker the replica follows, written in the snapshot file.
    marker: Option<String>,
    /// Whether the store is known to have lost its data.
    lost: bool,
}

impl Follower {
    /// A follower of `storage` for `replica`, if the storage has a change
    /// feed (and the replica no follower yet). Reads the snapshot file.
    pub(crate) fn new(
        storage: &dyn Storage,
        replica: &Arc<Replica>,
        options: FollowOptions,
    ) -> Option<Follower> {
        let from_file = options.snapshot.as_deref().map(read_snapshot);
        let saved = match &from_file {
            Some(Ok(file)) => Some(file.clone()),
            _ => None,
        };
        let marker = saved.as_ref().and_then(|s| s.epoch.clone());
        let watch = Arc::new(Watch {
            replica: Arc::downgrade(replica),
            saved: Mutex::new(saved.map(|s| valid(s.records))),
            marker: marker.clone(),
        });
        let watcher: Weak<dyn Watcher> = Arc::downgrade(&watch) as Weak<Watch>;
        if replica.watch.set(watch).is_err() {
            tracing::warn!("gate: this replica already follows a storage");
            return None;
        }
        let feed = storage.watch(watcher)?;
        Some(Follower {
            replica: Arc::downgrade(replica),
            feed,
            writer: options.snapshot.clone().map(Writer::new),
            snapshot: options.snapshot,
            from_file,
            republish: options.republish,
            marker,
            lost: false,
        })
    }

    /// Applies the feed's first read; if the storage does not answer, the
    /// snapshot file's switches instead (or none).
    pub(crate) async fn start(&mut self) {
        while let Some(change) = self.feed.next().await {
            let Some(replica) = self.replica.upgrade() else {
                return;
            };
            match change {
                Change::Disconnected { error } => {
                    self.start_offline(&replica, &error);
                    return;
                }
                change @ Change::Loaded { .. } => {
                    self.apply(&replica, change).await;
                    return;
                }
                change => self.apply(&replica, change).await,
            }
        }
    }

    /// Follows the feed until the replica is gone.
    pub(crate) async fn run(mut self) {
        self.from_file = None;
        while let Some(change) = self.feed.next().await {
            let Some(replica) = self.replica.upgrade() else {
                return;
            };
            self.apply(&replica, change).await;
        }
    }

    fn start_offline(&mut self, replica: &Replica, error: &Error) {
        let from_file = self.snapshot.as_deref().zip(self.from_file.take());
        let source = match from_file {
            Some((path, Ok(file))) => {
                let records = valid(file.records);
                let count = records.len();
                tracing::warn!(%error, path = %path.display(), switches = count, "gate: the storage is unreachable; serving the switches of the snapshot file until it answers");
                replica.replace_all(records);
                ReplicaSource::SnapshotFile
            }
            Some((path, Err(file_error))) => {
                tracing::warn!(%error, path = %path.display(), %file_error, "gate: the storage is unreachable and the snapshot file cannot be read; starting with no switches until it answers");
                ReplicaSource::Empty
            }
            None => {
                tracing::warn!(%error, "gate: the storage is unreachable; starting with no switches until it answers (configure snapshot_file to serve the last known ones)");
                ReplicaSource::Empty
            }
        };
        replica.set_sync(|s| {
            s.connected = false;
            s.source = source;
            s.last_error = Some(error.to_string());
        });
    }

    /// Applies one change.
    async fn apply(&mut self, replica: &Replica, change: Change) {
        match change {
            Change::Loaded {
                records,
                unreadable,
                read_at,
                marker,
            } => {
                self.loaded(replica, records, unreadable, read_at).await;
                self.marker = marker;
            }
            Change::Stored {
                key,
                switch,
                read_at,
            } => {
                replica.note_readable(|k| *k == key);
                replica.apply_since(
                    vec![Apply::Upsert {
                        key,
                        switch,
                        authoritative: true,
                    }],
                    Origin::Remote,
                    read_at.map(|m| m.0),
                );
            }
            Change::Advanced { key, switch } => replica.apply(
                vec![Apply::Upsert {
                    key,
                    switch,
                    authoritative: false,
                }],
                Origin::Remote,
            ),
            Change::Removed { keys, read_at } => {
                replica.note_readable(|key| keys.iter().any(|k| k == key));
                replica.apply_since(
                    keys.into_iter().map(|key| Apply::Remove { key }).collect(),
                    Origin::Remote,
                    read_at.map(|m| m.0),
                );
            }
            Change::Unreadable { key, error } => skipped(replica, key, &error),
            Change::Disconnected { error } => {
                disconnected(replica, &error);
                return;
            }
            Change::DataLost { message, switches } => {
                self.lost = true;
                data_lost(replica, message, switches);
                return;
            }
            Change::DataRestored => {
                self.lost = false;
                let mut was_lost = false;
                replica.set_sync(|s| was_lost = s.data_loss.take().is_some());
                if was_lost {
                    tracing::warn!(
                        "gate: the storage was restored after a data loss; following its state again"
                    );
                }
                return;
            }
        }
        self.write_snapshot(replica);
    }

    /// Makes the replica equal to a whole read, unless the store lost its
    /// data: then the replica only takes what the store holds, and loses
    /// nothing.
    async fn loaded(
        &mut self,
        replica: &Replica,
        records: Vec<Record>,
        unreadable: Vec<(SwitchKey, Error)>,
        read_at: ReadMark,
    ) {
        let saved = replica.watch.get().and_then(|w| lock(&w.saved).take());
        let mut malformed = Vec::with_capacity(unreadable.len());
        for (key, error) in unreadable {
            skipped(replica, key.clone(), &error);
            malformed.push(key);
        }
        // A problem no longer seen (read fine, or gone) is reported again
        // if it comes back.
        let unreadable: BTreeSet<&SwitchKey> = malformed.iter().collect();
        replica.note_readable(|key| !unreadable.contains(key));
        let mut source = Some(ReplicaSource::Storage);
        if self.lost {
            source = None;
            let mut stored: BTreeSet<SwitchKey> = records.iter().map(|r| r.key.clone()).collect();
            stored.extend(malformed.iter().cloned());
            let mut changes = Vec::new();
            if let Some(saved) = saved.filter(|_| replica.len() == 0) {
                source = Some(ReplicaSource::SnapshotFile);
                changes.extend(saved.into_iter().map(upsert));
            }
            changes.extend(records.into_iter().map(upsert));
            replica.apply_since(changes, Origin::Remote, Some(read_at.0));
            if let Some(storage) = &self.republish {
                republish(&**storage, replica, &stored).await;
            }
        } else {
            replica.sync_to(records, &malformed, read_at.0);
        }
        replica.set_sync(|s| {
            s.connected = true;
            s.last_sync = Some(SystemTime::now());
            if let Some(source) = source {
                s.source = source;
            }
            s.last_error = None;
        });
    }

    /// Has the replica written to the snapshot file, unless the store lost
    /// its data (the file then keeps the last state the store held).
    fn write_snapshot(&self, replica: &Replica) {
        if let Some(writer) = &self.writer {
            if !self.lost {
                writer.request(replica.current(), self.marker.clone());
            }
        }
    }
}

/// A switch just read from the storage, to apply as it is.
fn upsert(Record { key, switch }: Record) -> Apply {
    Apply::Upsert {
        key,
        switch,
        authoritative: true,
    }
}

fn disconnected(replica: &Replica, error: &Error) {
    replica.set_sync(|s| {
        if s.connected {
            tracing::warn!(%error, "gate: lost the storage; checks answer from the last known switches");
        }
        s.connected = false;
        s.last_error = Some(error.to_string());
    });
}

/// Notes a data loss in the sync status; the first time, reports it.
fn data_lost(replica: &Replica, message: String, held: usize) {
    let mut first = false;
    replica.set_sync(|s| {
        first = s.data_loss.is_none();
        s.data_loss = Some(message.clone());
    });
    if first {
        tracing::error!(switches = held, "gate: {message}");
        replica.signals.store_data_lost.emit_with(|| StoreDataLost {
            message,
            switches: held,
        });
    }
}

/// Writes the switches the replica holds and the store lacks back, all or
/// none, then marks the store restored.
async fn republish(storage: &dyn Storage, replica: &Replica, stored: &BTreeSet<SwitchKey>) {
    let writes: Vec<(SwitchKey, BatchWrite)> = replica
        .records()
        .into_iter()
        .filter(|r| !stored.contains(&r.key))
        .map(|r| (r.key, BatchWrite::Create(r.switch)))
        .collect();
    let count = writes.len();
    let written = if writes.is_empty() {
        Ok(())
    } else {
        storage
            .write_batch(REPUBLISH_ACTOR, writes)
            .await
            .map(|_| ())
    };
    // Marked restored only once everything is written back: the other
    // nodes then take the store's state as a whole again.
    let written = match written {
        Ok(()) => storage.mark_restored().await,
        Err(e) => Err(e),
    };
    match written {
        Ok(()) => {
            tracing::warn!(
                switches = count,
                "gate: re-published the last known switches after the storage's data loss"
            );
        }
        Err(error) => {
            tracing::warn!(%error, "gate: could not re-publish the last known switches; retrying at the next resync");
        }
    }
}

/// Reports an unreadable record, once per distinct problem.
fn skipped(replica: &Replica, key: SwitchKey, error: &Error) {
    let error = match error {
        Error::Unreadable { reason, .. } => reason.clone(),
        other => other.to_string(),
    };
    if !replica.note_unreadable(&key, &error) {
        return;
    }
    tracing::warn!(switch = %key, %error, "gate: skipped an unreadable switch record in the storage (its last good copy, if any, is kept)");
    replica
        .signals
        .record_skipped
        .emit_with(|| RecordSkipped { key, error });
}
