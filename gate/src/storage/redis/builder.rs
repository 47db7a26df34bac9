//! [`RedisBuilder`]: the settings of a Redis storage, the storage, and a
//! manager on it that follows the store.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManagerConfig;

use super::keys::Keys;
use super::scripts::Scripts;
use super::{redact_url, RedisStorage};
use crate::error::Error;
use crate::history::DEFAULT_HISTORY_CAPACITY;
use crate::retry::RetryPolicy;
use crate::signals::Signals;

/// Builds a [`Manager`](crate::Manager) on Redis; from
/// [`Manager::builder().redis(url)`](crate::Builder::redis).
///
/// # Examples
///
/// ```no_run
/// # async fn run() -> Result<(), gate::Error> {
/// let manager = gate::Manager::builder()
///     .redis("redis://127.0.0.1:6379/0")
///     .prefix("myapp")
///     .snapshot_file("/var/lib/myapp/gate-snapshot.json")
///     .with_signals(|signals| {
///         // Connected before the first load: start-up skips reach it too.
///         signals.record_skipped.connect(|skipped| {
///             eprintln!("cannot read switch {}: {}", skipped.key, skipped.error);
///         });
///     })
///     .build()
///     .await?;
/// # let _ = manager; Ok(()) }
/// ```
#[must_use]
pub struct RedisBuilder {
    url: String,
    prefix: String,
    autocreate: bool,
    resync_interval: Duration,
    timeout: Duration,
    snapshot: Option<PathBuf>,
    history_capacity: usize,
    setup: Option<SignalsSetup>,
    republish: bool,
    retry: RetryPolicy,
}

/// What [`RedisBuilder::with_signals`] runs before the first load.
struct SignalsSetup(Box<dyn FnOnce(&Signals) + Send>);

impl std::fmt::Debug for SignalsSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignalsSetup(..)")
    }
}

impl std::fmt::Debug for RedisBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBuilder")
            .field("url", &redact_url(&self.url))
            .field("prefix", &self.prefix)
            .field("autocreate", &self.autocreate)
            .field("resync_interval", &self.resync_interval)
            .field("timeout", &self.timeout)
            .field("snapshot", &self.snapshot)
            .field("history_capacity", &self.history_capacity)
            .field("retry", &self.retry)
            .finish()
    }
}

impl RedisBuilder {
    pub(crate) fn new(url: String, autocreate: bool) -> Self {
        RedisBuilder {
            url,
            prefix: "gate".into(),
            autocreate,
            resync_interval: Duration::from_secs(30),
            timeout: Duration::from_secs(1),
            snapshot: None,
            history_capacity: DEFAULT_HISTORY_CAPACITY,
            setup: None,
            republish: false,
            retry: RetryPolicy::jittered(),
        }
    }

    /// The prefix of every Redis key (default `gate`): managers with the
    /// same URL and prefix share switches; different prefixes are isolated.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Register unknown switches (disabled) when they are first checked.
    pub fn autocreate(mut self, autocreate: bool) -> Self {
        self.autocreate = autocreate;
        self
    }

    /// How often the whole replica is read again from Redis, to repair
    /// anything pub/sub dropped (default 30 s).
    pub fn resync_interval(mut self, interval: Duration) -> Self {
        self.resync_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// How long a Redis call may take before it fails with
    /// [`Error::Storage`] (default 1 s). A write whose answer does not come
    /// in that time is then checked by its operation id for up to as long
    /// again, and fails with [`Error::OutcomeUnknown`] if that does not
    /// tell either; a timed-out call also marks
    /// [`sync_status`](crate::Manager::sync_status) disconnected until
    /// Redis answers again.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// A local file the replica is written to (atomically, off the
    /// runtime's worker threads, at most about once a second) as it
    /// changes, and read from when the process starts while Redis is down,
    /// or finds that Redis lost its data. It is never written while the
    /// store is known to have lost its data; `gate restore --from` writes
    /// its switches back.
    pub fn snapshot_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.snapshot = Some(path.into());
        self
    }

    /// How many entries the audit trail (`{prefix}:history`) keeps; the
    /// oldest are dropped (default 1,000, at least 1).
    pub fn history_capacity(mut self, entries: usize) -> Self {
        self.history_capacity = entries.max(1);
        self
    }

    /// Connects listeners to the manager's signals before it loads
    /// anything, so that they see the start-up too (switches skipped as
    /// unreadable, a data loss found at start-up). `setup` runs once, in
    /// [`build`](Self::build), before the first read.
    pub fn with_signals(mut self, setup: impl FnOnce(&Signals) + Send + 'static) -> Self {
        self.setup = Some(SignalsSetup(Box::new(setup)));
        self
    }

    /// When this node finds that Redis lost its data, it writes the
    /// switches it holds (and Redis lacks) back itself, then marks the
    /// store restored, instead of waiting for `gate restore` (default
    /// off: with several nodes, the operator chooses which state comes
    /// back).
    pub fn republish_on_data_loss(mut self, republish: bool) -> Self {
        self.republish = republish;
        self
    }

    /// How the manager's writes that lost a race pause before trying
    /// again (default [`RetryPolicy::jittered`]: writers on several nodes
    /// contending for one switch stop colliding in lockstep).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The policy chosen with [`retry_policy`](Self::retry_policy), for
    /// the manager (see `build`, in `manager/builder.rs`).
    pub(crate) fn chosen_retry_policy(&self) -> RetryPolicy {
        self.retry.clone()
    }

    /// The storage alone, without a manager (for the conformance suite or
    /// your own tooling). It connects on first use.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] for a URL the redis crate does not accept.
    pub fn build_storage(&self) -> Result<RedisStorage, Error> {
        let shown = redact_url(&self.url);
        let client = redis::Client::open(self.url.as_str())
            .map_err(|e| Error::storage(format!("invalid Redis URL {shown}: {e}"), e))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let connection = client
            .get_connection_manager_lazy(config)
            .map_err(|e| Error::storage(format!("Redis at {shown}: {e}"), e))?;
        Ok(RedisStorage {
            client,
            connection,
            keys: Arc::new(Keys::new(&self.prefix)),
            scripts: Arc::new(Scripts::new()),
            timeout: self.timeout,
            history_capacity: self.history_capacity,
            url: Arc::from(shown),
            resync_interval: self.resync_interval,
            status: Arc::default(),
        })
    }

    /// The storage, and what following it needs (see `build`, in
    /// `manager/builder.rs`).
    pub(crate) fn into_parts(self) -> Result<(RedisStorage, Follow), Error> {
        let storage = self.build_storage()?;
        Ok((
            storage,
            Follow {
                autocreate: self.autocreate,
                setup: self.setup,
                snapshot: self.snapshot,
                republish: self.republish,
            },
        ))
    }
}

/// What following a Redis store needs besides the storage: the settings
/// of [`RedisBuilder`] that are not the storage's (the manager's builder,
/// `manager/builder.rs`, hands them to the follower).
pub(crate) struct Follow {
    /// Whether the manager autocreates unknown switches.
    pub(crate) autocreate: bool,
    setup: Option<SignalsSetup>,
    /// The snapshot file.
    pub(crate) snapshot: Option<PathBuf>,
    /// Write the replica back when the store lost its data.
    pub(crate) republish: bool,
}

impl Follow {
    /// Runs the `with_signals` set-up (once).
    pub(crate) fn set_up(&mut self, signals: &Signals) {
        if let Some(setup) = self.setup.take() {
            (setup.0)(signals);
        }
    }
}
