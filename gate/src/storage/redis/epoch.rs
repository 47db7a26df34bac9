//! The store's marker (`{prefix}:epoch`): set once by the first node
//! (`SET NX`); gone or replaced while a node holds switches, it tells the
//! node the store lost its data ([`watch`](super::watch)). A restore
//! replaces it with a `restored:` one.

use std::time::SystemTime;

use super::protocol::Notification;
use super::RedisStorage;
use crate::error::Error;
use crate::history::now_ms;

/// A number that differs between calls (time and a counter), for markers.
fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    u64::from(nanos) ^ (NEXT.fetch_add(1, Ordering::Relaxed) << 32)
}

/// The prefix of a store marker written by a restore.
pub(super) const RESTORED: &str = "restored:";

impl RedisStorage {
    /// Sets the store's marker if it has none (`SET NX`); returns the
    /// marker the store holds then.
    pub(super) async fn claim_epoch(&self) -> Result<String, Error> {
        let mut connection = self.connection.clone();
        let fresh = format!("{}-{}-{}", now_ms(), std::process::id(), unique());
        let (_, epoch): (Option<String>, Option<String>) = self
            .call(
                "mark the store",
                redis::pipe()
                    .atomic()
                    .cmd("SET")
                    .arg(&self.keys.epoch)
                    .arg(&fresh)
                    .arg("NX")
                    .get(&self.keys.epoch)
                    .query_async(&mut connection),
            )
            .await?;
        Ok(epoch.unwrap_or(fresh))
    }

    /// Replaces the store's marker with a `restored:` one and tells every
    /// node to read the store again.
    pub(super) async fn mark_restored_now(&self) -> Result<(), Error> {
        let mut connection = self.connection.clone();
        let marker = format!("{RESTORED}{}-{}-{}", now_ms(), std::process::id(), unique());
        let notification = Notification::Restored
            .encode()
            .map_err(|e| self.storage_error_from("mark the store restored", e.to_string(), e))?;
        self.call(
            "mark the store restored",
            redis::pipe()
                .atomic()
                .set(&self.keys.epoch, marker)
                .ignore()
                .publish(&self.keys.channel, notification)
                .ignore()
                .query_async::<()>(&mut connection),
        )
        .await
    }
}
