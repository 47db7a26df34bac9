//! The follower: the background task that keeps a manager's replica in
//! step with Redis. It reads the whole store at start and every resync
//! interval, applies the notifications of the changes channel
//! ([`protocol`](super::protocol)), asks Redis every
//! [`HEALTH_INTERVAL`] whether it still answers, notices a store that lost
//! its data by its marker ([`epoch`](super::epoch)), and writes the
//! snapshot file.

use std::path::PathBuf;
use std::sync::{Mutex, Weak};
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;

use super::protocol::Notification;
use super::{record, RedisStorage};
use crate::error::Error;
use crate::manager::{Apply, Shared};
use crate::signals::{Origin, RecordSkipped};
use crate::storage::snapshot::{write_snapshot, Snapshot};
use crate::storage::{Record, ReplicaSource};
use crate::switch::Switch;

mod data_loss;

/// How often a following node asks Redis whether it still answers; with
/// [`PING_TIMEOUT`](super::PING_TIMEOUT), a hung server is reported within 2 s.
const HEALTH_INTERVAL: Duration = Duration::from_millis(500);

/// The records of a snapshot file that are valid switches.
pub(super) fn valid(records: Vec<Record>) -> Vec<Record> {
    records
        .into_iter()
        .filter(|r| r.switch.validate().is_ok())
        .collect()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The background task that keeps a replica in step with Redis.
pub(super) struct Sync {
    pub(super) shared: Weak<Shared>,
    pub(super) storage: RedisStorage,
    pub(super) interval: Duration,
    pub(super) snapshot: Option<PathBuf>,
    /// The store's marker this replica follows (from the snapshot file
    /// until the first read).
    pub(super) epoch: Mutex<Option<String>>,
    /// The snapshot file's switches until the first read: served if that
    /// read finds the store has lost its data.
    pub(super) saved: Mutex<Option<Vec<Record>>>,
    /// Write the replica back when the store lost its data.
    pub(super) republish: bool,
}

/// The actor of switches a node re-publishes after a data loss.
pub const REPUBLISH_ACTOR: &str = "republish";

impl Sync {
    pub(super) fn start_offline(
        &self,
        shared: &Shared,
        error: &Error,
        from_file: Option<Result<Snapshot, String>>,
    ) {
        let from_file = self.snapshot.as_deref().zip(from_file);
        let source = match from_file {
            Some((path, Ok(file))) => {
                let records = valid(file.records);
                let count = records.len();
                tracing::warn!(%error, path = %path.display(), switches = count, "gate: Redis is unreachable; serving the switches of the snapshot file until it answers");
                shared.replace_all(records);
                ReplicaSource::SnapshotFile
            }
            Some((path, Err(file_error))) => {
                tracing::warn!(%error, path = %path.display(), %file_error, "gate: Redis is unreachable and the snapshot file cannot be read; starting with no switches until Redis answers");
                ReplicaSource::Empty
            }
            None => {
                tracing::warn!(%error, "gate: Redis is unreachable; starting with no switches until it answers (configure snapshot_file to serve the last known ones)");
                ReplicaSource::Empty
            }
        };
        shared.set_sync(|s| {
            s.connected = false;
            s.source = source;
            s.last_error = Some(error.to_string());
        });
    }

    /// Reads everything and makes the replica equal to it, unless the
    /// store lost its data: then the replica only takes what the store
    /// holds, and loses nothing.
    pub(super) async fn resync(&self, shared: &Shared) -> Result<(), Error> {
        // A change applied while the read runs is newer than what it reads.
        let since = shared.seq();
        let read = self
            .storage
            .fetch_all(|key| shared.replica_switch(key))
            .await?;
        let saved = lock(&self.saved).clone();
        let held = shared.replica_len().max(saved.as_ref().map_or(0, Vec::len));
        let lost = self.data_lost(shared, read.epoch, held).await?;
        lock(&self.saved).take();
        let mut records = Vec::with_capacity(read.records.len());
        let mut malformed = Vec::new();
        for (key, parsed) in read.records {
            match parsed {
                Ok(switch) => records.push(Record { key, switch }),
                Err(error) => {
                    skipped(shared, key.clone(), &error);
                    malformed.push(key);
                }
            }
        }
        // A problem no longer seen (read fine, or gone) is reported again
        // if it comes back.
        let unreadable: std::collections::BTreeSet<&str> =
            malformed.iter().map(String::as_str).collect();
        shared.note_readable(|key| !unreadable.contains(key));
        let mut source = Some(ReplicaSource::Storage);
        if lost {
            source = None;
            let mut stored: std::collections::BTreeSet<String> =
                records.iter().map(|r| r.key.clone()).collect();
            stored.extend(malformed.iter().cloned());
            let mut changes = Vec::new();
            if let Some(saved) = saved.filter(|_| shared.replica_len() == 0) {
                source = Some(ReplicaSource::SnapshotFile);
                changes.extend(
                    saved
                        .into_iter()
                        .map(|Record { key, switch }| Apply::Upsert {
                            key,
                            switch,
                            authoritative: true,
                        }),
                );
            }
            changes.extend(
                records
                    .into_iter()
                    .map(|Record { key, switch }| Apply::Upsert {
                        key,
                        switch,
                        authoritative: true,
                    }),
            );
            shared.apply_since(changes, Origin::Remote, Some(since));
            if self.republish {
                self.republish(shared, &stored).await;
            }
        } else {
            shared.sync_to(records, &malformed, since);
        }
        shared.set_sync(|s| {
            s.connected = true;
            s.last_sync = Some(SystemTime::now());
            if let Some(source) = source {
                s.source = source;
            }
            s.last_error = None;
        });
        self.write_snapshot(shared);
        Ok(())
    }

    /// Writes the replica to the snapshot file, unless the store lost its
    /// data (the file then keeps the last state the store held).
    fn write_snapshot(&self, shared: &Shared) {
        let Some(path) = &self.snapshot else { return };
        let mut lost = false;
        shared.set_sync(|s| lost = s.data_loss.is_some());
        if lost {
            return;
        }
        let epoch = lock(&self.epoch).clone();
        if let Err(e) = write_snapshot(path, epoch.as_deref(), &shared.replica_records()) {
            tracing::warn!(path = %path.display(), error = %e, "gate: could not write the snapshot file");
        }
    }

    fn disconnected(&self, shared: &Shared, error: &Error) {
        shared.set_sync(|s| {
            if s.connected {
                tracing::warn!(%error, "gate: lost Redis; checks answer from the last known switches");
            }
            s.connected = false;
            s.last_error = Some(error.to_string());
        });
    }

    pub(super) async fn run(self) {
        let mut backoff = Duration::from_millis(50);
        loop {
            let Some(shared) = self.shared.upgrade() else {
                return;
            };
            let subscribed = async {
                let mut pubsub = self
                    .storage
                    .call("subscribe", self.storage.client.get_async_pubsub())
                    .await?;
                self.storage
                    .call("subscribe", pubsub.subscribe(&self.storage.keys.channel))
                    .await?;
                self.resync(&shared).await?;
                Ok::<_, Error>(pubsub)
            };
            let mut pubsub = match subscribed.await {
                Ok(pubsub) => pubsub,
                Err(e) => {
                    self.disconnected(&shared, &e);
                    drop(shared);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_millis(500));
                    continue;
                }
            };
            backoff = Duration::from_millis(50);
            drop(shared);
            let mut messages = pubsub.on_message();
            let mut resync = tokio::time::interval(self.interval);
            resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            resync.tick().await;
            let mut health = tokio::time::interval(HEALTH_INTERVAL);
            health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            health.tick().await;
            let lost = loop {
                tokio::select! {
                    message = messages.next() => {
                        let Some(shared) = self.shared.upgrade() else { return };
                        let Some(message) = message else {
                            break Error::storage_msg(format!("Redis at {} closed the connection", self.storage.url));
                        };
                        if let Err(e) = self.handle(&shared, message.get_payload_bytes()).await {
                            break e;
                        }
                    }
                    _ = resync.tick() => {
                        let Some(shared) = self.shared.upgrade() else { return };
                        if let Err(e) = self.resync(&shared).await {
                            break e;
                        }
                    }
                    _ = health.tick() => {
                        // A hung server keeps the subscription open and
                        // sends nothing: only a question notices it.
                        if let Err(e) = self.storage.ping().await {
                            break e;
                        }
                    }
                }
            };
            drop(messages);
            let Some(shared) = self.shared.upgrade() else {
                return;
            };
            self.disconnected(&shared, &lost);
        }
    }

    /// Applies one notification.
    async fn handle(&self, shared: &Shared, payload: &[u8]) -> Result<(), Error> {
        let notification: Notification = match Notification::parse(payload) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "gate: unreadable change notification; resyncing");
                return self.resync(shared).await;
            }
        };
        match notification {
            Notification::Put {
                key,
                version,
                users,
            } => match shared.replica_switch(&key) {
                Some(known) if known.version == version => return Ok(()),
                Some(known) if !users && known.version + 1 == version => {
                    self.refetch_record(shared, key, &known, version).await?;
                }
                _ => self.refetch(shared, key).await?,
            },
            Notification::Del { keys } => {
                shared.note_readable(|key| keys.iter().any(|k| k == key));
                shared.apply(
                    keys.into_iter().map(|key| Apply::Remove { key }).collect(),
                    Origin::Remote,
                );
            }
            Notification::Allow { key, version, ids } => {
                self.users_changed(shared, key, version, &ids, true).await?;
            }
            Notification::Disallow { key, version, ids } => {
                self.users_changed(shared, key, version, &ids, false)
                    .await?;
            }
            Notification::Restored => return self.resync(shared).await,
        }
        self.write_snapshot(shared);
        Ok(())
    }

    /// Applies an allow-list change in place when the replica is exactly
    /// one version behind, else reads the switch again.
    async fn users_changed(
        &self,
        shared: &Shared,
        key: String,
        version: u64,
        ids: &[String],
        add: bool,
    ) -> Result<(), Error> {
        match shared.replica_switch(&key) {
            Some(known) if known.version >= version => Ok(()),
            Some(known) if known.version + 1 == version => {
                let mut next = Switch::clone(&known);
                for id in ids {
                    if add {
                        next.users.insert(id.as_str());
                    } else {
                        next.users.remove(id);
                    }
                }
                next.version = version;
                shared.apply(
                    vec![Apply::Upsert {
                        key,
                        switch: next,
                        authoritative: false,
                    }],
                    Origin::Remote,
                );
                Ok(())
            }
            _ => self.refetch(shared, key).await,
        }
    }

    /// Reads only the record of a switch whose allow-list did not change
    /// (a million ids are not read again for a new description); falls
    /// back to a full read if the switch moved on meanwhile.
    async fn refetch_record(
        &self,
        shared: &Shared,
        key: String,
        known: &Switch,
        version: u64,
    ) -> Result<(), Error> {
        let since = Some(shared.seq());
        let mut connection = self.storage.connection.clone();
        let (json, stored): (Option<Vec<u8>>, Option<Vec<u8>>) = self
            .storage
            .call(
                "read a switch",
                redis::pipe()
                    .atomic()
                    .hget(&self.storage.keys.switches, &key)
                    .hget(&self.storage.keys.versions, &key)
                    .query_async(&mut connection),
            )
            .await?;
        match (json, record::version_of(stored.as_deref())) {
            (Some(json), Ok(stored)) if stored == version => {
                match record::parse_raw(&key, &json, version, known.users.clone()) {
                    Ok(switch) => {
                        shared.note_readable(|k| k == key);
                        shared.apply_since(
                            vec![Apply::Upsert {
                                key,
                                switch,
                                authoritative: true,
                            }],
                            Origin::Remote,
                            since,
                        );
                    }
                    Err(error) => skipped(shared, key, &error),
                }
                Ok(())
            }
            _ => self.refetch(shared, key).await,
        }
    }

    async fn refetch(&self, shared: &Shared, key: String) -> Result<(), Error> {
        let since = Some(shared.seq());
        let fetched = self.storage.fetch(&key).await?;
        if !matches!(fetched, Some(Err(_))) {
            shared.note_readable(|k| k == key);
        }
        match fetched {
            Some(Ok(switch)) => shared.apply_since(
                vec![Apply::Upsert {
                    key,
                    switch,
                    authoritative: true,
                }],
                Origin::Remote,
                since,
            ),
            Some(Err(error)) => skipped(shared, key, &error),
            None => shared.apply_since(vec![Apply::Remove { key }], Origin::Remote, since),
        }
        Ok(())
    }
}

/// Reports an unreadable record, once per distinct problem.
fn skipped(shared: &Shared, key: String, error: &Error) {
    let error = match error {
        Error::Unreadable { reason, .. } => reason.clone(),
        other => other.to_string(),
    };
    if !shared.note_unreadable(&key, &error) {
        return;
    }
    tracing::warn!(switch = %key, %error, "gate: skipped an unreadable switch record in Redis (its last good copy, if any, is kept)");
    shared
        .signals
        .record_skipped
        .emit_with(|| RecordSkipped { key, error });
}
