//! How the follower notices that the store lost its data (its marker
//! gone or replaced while the replica holds switches), and writes the
//! replica back when told to.

use super::{lock, Sync, REPUBLISH_ACTOR};
use crate::error::Error;
use crate::replica::Replica;
use crate::signals::StoreDataLost;
use crate::storage::redis::epoch::RESTORED;
use crate::storage::{BatchWrite, Storage};

impl Sync {
    /// Whether the store lost its data, judged by its marker (`epoch`,
    /// as just read) against the one this replica follows. Adopts the
    /// store's marker when the store is new to this replica, when the
    /// replica holds nothing to lose, or when the store was restored.
    pub(super) async fn data_lost(
        &self,
        replica: &Replica,
        epoch: Option<String>,
        held: usize,
    ) -> Result<bool, Error> {
        let known = lock(&self.epoch).clone();
        let adopt = match (&known, &epoch) {
            (Some(k), Some(e)) if k == e => true,
            (Some(_), Some(e)) if e.starts_with(RESTORED) => true,
            (None, _) => true,
            (Some(_), _) => held == 0,
        };
        if !adopt {
            let message = match &epoch {
                None => format!(
                    "Redis lost its data: its marker {} is gone (restarted without persistence, or flushed)",
                    self.storage.keys.epoch
                ),
                Some(e) => format!(
                    "Redis lost its data: its marker {} changed from {:?} to {e:?} (restarted without persistence, or flushed, then written to)",
                    self.storage.keys.epoch,
                    known.as_deref().unwrap_or_default()
                ),
            };
            let message = format!(
                "{message}; serving the last {held} known switches, which only explicit deletes remove, until it is restored (gate restore --from <snapshot file>)"
            );
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
            return Ok(true);
        }
        let epoch = match epoch {
            Some(epoch) => epoch,
            None => self.storage.claim_epoch().await?,
        };
        *lock(&self.epoch) = Some(epoch);
        let mut was_lost = false;
        replica.set_sync(|s| was_lost = s.data_loss.take().is_some());
        if was_lost {
            tracing::warn!("gate: Redis was restored after a data loss; following its state again");
        }
        Ok(false)
    }

    /// Writes the switches the replica holds and the store lacks back,
    /// all or none, then marks the store restored.
    pub(super) async fn republish(
        &self,
        replica: &Replica,
        stored: &std::collections::BTreeSet<String>,
    ) {
        let writes: Vec<(String, BatchWrite)> = replica
            .records()
            .into_iter()
            .filter(|r| !stored.contains(&r.key))
            .map(|r| (r.key, BatchWrite::Create(r.switch)))
            .collect();
        let count = writes.len();
        let written = if writes.is_empty() {
            Ok(())
        } else {
            self.storage
                .write_batch(REPUBLISH_ACTOR, writes)
                .await
                .map(|_| ())
        };
        // Marked restored only once everything is written back: the other
        // nodes then take the store's state as a whole again.
        let written = match written {
            Ok(()) => self.storage.mark_restored_now().await,
            Err(e) => Err(e),
        };
        match written {
            Ok(()) => {
                tracing::warn!(
                    switches = count,
                    "gate: re-published the last known switches to Redis after its data loss"
                );
            }
            Err(error) => {
                tracing::warn!(%error, "gate: could not re-publish the last known switches; retrying at the next resync");
            }
        }
    }
}
