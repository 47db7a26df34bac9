//! Redis storage: every process of a fleet shares the switches, keeps a
//! replica, and follows changes through pub/sub (the change feed,
//! [`watch`]).
//!
//! Key layout, under a prefix (default `gate`; see [`keys`]):
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `{prefix}:switches` | hash | storage key → switch JSON (allow-list and version left out) |
//! | `{prefix}:versions` | hash | storage key → version, bumped atomically by every write |
//! | `{prefix}:users:{key}` | set | the switch's allow-list |
//! | `{prefix}:history` | list | the audit trail, newest first, trimmed to its capacity |
//! | `{prefix}:changes` | pub/sub channel | one JSON notification per write ([`protocol`]) |
//! | `{prefix}:ops:{id}` | string, expires after an hour | the answer of the write with that operation id ([`ops`]) |
//! | `{prefix}:epoch` | string | a marker set once (`SET NX`) by the first node, replaced by `gate restore` ([`epoch`]) |
//!
//! A node remembers the marker it follows (and keeps it in its snapshot
//! file). The marker gone or replaced while the node holds switches means
//! the store lost its data (restarted without persistence, flushed): the
//! node keeps serving its last state, reports it once, leaves its snapshot
//! file alone, and takes the store's state as a whole again only once the
//! store is restored (a marker `restored:…`, or its own marker back).
//!
//! Every write is one Lua script (`scripts/*.lua`, each with a typed
//! reply in [`scripts`]): it checks, writes, bumps the version, pushes its
//! audit entry, records its operation id and publishes, atomically. The
//! op guard ([`ops`]) wraps every write script, so that a write whose
//! answer did not come can be checked and a write sent twice is applied
//! once. Allow-lists of more than [`write::INLINE_IDS`] ids are first
//! staged in a temporary set, so no script call carries a million ids.
//! A switch is stored under its [`SwitchKey`](crate::SwitchKey)'s storage
//! form ([`as_str`](crate::SwitchKey::as_str)): `name`, or
//! `namespace.name`.
//!
//! The folder:
//!
//! | file | what |
//! | --- | --- |
//! | `mod.rs` | [`RedisStorage`], its calls with a timeout, and the [`Storage`] impl |
//! | `builder.rs` | [`RedisBuilder`]: the settings, the storage, a manager on it |
//! | `keys.rs` | the key layout |
//! | `scripts.rs`, `scripts/*.lua` | the Lua scripts and their typed replies |
//! | `protocol.rs` | the notifications on the changes channel |
//! | `record.rs` | a switch as stored: its record JSON, parsed back |
//! | `read.rs` | reads: one switch, all of them, allow-lists, the history |
//! | `write.rs` | register, update, unregister, repair, staging |
//! | `batch.rs`, `shortcut.rs` | a batch of writes; a rollout shortcut |
//! | `ops.rs` | operation ids: running a guarded write, checking an outcome |
//! | `status.rs` | a timed-out call marks the follower's sync status |
//! | `epoch.rs` | the store's marker: claimed, replaced by a restore |
//! | `watch.rs`, `watch/data_loss.rs` | the change feed: resyncs, notifications, health pings, data loss |
//! | `url.rs` | URLs in messages, with every secret hidden |

use std::sync::{Arc, Weak};
use std::time::Duration;

use redis::aio::ConnectionManager;

use super::{
    AppliedShortcut, BatchWrite, BoxFuture, ChangeFeed, Record, ShortcutRequest, Storage, Watcher,
    WriteOutcome,
};
use crate::error::Error;
use crate::history::HistoryEntry;
use crate::key::SwitchKey;
use crate::switch::Switch;

mod batch;
mod builder;
mod epoch;
mod keys;
mod ops;
mod protocol;
mod read;
mod record;
mod scripts;
mod shortcut;
mod status;
mod url;
mod watch;
mod write;

pub use builder::RedisBuilder;
pub use url::redact_url;

/// How long a health `PING` may take (or the configured timeout, if less).
const PING_TIMEOUT: Duration = Duration::from_millis(1_000);

/// Switches in Redis, shared by every manager with the same URL and
/// prefix. Build a manager on it with
/// [`Manager::builder().redis(url)`](crate::Builder::redis).
#[derive(Clone)]
pub struct RedisStorage {
    client: redis::Client,
    connection: ConnectionManager,
    keys: Arc<keys::Keys>,
    scripts: Arc<scripts::Scripts>,
    timeout: Duration,
    /// How many audit entries the history list keeps.
    history_capacity: usize,
    /// The URL without its password, for messages.
    url: Arc<str>,
    /// How often the change feed reads the whole store again.
    resync_interval: Duration,
    /// The follower's sync status, which a timed-out call marks.
    status: Arc<status::StatusLink>,
}

