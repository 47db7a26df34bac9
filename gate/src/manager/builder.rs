//! [`Builder`]: the storage and settings of a new manager.

use super::{spawn_write, Manager};
use crate::storage::{MemoryStorage, ReplicaSource, Storage, SyncStatus};

/// Builds a [`Manager`].
///
/// # Examples
///
/// ```
/// let manager = gate::Manager::builder().autocreate(true).build();
/// # let _ = manager;
/// ```
#[derive(Debug, Default)]
#[must_use]
pub struct Builder {
    storage: Option<Box<dyn Storage>>,
    autocreate: bool,
}

impl Builder {
    /// The storage (default: a new [`MemoryStorage`]).
    pub fn storage(mut self, storage: impl Storage) -> Self {
        self.storage = Some(Box::new(storage));
        self
    }

    /// Register unknown switches (disabled) when they are first checked.
    pub fn autocreate(mut self, autocreate: bool) -> Self {
        self.autocreate = autocreate;
        self
    }

    /// The manager. Its replica starts with what the storage holds when it
    /// can answer at once (the memory storage can), else empty and filled
    /// in the background.
    pub fn build(self) -> Manager {
        let storage = self
            .storage
            .unwrap_or_else(|| Box::new(MemoryStorage::new()));
        let manager = Manager::from_parts(
            storage,
            self.autocreate,
            SyncStatus {
                connected: true,
                last_sync: Some(std::time::SystemTime::now()),
                source: ReplicaSource::Storage,
                last_error: None,
                data_loss: None,
                unreadable: 0,
            },
        );
        match manager.shared.storage.load_now() {
            Some(Ok(records)) => manager.shared.replace_all(records),
            Some(Err(e)) => tracing::warn!(error = %e, "gate: could not load the storage"),
            None => {
                let background = manager.clone();
                let _ = spawn_write(async move {
                    match background.shared.storage.load().await {
                        Ok(records) => background.shared.replace_all(records),
                        Err(e) => tracing::warn!(error = %e, "gate: could not load the storage"),
                    }
                });
            }
        }
        manager
    }

    /// Switches to the Redis storage at `url` (`redis://[:password@]host:port/db`);
    /// finish with [`RedisBuilder::build`](crate::storage::RedisBuilder::build).
    #[cfg(feature = "redis")]
    pub fn redis(self, url: impl Into<String>) -> crate::storage::RedisBuilder {
        crate::storage::RedisBuilder::new(url.into(), self.autocreate)
    }
}
