//! The Redis change feed ([`Storage::watch`](crate::storage::Storage::watch)):
//! it reads the whole store at start and every resync interval, turns the
//! notifications of the changes channel ([`protocol`](super::protocol))
//! into [`Change`]s (re-reading what they name), asks Redis every
//! [`HEALTH_INTERVAL`] whether it still answers, and notices a store that
//! lost its data by its marker ([`epoch`](super::epoch), `data_loss.rs`).
//!
//! The feed is pulled: it reads only when the follower asks for the next
//! change, so the [`Watcher`] it consults has applied everything it sent.

use std::collections::VecDeque;
use std::sync::Weak;
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{PubSubSink, PubSubStream};
use tokio::time::{Interval, MissedTickBehavior};

use super::protocol::Notification;
use super::{record, RedisStorage};
use crate::error::Error;
use crate::key::SwitchKey;
use crate::storage::{Change, ChangeFeed, Record, Watcher};
use crate::switch::Switch;

mod data_loss;

/// How often a following node asks Redis whether it still answers; with
/// [`PING_TIMEOUT`](super::PING_TIMEOUT), a hung server is reported within 2 s.
const HEALTH_INTERVAL: Duration = Duration::from_millis(500);

/// The first pause before subscribing again after a failure; it doubles up
/// to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// The longest pause between two attempts to subscribe.
const MAX_BACKOFF: Duration = Duration::from_millis(500);

/// The change feed of `storage` for `watcher`.
pub(super) fn feed(storage: RedisStorage, watcher: Weak<dyn Watcher>) -> ChangeFeed {
    let epoch = watcher.upgrade().and_then(|w| w.marker());
    let feed = Feed {
        storage,
        watcher,
        epoch,
        lost: false,
        queue: VecDeque::new(),
        phase: Phase::Start,
        backoff: FIRST_BACKOFF,
    };
    Box::pin(futures_util::stream::unfold(feed, |mut feed| async move {
        let change = feed.next().await?;
        Some((change, feed))
    }))
}

/// Where the feed is.
enum Phase {
    /// Nothing read yet: the first read, before subscribing (the manager's
    /// `build` waits for it).
    Start,
    /// Subscribing, then reading everything; after `wait` if a first
    /// attempt failed.
    Connect { wait: Option<Duration> },
    /// Subscribed: notifications, resyncs and health pings.
    Follow(Box<Following>),
}

/// A subscription and its timers.
struct Following {
    /// Kept so the subscription stays open.
    _sink: PubSubSink,
    messages: PubSubStream,
    resync: Interval,
    health: Interval,
}

/// The feed's state.
struct Feed {
    storage: RedisStorage,
    watcher: Weak<dyn Watcher>,
    /// The store's marker this feed follows (the watcher's snapshot file's
    /// until the first read).
    epoch: Option<String>,
    /// Whether the last read found the store had lost its data.
    lost: bool,
    /// Changes found and not yet handed over.
    queue: VecDeque<Change>,
    phase: Phase,
    backoff: Duration,
}