impl std::fmt::Debug for RedisStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStorage")
            .field("url", &self.url)
            .field("keys", &self.keys)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RedisStorage {
    /// The settings of a Redis storage at `url`
    /// (`redis://[:password@]host:port/db`): finish with
    /// [`build_storage`](RedisBuilder::build_storage) for the storage alone,
    /// or [`build`](RedisBuilder::build) for a manager following it.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn run() -> Result<(), gate::Error> {
    /// let storage = gate::storage::RedisStorage::builder("redis://127.0.0.1:6379/0")
    ///     .prefix("myapp")
    ///     .build_storage()?;
    /// # let _ = storage; Ok(()) }
    /// ```
    pub fn builder(url: impl Into<String>) -> RedisBuilder {
        RedisBuilder::new(url.into(), false)
    }

    /// A storage error: Redis failed to do `what`; `detail` says how.
    fn storage_error(&self, what: &str, detail: impl std::fmt::Display) -> Error {
        Error::storage_msg(self.failed(what, detail))
    }

    /// [`storage_error`](Self::storage_error) that keeps the error
    /// underneath as its source.
    fn storage_error_from(
        &self,
        what: &str,
        detail: impl std::fmt::Display,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        Error::storage(self.failed(what, detail), source)
    }

    fn failed(&self, what: &str, detail: impl std::fmt::Display) -> String {
        format!("Redis at {} failed to {what}: {detail}", self.url)
    }

    /// Runs a Redis call with the configured timeout.
    async fn call<T>(
        &self,
        what: &str,
        call: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, Error> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(value)) => {
                self.status.answered();
                Ok(value)
            }
            Ok(Err(e)) => {
                let timeout = e.is_timeout();
                let error = self.storage_error_from(what, &e, e.clone());
                if timeout {
                    self.status.hung(&error.to_string());
                }
                Err(error)
            }
            Err(_) => {
                let error =
                    self.storage_error(what, format_args!("no answer within {:?}", self.timeout));
                self.status.hung(&error.to_string());
                Err(error)
            }
        }
    }

    /// Whether Redis answers a `PING` within [`PING_TIMEOUT`].
    async fn ping(&self) -> Result<(), Error> {
        let mut connection = self.connection.clone();
        let limit = self.timeout.min(PING_TIMEOUT);
        let command = redis::cmd("PING");
        let ping = command.query_async::<()>(&mut connection);
        match tokio::time::timeout(limit, ping).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(self.storage_error_from("answer a PING", &e, e.clone())),
            Err(_) => Err(self.storage_error(
                "answer a PING",
                format_args!("no answer within {limit:?} (is the server hung?)"),
            )),
        }
    }
}

impl Storage for RedisStorage {
    fn load(&self) -> BoxFuture<'_, Result<Vec<Record>, Error>> {
        Box::pin(self.load_all())
    }

    fn get<'a>(&'a self, key: &'a SwitchKey) -> BoxFuture<'a, Result<Option<Switch>, Error>> {
        Box::pin(async move { self.fetch(key).await?.transpose() })
    }

    fn insert<'a>(
        &'a self,
        key: &'a SwitchKey,
        actor: &'a str,
        switch: Switch,
    ) -> BoxFuture<'a, Result<Switch, Error>> {
        Box::pin(self.insert_switch(key, actor, switch))
    }

    fn update<'a>(
        &'a self,
        key: &'a SwitchKey,
        actor: &'a str,
        switch: Switch,
    ) -> BoxFuture<'a, Result<(Switch, Switch), Error>> {
        Box::pin(self.update_switch(key, actor, switch))
    }

    fn update_from<'a>(
        &'a self,
        key: &'a SwitchKey,
        actor: &'a str,
        previous: Switch,
        switch: Switch,
    ) -> BoxFuture<'a, Result<(Switch, Switch), Error>> {
        Box::pin(self.update_with(key, actor, Some(previous), switch))
    }

    fn remove_tree<'a>(
        &'a self,
        key: &'a SwitchKey,
        actor: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Record>, Error>> {
        Box::pin(self.remove_switches(key, actor))
    }

    fn apply_shortcut<'a>(
        &'a self,
        request: ShortcutRequest<'a>,
    ) -> BoxFuture<'a, Result<AppliedShortcut, Error>> {
        Box::pin(self.shortcut(request))
    }

    fn write_batch<'a>(
        &'a self,
        actor: &'a str,
        writes: Vec<(SwitchKey, BatchWrite)>,
    ) -> BoxFuture<'a, Result<Vec<Switch>, Error>> {
        Box::pin(self.batch(actor, writes))
    }

    fn write_outcome<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<WriteOutcome, Error>> {
        Box::pin(self.outcome(id))
    }

    fn repair<'a>(
        &'a self,
        key: &'a SwitchKey,
        actor: &'a str,
        switch: Switch,
    ) -> BoxFuture<'a, Result<Switch, Error>> {
        Box::pin(self.repair_switch(key, actor, switch))
    }

    fn mark_restored(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(self.mark_restored_now())
    }

    fn history<'a>(
        &'a self,
        key: Option<&'a SwitchKey>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<HistoryEntry>, Error>> {
        Box::pin(self.read_history(key, limit))
    }

    fn watch(&self, watcher: Weak<dyn Watcher>) -> Option<ChangeFeed> {
        self.status.attach(watcher.clone());
        Some(watch::feed(self.clone(), watcher))
    }
}
