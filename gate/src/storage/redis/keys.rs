//! The key layout: every key gate uses in Redis, under one prefix (see the
//! table in the [module doc](super)).

use std::time::SystemTime;

/// The keys of one prefix.
#[derive(Debug)]
pub(super) struct Keys {
    /// `{prefix}:switches`: storage key → the switch's record.
    pub(super) switches: String,
    /// `{prefix}:versions`: storage key → version.
    pub(super) versions: String,
    /// `{prefix}:users:`, followed by a storage key: its allow-list.
    pub(super) users_prefix: String,
    /// `{prefix}:changes`: the pub/sub channel of notifications.
    pub(super) channel: String,
    /// `{prefix}:history`: the audit trail.
    pub(super) history: String,
    /// `{prefix}:ops:`, followed by an operation id: the write's record.
    pub(super) ops_prefix: String,
    /// `{prefix}:epoch`: the store's marker.
    pub(super) epoch: String,
}

impl Keys {
    pub(super) fn new(prefix: &str) -> Self {
        Keys {
            switches: format!("{prefix}:switches"),
            versions: format!("{prefix}:versions"),
            users_prefix: format!("{prefix}:users:"),
            channel: super::protocol::channel(prefix),
            history: format!("{prefix}:history"),
            ops_prefix: format!("{prefix}:ops:"),
            epoch: format!("{prefix}:epoch"),
        }
    }

    /// The record of the write with operation id `id`.
    pub(super) fn op(&self, id: &str) -> String {
        format!("{}{id}", self.ops_prefix)
    }

    /// The allow-list of the switch stored under `key`.
    pub(super) fn users(&self, key: &(impl AsRef<str> + ?Sized)) -> String {
        format!("{}{}", self.users_prefix, key.as_ref())
    }

    /// A fresh, unique key for a staging set.
    pub(super) fn staging(&self) -> String {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        format!(
            "{}staging:{}:{nanos}:{}",
            self.users_prefix.trim_end_matches("users:"),
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        )
    }
}