impl Feed {
    /// The next change; `None` once the watcher is gone.
    async fn next(&mut self) -> Option<Change> {
        loop {
            if let Some(change) = self.queue.pop_front() {
                return Some(change);
            }
            let watcher = self.watcher.upgrade()?;
            match &mut self.phase {
                Phase::Start => {
                    self.phase = Phase::Connect { wait: None };
                    if let Err(error) = self.resync(&*watcher).await {
                        self.queue.push_back(Change::Disconnected { error });
                    }
                }
                Phase::Connect { wait } => {
                    if let Some(wait) = wait.take() {
                        drop(watcher);
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    match self.subscribe(&*watcher).await {
                        Ok(following) => {
                            self.backoff = FIRST_BACKOFF;
                            self.phase = Phase::Follow(following);
                        }
                        Err(error) => {
                            self.queue.push_back(Change::Disconnected { error });
                            self.phase = Phase::Connect {
                                wait: Some(self.backoff),
                            };
                            self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                        }
                    }
                }
                Phase::Follow(following) => {
                    // Held weakly while waiting: the follower may go.
                    drop(watcher);
                    let step = tokio::select! {
                        message = following.messages.next() => Step::Message(message),
                        _ = following.resync.tick() => Step::Resync,
                        _ = following.health.tick() => Step::Health,
                    };
                    let watcher = self.watcher.upgrade()?;
                    let outcome = match step {
                        Step::Message(None) => Err(Error::storage_msg(format!(
                            "Redis at {} closed the connection",
                            self.storage.url
                        ))),
                        Step::Message(Some(message)) => {
                            self.handle(&*watcher, message.get_payload_bytes()).await
                        }
                        Step::Resync => self.resync(&*watcher).await,
                        // A hung server keeps the subscription open and
                        // sends nothing: only a question notices it.
                        Step::Health => self.storage.ping().await,
                    };
                    if let Err(error) = outcome {
                        self.queue.push_back(Change::Disconnected { error });
                        self.phase = Phase::Connect { wait: None };
                    }
                }
            }
        }
    }

    /// Subscribes to the changes channel, then reads everything.
    async fn subscribe(&mut self, watcher: &dyn Watcher) -> Result<Box<Following>, Error> {
        let mut pubsub = self
            .storage
            .call("subscribe", self.storage.client.get_async_pubsub())
            .await?;
        self.storage
            .call("subscribe", pubsub.subscribe(&self.storage.keys.channel))
            .await?;
        self.resync(watcher).await?;
        let (sink, messages) = pubsub.split();
        let mut resync = tokio::time::interval(self.storage.resync_interval);
        resync.set_missed_tick_behavior(MissedTickBehavior::Delay);
        resync.tick().await;
        let mut health = tokio::time::interval(HEALTH_INTERVAL);
        health.set_missed_tick_behavior(MissedTickBehavior::Delay);
        health.tick().await;
        Ok(Box::new(Following {
            _sink: sink,
            messages,
            resync,
            health,
        }))
    }

    /// Reads everything: queues the data loss (or the restoration) it
    /// shows, then a [`Change::Loaded`].
    async fn resync(&mut self, watcher: &dyn Watcher) -> Result<(), Error> {
        // A change applied while the read runs is newer than what it reads.
        let read_at = watcher.mark();
        let read = self.storage.fetch_all(|key| watcher.switch(key)).await?;
        let held = watcher.held();
        // `records` is sorted by key.
        let stored = |key: &SwitchKey| read.records.binary_search_by(|(k, _)| k.cmp(key)).is_ok();
        let missing = || watcher.missing(&stored);
        let lost = self.data_lost(read.epoch.clone(), held, missing).await?;
        let was_lost = std::mem::replace(&mut self.lost, lost.is_some());
        match lost {
            Some(message) => self.queue.push_back(Change::DataLost {
                message,
                switches: held,
            }),
            None if was_lost => self.queue.push_back(Change::DataRestored),
            None => {}
        }
        let mut records = Vec::with_capacity(read.records.len());
        let mut unreadable = Vec::new();
        for (key, parsed) in read.records {
            match parsed {
                Ok(switch) => records.push(Record { key, switch }),
                Err(error) => unreadable.push((key, error)),
            }
        }
        self.queue.push_back(Change::Loaded {
            records,
            unreadable,
            read_at,
            marker: self.epoch.clone(),
        });
        Ok(())
    }

    /// Queues what one notification changed.
    async fn handle(&mut self, watcher: &dyn Watcher, payload: &[u8]) -> Result<(), Error> {
        let notification: Notification = match Notification::parse(payload) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "gate: unreadable change notification; resyncing");
                return self.resync(watcher).await;
            }
        };
        match notification {
            Notification::Put {
                key,
                version,
                users,
            } => match watcher.switch(&key) {
                Some(known) if known.version == version => {}
                Some(known) if !users && known.version + 1 == version => {
                    self.refetch_record(watcher, key, &known, version).await?;
                }
                _ => self.refetch(watcher, key).await?,
            },
            Notification::Del { keys } => self.queue.push_back(Change::Removed {
                keys,
                read_at: None,
            }),
            Notification::Allow { key, version, ids } => {
                self.users_changed(watcher, key, version, &ids, true)
                    .await?;
            }
            Notification::Disallow { key, version, ids } => {
                self.users_changed(watcher, key, version, &ids, false)
                    .await?;
            }
            Notification::Restored => return self.resync(watcher).await,
        }
        Ok(())
    }

    /// Applies an allow-list change to the watcher's copy when it is
    /// exactly one version behind, else reads the switch again.
    async fn users_changed(
        &mut self,
        watcher: &dyn Watcher,
        key: SwitchKey,
        version: u64,
        ids: &[String],
        add: bool,
    ) -> Result<(), Error> {
        match watcher.switch(&key) {
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
                self.queue.push_back(Change::Advanced { key, switch: next });
                Ok(())
            }
            _ => self.refetch(watcher, key).await,
        }
    }

    /// Reads only the record of a switch whose allow-list did not change
    /// (a million ids are not read again for a new description); falls
    /// back to a full read if the switch moved on meanwhile.
    async fn refetch_record(
        &mut self,
        watcher: &dyn Watcher,
        key: SwitchKey,
        known: &Switch,
        version: u64,
    ) -> Result<(), Error> {
        let read_at = Some(watcher.mark());
        let mut connection = self.storage.connection.clone();
        let (json, stored): (Option<Vec<u8>>, Option<Vec<u8>>) = self
            .storage
            .call(
                "read a switch",
                redis::pipe()
                    .atomic()
                    .hget(&self.storage.keys.switches, key.as_str())
                    .hget(&self.storage.keys.versions, key.as_str())
                    .query_async(&mut connection),
            )
            .await?;
        match (json, record::version_of(stored.as_deref())) {
            (Some(json), Ok(stored)) if stored == version => {
                let change = match record::parse_raw(&key, &json, version, known.users.clone()) {
                    Ok(switch) => Change::Stored {
                        key,
                        switch,
                        read_at,
                    },
                    Err(error) => Change::Unreadable { key, error },
                };
                self.queue.push_back(change);
                Ok(())
            }
            _ => self.refetch(watcher, key).await,
        }
    }

    /// Reads the switch at `key` again, allow-list and all.
    async fn refetch(&mut self, watcher: &dyn Watcher, key: SwitchKey) -> Result<(), Error> {
        let read_at = Some(watcher.mark());
        let change = match self.storage.fetch(&key).await? {
            Some(Ok(switch)) => Change::Stored {
                key,
                switch,
                read_at,
            },
            Some(Err(error)) => Change::Unreadable { key, error },
            None => Change::Removed {
                keys: vec![key],
                read_at,
            },
        };
        self.queue.push_back(change);
        Ok(())
    }
}

/// What woke a following feed.
enum Step {
    Message(Option<redis::Msg>),
    Resync,
    Health,
}
