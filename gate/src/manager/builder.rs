//! [`Builder`]: the storage and settings of a new manager.

use super::{spawn_write, Manager};
use crate::replica::{FollowOptions, Follower};
use crate::retry::RetryPolicy;
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
    retry: Option<RetryPolicy>,
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

    /// How a write that lost a race to another writer pauses before it
    /// tries again (`modify`, and the rollout shortcuts on a storage that
    /// applies them as read-modify-write). Default:
    /// [`RetryPolicy::none`], or [`RetryPolicy::jittered`] after
    /// [`redis`](Self::redis).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// The manager. Its replica starts with what the storage holds when it
    /// can answer at once (see
    /// [`Storage::immediate`](crate::Storage::immediate): the memory and
    /// file storages can), else empty and filled in the background. If the
    /// storage has a change feed ([`Storage::watch`]), the replica is
    /// loaded and kept in step by it, in the background.
    pub fn build(self) -> Manager {
        let manager = self.build_unnoted();
        crate::note_manager_built();
        manager
    }

    /// [`build`](Self::build), for the implicit default manager.
    pub(crate) fn build_unnoted(self) -> Manager {
        let storage = self
            .storage
            .unwrap_or_else(|| Box::new(MemoryStorage::new()));
        let manager = Manager::from_parts(
            storage,
            self.retry.unwrap_or_default(),
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
        let shared = &manager.shared;
        let follower = Follower::new(&*shared.storage, &shared.replica, FollowOptions::default());
        if let Some(mut follower) = follower {
            // The feed's first read loads the replica.
            let _ = spawn_write(async move {
                follower.start().await;
                follower.run().await;
            });
            return manager;
        }
        let loaded = manager.shared.storage.immediate().map(|now| now.load_now());
        match loaded {
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
    /// The storage is then Redis: a storage given earlier with
    /// [`storage`](Self::storage) is dropped (with a warning).
    #[cfg(feature = "redis")]
    pub fn redis(self, url: impl Into<String>) -> crate::storage::RedisBuilder {
        if let Some(storage) = &self.storage {
            tracing::warn!(
                ?storage,
                "gate: Builder::redis replaces the storage given earlier"
            );
        }
        let redis = crate::storage::RedisBuilder::new(url.into(), self.autocreate);
        match self.retry {
            Some(policy) => redis.retry_policy(policy),
            None => redis,
        }
    }
}

#[cfg(feature = "redis")]
impl crate::storage::RedisBuilder {
    /// Connects, loads the switches and starts following changes in the
    /// background (on the current tokio runtime).
    ///
    /// If Redis is unreachable the manager still starts: with the switches
    /// of the snapshot file if one is configured and readable, else with
    /// none (and a warning); it joins Redis when Redis answers. If Redis
    /// answers but lost its data (its marker differs from the one in the
    /// snapshot file), the manager serves the snapshot file's switches
    /// and reports the loss ([`SyncStatus::data_loss`](crate::storage::SyncStatus::data_loss)).
    ///
    /// # Errors
    ///
    /// [`Error::Storage`](crate::Error::Storage) for a URL the redis crate does not accept.
    pub async fn build(self) -> Result<Manager, crate::Error> {
        let retry = self.chosen_retry_policy();
        let (storage, mut follow) = self.into_parts()?;
        crate::note_manager_built();
        let manager = Manager::from_parts(
            Box::new(storage.clone()),
            retry,
            follow.autocreate,
            SyncStatus {
                connected: false,
                last_sync: None,
                source: ReplicaSource::Empty,
                last_error: None,
                data_loss: None,
                unreadable: 0,
            },
        );
        let replica = &manager.shared.replica;
        follow.set_up(&replica.signals);
        let options = FollowOptions {
            snapshot: follow.snapshot,
            republish: follow
                .republish
                .then(|| std::sync::Arc::new(storage.clone()) as std::sync::Arc<dyn Storage>),
        };
        if let Some(mut follower) = Follower::new(&storage, replica, options) {
            follower.start().await;
            tokio::spawn(follower.run());
        }
        Ok(manager)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Manager, RetryPolicy};

    #[test]
    fn memory_retries_at_once_and_redis_jittered_unless_told() {
        let memory = format!("{:?}", Manager::in_memory());
        assert!(memory.contains("RetryPolicy::none()"), "{memory}");
        #[cfg(feature = "redis")]
        {
            let redis = format!("{:?}", Manager::builder().redis("redis://127.0.0.1/"));
            assert!(redis.contains("RetryPolicy::jittered()"), "{redis}");
            let chosen = Manager::builder()
                .retry_policy(RetryPolicy::none())
                .redis("redis://127.0.0.1/");
            assert!(format!("{chosen:?}").contains("RetryPolicy::none()"));
        }
        let custom = Manager::builder()
            .retry_policy(RetryPolicy::custom(|_| std::time::Duration::ZERO))
            .build();
        assert!(format!("{custom:?}").contains("RetryPolicy::custom(..)"));
    }
}
