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
use crate::replica::{Apply, Replica};
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
    pub(super) replica: Weak<Replica>,
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
        replica: &Replica,
        error: &Error,
        from_file: Option<Result<Snapshot, String>>,
    ) {
        let from_file = self.snapshot.as_deref().zip(from_file);
        let source = match from_file {
            Some((path, Ok(file))) => {
                let records = valid(file.records);
                let count = records.len();
                tracing::warn!(%error, path = %path.display(), switches = count, "gate: Redis is unreachable; serving the switches of the snapshot file until it answers");
                replica.replace_all(records);
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
        replica.set_sync(|s| {
            s.connected = false;
            s.source = source;
            s.last_error = Some(error.to_string());
        });
    }

    /// Reads everything and makes the replica equal to it, unless the
    /// store lost its data: then the replica only takes what the store
    /// holds, and loses nothing.
    pub(super) async fn resync(&self, replica: &Replica) -> Result<(), Error> {
        // A change applied while the read runs is newer than what it reads.
        let since = replica.seq();
        let read = self.storage.fetch_all(|key| replica.switch(key)).await?;
        let saved = lock(&self.saved).clone();
        let held = replica.len().max(saved.as_ref().map_or(0, Vec::len));
        let lost = self.data_lost(replica, read.epoch, held).await?;
        lock(&self.saved).take();
        let mut records = Vec::with_capacity(read.records.len());
        let mut malformed = Vec::new();
        for (key, parsed) in read.records {
            match parsed {
                Ok(switch) => records.push(Record { key, switch }),
                Err(error) => {
                    skipped(replica, key.clone(), &error);
                    malformed.push(key);
                }
            }
        }
        // A problem no longer seen (read fine, or gone) is reported again
        // if it comes back.
        let unreadable: std::collections::BTreeSet<&str> =
            malformed.iter().map(String::as_str).collect();
        replica.note_readable(|key| !unreadable.contains(key));
        let mut source = Some(ReplicaSource::Storage);
        if lost {
            source = None;
            let mut stored: std::collections::BTreeSet<String> =
                records.iter().map(|r| r.key.clone()).collect();
            stored.extend(malformed.iter().cloned());
            let mut changes = Vec::new();
            if let Some(saved) = saved.filter(|_| replica.len() == 0) {
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
            replica.apply_since(changes, Origin::Remote, Some(since));
            if self.republish {
                self.republish(replica, &stored).await;
            }
        } else {
            replica.sync_to(records, &malformed, since);
        }
        replica.set_sync(|s| {
            s.connected = true;
            s.last_sync = Some(SystemTime::now());
            if let Some(source) = source {
                s.source = source;
            }
            s.last_error = None;
        });
        self.write_snapshot(replica);
        Ok(())
    }

    /// Writes the replica to the snapshot file, unless the store lost its
    /// data (the file then keeps the last state the store held).
    fn write_snapshot(&self, replica: &Replica) {
        let Some(path) = &self.snapshot else { return };
        let mut lost = false;
        replica.set_sync(|s| lost = s.data_loss.is_some());
        if lost {
            return;
        }
        let epoch = lock(&self.epoch).clone();
        if let Err(e) = write_snapshot(path, epoch.as_deref(), &replica.records()) {
            tracing::warn!(path = %path.display(), error = %e, "gate: could not write the snapshot file");
        }
    }

    fn disconnected(&self, replica: &Replica, error: &Error) {
        replica.set_sync(|s| {
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
            let Some(replica) = self.replica.upgrade() else {
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
                self.resync(&replica).await?;
                Ok::<_, Error>(pubsub)
            };
            let mut pubsub = match subscribed.await {
                Ok(pubsub) => pubsub,
                Err(e) => {
                    self.disconnected(&replica, &e);
                    drop(replica);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_millis(500));
                    continue;
                }
            };
            backoff = Duration::from_millis(50);
            drop(replica);
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
                        let Some(replica) = self.replica.upgrade() else { return };
                        let Some(message) = message else {
                            break Error::storage_msg(format!("Redis at {} closed the connection", self.storage.url));
                        };
                        if let Err(e) = self.handle(&replica, message.get_payload_bytes()).await {
                            break e;
                        }
                    }
                    _ = resync.tick() => {
                        let Some(replica) = self.replica.upgrade() else { return };
                        if let Err(e) = self.resync(&replica).await {
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
            let Some(replica) = self.replica.upgrade() else {
                return;
            };
            self.disconnected(&replica, &lost);
        }
    }

    /// Applies one notification.
    async fn handle(&self, replica: &Replica, payload: &[u8]) -> Result<(), Error> {
        let notification: Notification = match Notification::parse(payload) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "gate: unreadable change notification; resyncing");
                return self.resync(replica).await;
            }
        };
        match notification {
            Notification::Put {
                key,
                version,
                users,
            } => match replica.switch(&key) {
                Some(known) if known.version == version => return Ok(()),
                Some(known) if !users && known.version + 1 == version => {
                    self.refetch_record(replica, key, &known, version).await?;
                }
                _ => self.refetch(replica, key).await?,
            },
            Notification::Del { keys } => {
                replica.note_readable(|key| keys.iter().any(|k| k == key));
                replica.apply(
                    keys.into_iter().map(|key| Apply::Remove { key }).collect(),
                    Origin::Remote,
                );
            }
            Notification::Allow { key, version, ids } => {
                self.users_changed(replica, key, version, &ids, true)
                    .await?;
            }
            Notification::Disallow { key, version, ids } => {
                self.users_changed(replica, key, version, &ids, false)
                    .await?;
            }
            Notification::Restored => return self.resync(replica).await,
        }
        self.write_snapshot(replica);
        Ok(())
    }

    /// Applies an allow-list change in place when the replica is exactly
    /// one version behind, else reads the switch again.
    async fn users_changed(
        &self,
        replica: &Replica,
        key: String,
        version: u64,
        ids: &[String],
        add: bool,
    ) -> Result<(), Error> {
        match replica.switch(&key) {
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
                replica.apply(
                    vec![Apply::Upsert {
                        key,
                        switch: next,
                        authoritative: false,
                    }],
                    Origin::Remote,
                );
                Ok(())
            }
            _ => self.refetch(replica, key).await,
        }
    }

    /// Reads only the record of a switch whose allow-list did not change
    /// (a million ids are not read again for a new description); falls
    /// back to a full read if the switch moved on meanwhile.
    async fn refetch_record(
        &self,
        replica: &Replica,
        key: String,
        known: &Switch,
        version: u64,
    ) -> Result<(), Error> {
        let since = Some(replica.seq());
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
                        replica.note_readable(|k| k == key);
                        replica.apply_since(
                            vec![Apply::Upsert {
                                key,
                                switch,
                                authoritative: true,
                            }],
                            Origin::Remote,
                            since,
                        );
                    }
                    Err(error) => skipped(replica, key, &error),
                }
                Ok(())
            }
            _ => self.refetch(replica, key).await,
        }
    }

    async fn refetch(&self, replica: &Replica, key: String) -> Result<(), Error> {
        let since = Some(replica.seq());
        let fetched = self.storage.fetch(&key).await?;
        if !matches!(fetched, Some(Err(_))) {
            replica.note_readable(|k| k == key);
        }
        match fetched {
            Some(Ok(switch)) => replica.apply_since(
                vec![Apply::Upsert {
                    key,
                    switch,
                    authoritative: true,
                }],
                Origin::Remote,
                since,
            ),
            Some(Err(error)) => skipped(replica, key, &error),
            None => replica.apply_since(vec![Apply::Remove { key }], Origin::Remote, since),
        }
        Ok(())
    }
}

/// Reports an unreadable record, once per distinct problem.
fn skipped(replica: &Replica, key: String, error: &Error) {
    let error = match error {
        Error::Unreadable { reason, .. } => reason.clone(),
        other => other.to_string(),
    };
    if !replica.note_unreadable(&key, &error) {
        return;
    }
    tracing::warn!(switch = %key, %error, "gate: skipped an unreadable switch record in Redis (its last good copy, if any, is kept)");
    replica
        .signals
        .record_skipped
        .emit_with(|| RecordSkipped { key, error });
}
