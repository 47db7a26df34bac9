//! Finding and repairing what the store holds but cannot be read, and
//! restoring a store that lost its data.

use std::path::Path;

use crate::error::Error;
use crate::key::SwitchKey;
use crate::manager::{Apply, Manager};
use crate::replica::snapshot_file::read_snapshot;
use crate::signals::{Origin, RecordSkipped};
use crate::storage::{BatchWrite, Record};
use crate::switch::Switch;

/// What [`Manager::restore_from`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Restored {
    /// The storage keys written back, in order.
    pub created: Vec<SwitchKey>,
    /// The keys of the snapshot the store holds already (written since
    /// the loss, or never lost): left as the store has them.
    pub kept: Vec<SwitchKey>,
    /// The keys of the snapshot that are not valid switches, with why:
    /// not written.
    pub invalid: Vec<(SwitchKey, String)>,
}

impl Manager {
    /// The stored records of this namespace (and the namespaces under it)
    /// that cannot be read, sorted by key, with what is wrong with each:
    /// a manager skips them (keeping its last good copy, if any) and
    /// reports each problem once through
    /// [`record_skipped`](crate::Signals::record_skipped). Repair one
    /// with [`repair`](Self::repair) or remove it with
    /// [`unregister`](Self::unregister).
    pub fn unreadable(&self) -> Vec<RecordSkipped> {
        let prefix = format!("{}.", self.namespace());
        self.shared()
            .unreadable()
            .into_iter()
            .filter(|(key, _)| self.namespace().is_empty() || key.as_str().starts_with(&prefix))
            .map(|(key, error)| RecordSkipped { key, error })
            .collect()
    }

    /// Why the stored record of `name` cannot be read, if it cannot.
    pub fn unreadable_reason(&self, name: &str) -> Option<String> {
        let key = self.key(name);
        self.shared()
            .unreadable()
            .into_iter()
            .find(|(k, _)| *k == key)
            .map(|(_, error)| error)
    }

    /// Stores `switch` whatever its name holds now — also a record that
    /// cannot be read ([`Error::Unreadable`]), which this replaces whole
    /// (record, version and allow-list) — and returns it as stored. A
    /// readable switch is simply replaced (whatever its version), a
    /// missing one created.
    ///
    /// # Errors
    ///
    /// A validation or storage error.
    pub async fn repair(&self, switch: Switch) -> Result<Switch, Error> {
        switch.validate()?;
        let key = self.key(&switch.name);
        let stored = self
            .shared()
            .storage
            .repair(&key, self.actor(), switch)
            .await?;
        let shared = self.shared();
        shared.note_readable(|k| *k == key);
        shared.apply(
            vec![Apply::Upsert {
                key,
                switch: stored.clone(),
                authoritative: true,
            }],
            Origin::Local,
        );
        Ok(stored)
    }

    /// Marks the storage restored as it is, writing no switch: the
    /// managers that found it had lost its data (see
    /// [`SyncStatus::data_loss`](crate::storage::SyncStatus::data_loss))
    /// take its state as a whole again, dropping the switches it lacks.
    /// For a deliberate flush; after an accident use
    /// [`restore_from`](Self::restore_from).
    ///
    /// # Errors
    ///
    /// A storage error.
    pub async fn mark_restored(&self) -> Result<(), Error> {
        self.shared().storage.mark_restored().await
    }

    /// Writes the switches of a snapshot file (as a Redis-backed manager
    /// keeps with [`snapshot_file`](crate::storage::RedisBuilder::snapshot_file))
    /// back into the storage: every one the storage lacks, all or none,
    /// with their allow-lists; the ones it holds are left alone. Then marks
    /// the storage restored, so that the managers that found it had lost
    /// its data follow it again. Works on any storage, and the namespaces
    /// of the file's keys (whatever this handle's namespace).
    ///
    /// # Errors
    ///
    /// A file that cannot be read, or a storage error (nothing written).
    pub async fn restore_from(&self, path: impl AsRef<Path>) -> Result<Restored, Error> {
        let path = path.as_ref();
        let snapshot = read_snapshot(path).map_err(|reason| Error::InvalidJson {
            what: format!("the snapshot file {}", path.display()),
            reason,
        })?;
        let shared = self.shared();
        let stored: std::collections::BTreeSet<SwitchKey> = shared
            .storage
            .load()
            .await?
            .into_iter()
            .map(|r| r.key)
            .chain(shared.unreadable().into_iter().map(|(key, _)| key))
            .collect();
        let mut done = Restored::default();
        let mut writes = Vec::new();
        let mut records = snapshot.records;
        records.sort_by(|a, b| a.key.cmp(&b.key));
        records.dedup_by(|a, b| a.key == b.key);
        for Record { key, mut switch } in records {
            if let Err(e) = switch.validate() {
                done.invalid.push((key, e.to_string()));
                continue;
            }
            if switch.name != key.name() {
                let reason = format!("the record is named {:?}", switch.name);
                done.invalid.push((key, reason));
                continue;
            }
            if stored.contains(&key) {
                done.kept.push(key);
                continue;
            }
            switch.version = 0;
            done.created.push(key.clone());
            writes.push((key, BatchWrite::Create(switch)));
        }
        if !writes.is_empty() {
            let keys: Vec<SwitchKey> = writes.iter().map(|(k, _)| k.clone()).collect();
            let written = shared.storage.write_batch(self.actor(), writes).await?;
            shared.apply(
                keys.into_iter()
                    .zip(written)
                    .map(|(key, switch)| Apply::Upsert {
                        key,
                        switch,
                        authoritative: false,
                    })
                    .collect(),
                Origin::Local,
            );
        }
        shared.storage.mark_restored().await?;
        Ok(done)
    }
}
