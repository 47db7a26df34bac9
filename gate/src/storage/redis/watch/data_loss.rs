//! How the feed notices that the store lost its data: its marker gone or
//! replaced while the follower holds switches.

use super::Feed;
use crate::error::Error;
use crate::storage::redis::epoch::RESTORED;

impl Feed {
    /// What the store lost, judged by its marker (`epoch`, as just read)
    /// against the one this feed follows, if it lost anything; `held` is
    /// how many switches the follower serves, `missing` counts those the
    /// store lacks. Adopts the store's marker when the store is new to
    /// this feed, when the store lacks nothing the follower serves (it held
    /// nothing, or only what was written since the store lost its data),
    /// or when the store was restored.
    pub(super) async fn data_lost(
        &mut self,
        epoch: Option<String>,
        held: usize,
        missing: impl FnOnce() -> usize,
    ) -> Result<Option<String>, Error> {
        let known = self.epoch.clone();
        let adopt = match (&known, &epoch) {
            (Some(k), Some(e)) if k == e => true,
            (Some(_), Some(e)) if e.starts_with(RESTORED) => true,
            (None, _) => true,
            (Some(_), _) => held == 0 || missing() == 0,
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
            return Ok(Some(format!(
                "{message}; serving the last {held} known switches, which only explicit deletes remove, until it is restored (gate restore --from <snapshot file>)"
            )));
        }
        let epoch = match epoch {
            Some(epoch) => epoch,
            None => self.storage.claim_epoch().await?,
        };
        self.epoch = Some(epoch);
        Ok(None)
    }
}
