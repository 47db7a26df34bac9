//! The manager: the public facade. Checks read the in-process
//! [replica](crate::replica) through the [evaluation](crate::eval) and
//! never touch the storage; writes go through the [storage](crate::storage)
//! and then update the replica.
//!
//! - `check.rs`: `active`, `variant`, `explain`, reads of the replica;
//! - `write.rs`: `register`, `update`, `modify`, the rollout shortcuts;
//! - `builder.rs`: [`Builder`].

mod builder;
mod check;
mod declare;
mod write;

use std::fmt;
use std::sync::Arc;

use crate::autocreate::Autocreator;
use crate::error::Error;
use crate::eval::Overrides;
use crate::history::HistoryEntry;
use crate::key::SwitchKey;
pub(crate) use crate::replica::Apply;
use crate::replica::Replica;
use crate::retry::RetryPolicy;
use crate::signals::{Origin, Signals};
use crate::storage::{Record, Storage, SyncStatus, WriteOutcome};
use crate::switch::{validate_name, validate_namespace, Switch};

pub use builder::Builder;
pub use declare::{Declaration, Declared};

/// What every handle of one manager shares: the storage, the retry
/// policy, the replica, the signals, the test overrides and the autocreate
/// queue.
pub(crate) struct Shared {
    pub(crate) replica: Arc<Replica>,
    pub(crate) storage: Box<dyn Storage>,
    /// How writes that lost a race pause before trying again.
    pub(crate) retry: RetryPolicy,
    autocreate: bool,
    pub(crate) overrides: Overrides,
    pub(crate) autocreator: Autocreator,
    /// Checks of names that are not switches.
    pub(crate) unknown: crate::unknown::Unknown,
}

impl Shared {
    pub(crate) fn note_readable(&self, readable: impl FnMut(&SwitchKey) -> bool) {
        self.replica.note_readable(readable);
    }

    pub(crate) fn unreadable(&self) -> Vec<(SwitchKey, String)> {
        self.replica.unreadable()
    }

    pub(crate) fn replace_all(&self, records: Vec<Record>) {
        self.replica.replace_all(records);
    }

    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn sync_to(&self, records: Vec<Record>, present: &[SwitchKey], since: u64) {
        self.replica.sync_to(records, present, since);
    }

    pub(crate) fn seq(&self) -> u64 {
        self.replica.seq()
    }

    pub(crate) fn apply(&self, changes: Vec<Apply>, origin: Origin) {
        self.replica.apply(changes, origin);
    }

    pub(crate) fn has_descendants(&self, namespace: &str, name: &str) -> bool {
        self.replica.has_descendants(namespace, name)
    }

    /// Applies the result of a local write to the replica.
    pub(crate) fn applied(&self, key: SwitchKey, stored: Switch) {
        self.apply(
            vec![Apply::Upsert {
                key,
                switch: stored,
                authoritative: false,
            }],
            Origin::Local,
        );
    }

    pub(crate) fn replica_switch(&self, key: &SwitchKey) -> Option<Arc<Switch>> {
        self.replica.switch(key)
    }
}

/// The entry point: registers, changes and checks switches.
///
/// Checks (`active`, `variant`, …) are synchronous, never fail, never block
/// on I/O and do not allocate: they read an in-process snapshot. Writes are
/// `async`, go through the storage, and then update the snapshot.
/// Cloning a manager is cheap; clones share everything.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let manager = gate::Manager::in_memory();
/// manager.set_percentage("new_search", 80).await?;
/// assert!(manager.active("new_search", "443301"));  // bucket 5
/// assert!(!manager.active("new_search", "44488"));  // bucket 88
/// # Ok::<_, gate::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Manager {
    shared: Arc<Shared>,
    namespace: Arc<str>,
    namespace_index: usize,
    /// Who this handle's writes are recorded as, in the audit trail.
    actor: Arc<str>,
}

/// The actor of writes made through a manager that was not given one.
pub const DEFAULT_ACTOR: &str = "code";

/// The actor of switches registered by autocreate.
pub const AUTOCREATE_ACTOR: &str = "autocreate";

impl fmt::Debug for Manager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Manager")
            .field("namespace", &self.namespace)
            .field("actor", &self.actor)
            .field("storage", &self.shared.storage)
            .field("retry", &self.shared.retry)
            .field("autocreate", &self.shared.autocreate)
            .finish_non_exhaustive()
    }
}

/// Runs a write in the background: on the current tokio runtime if there
/// is one, else on a short-lived thread with its own runtime. `false` if
/// it could not be started (logged).
pub(crate) fn spawn_write(future: impl std::future::Future<Output = ()> + Send + 'static) -> bool {
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        handle.spawn(future);
        return true;
    }
    let spawned = std::thread::Builder::new()
        .name("gate-write".into())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime.block_on(future),
                Err(e) => tracing::error!(error = %e, "gate: no runtime for a background write"),
            }
        });
    if let Err(e) = &spawned {
        tracing::error!(error = %e, "gate: could not start a background write");
    }
    spawned.is_ok()
}

impl Manager {
    pub(crate) fn from_parts(
        storage: Box<dyn Storage>,
        retry: RetryPolicy,
        autocreate: bool,
        sync: SyncStatus,
    ) -> Manager {
        Manager {
            shared: Arc::new(Shared {
                replica: Arc::new(Replica::new(sync)),
                storage,
                retry,
                autocreate,
                overrides: Overrides::default(),
                autocreator: Autocreator::new(),
                unknown: Default::default(),
            }),
            namespace: Arc::from(""),
            namespace_index: 0,
            actor: Arc::from(DEFAULT_ACTOR),
        }
    }

    /// How the replica stands with the storage: connected or not, when it
    /// last matched the whole storage, and where its switches came from.
    ///
    /// # Examples
    ///
    /// ```
    /// let status = gate::Manager::in_memory().sync_status();
    /// assert!(status.connected);
    /// ```
    pub fn sync_status(&self) -> SyncStatus {
        self.shared.replica.status()
    }

    /// How many checks, through this manager and every handle sharing its
    /// storage, asked for a name that is not a switch (and so answered
    /// off). Each such name is also logged once, as a warning, once the
    /// replica has loaded (see [`unknown_names`](Self::unknown_names)).
    ///
    /// # Examples
    ///
    /// ```
    /// let manager = gate::Manager::in_memory();
    /// assert!(!manager.active("bta", "42")); // meant "beta"
    /// assert!(!manager.active("bta", "43"));
    /// assert_eq!(manager.unknown_checks(), 2);
    /// assert_eq!(manager.unknown_names(), ["bta"]);
    /// ```
    pub fn unknown_checks(&self) -> u64 {
        self.shared.unknown.checks()
    }

    /// The names checked that were not switches (`namespace.name` outside
    /// the root namespace), sorted; each was logged once as a warning.
    /// At most [`limits::MAX_UNKNOWN_NAMES`](crate::limits::MAX_UNKNOWN_NAMES)
    /// are kept. Names checked before the replica first loaded are not
    /// listed unless checked again after.
    pub fn unknown_names(&self) -> Vec<String> {
        self.shared.unknown.names()
    }

    /// Reads the whole storage again and makes the replica equal to it,
    /// firing the signals of what changed (with [`Origin::Remote`]). The
    /// Redis storage does this by itself (pub/sub and periodic resyncs);
    /// call it for a storage that other processes change behind the
    /// manager's back, such as a [`FileStorage`](crate::storage::FileStorage).
    ///
    /// # Errors
    ///
    /// The storage's error (the replica is left as it was).
    ///
    /// [`Origin::Remote`]: crate::signals::Origin::Remote
    pub async fn reload(&self) -> Result<(), Error> {
        let since = self.shared.seq();
        let records = self.shared.storage.load().await?;
        // A record known to be unreadable keeps its last good copy.
        let unreadable: Vec<SwitchKey> = self
            .shared
            .unreadable()
            .into_iter()
            .map(|(key, _)| key)
            .collect();
        self.shared.sync_to(records, &unreadable, since);
        Ok(())
    }

    /// What became of the write whose operation id an
    /// [`Error::OutcomeUnknown`] gave: [`WriteOutcome::Applied`], or
    /// [`WriteOutcome::NotApplied`] (a write that had not reached the store
    /// yet is cancelled by this check, so the answer stays true; retry it
    /// then). Ask within an hour: Redis keeps the record of each write that
    /// long (the audit trail keeps the id longer, in `op`). Memory and file
    /// storages have no unknown outcomes and answer
    /// [`WriteOutcome::NoRecord`].
    ///
    /// # Errors
    ///
    /// A storage error if the store does not answer (ask again later).
    ///
    /// [`WriteOutcome::Applied`]: crate::storage::WriteOutcome::Applied
    /// [`WriteOutcome::NotApplied`]: crate::storage::WriteOutcome::NotApplied
    /// [`WriteOutcome::NoRecord`]: crate::storage::WriteOutcome::NoRecord
    pub async fn write_outcome(&self, id: &str) -> Result<WriteOutcome, Error> {
        self.shared.storage.write_outcome(id.trim()).await
    }

    /// A manager with in-memory storage and default settings.
    pub fn in_memory() -> Manager {
        Manager::builder().build()
    }

    /// A builder, to choose the storage and settings.
    pub fn builder() -> Builder {
        Builder::default()
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// This manager's namespace (`""` for the root, `a.b` when nested).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The signals (shared by every namespace of this manager).
    pub fn signals(&self) -> &Signals {
        &self.shared.replica.signals
    }

    /// A view of the same storage, settings and signals whose switches are
    /// kept apart under `namespace` (stored as `namespace.name`). Nested
    /// namespaces join with `.`. Cheap, and it keeps nothing: a handle on a
    /// namespace that holds no switch yet (per request, say) leaves no
    /// trace in the manager once dropped.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidNamespace`] for an empty namespace or one containing
    /// `.` or `:`.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let manager = gate::Manager::in_memory();
    /// let germany = manager.namespaced("germany")?;
    /// germany.enable_for_all("booze").await?;
    /// assert!(germany.active("booze", ()));
    /// assert!(!manager.active("booze", ()));
    /// # Ok::<_, gate::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn namespaced(&self, namespace: &str) -> Result<Manager, Error> {
        validate_namespace(namespace)?;
        // Nested handles join their namespaces with `.`, as keys do.
        let full = if self.namespace.is_empty() {
            namespace.to_owned()
        } else {
            format!("{}.{namespace}", self.namespace)
        };
        // Looked up, not registered: a handle on a namespace that holds
        // nothing (an admin request's `?namespace=`) leaves no trace; the
        // namespace gets its number when a switch is written in it.
        let namespace_index = self.shared.replica.index_of(&full);
        Ok(Manager {
            shared: self.shared.clone(),
            namespace: Arc::from(full),
            namespace_index,
            actor: self.actor.clone(),
        })
    }

    /// A handle on the same switches whose writes are recorded in the
    /// audit trail as made by `actor` (a user name, `cli:alice`,
    /// `api:token-name`, …). The default actor is `"code"`.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let manager = gate::Manager::in_memory();
    /// manager.as_actor("alice").enable_for_all("beta").await?;
    /// assert_eq!(manager.history(None, 1).await?[0].actor, "alice");
    /// # Ok::<_, gate::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn as_actor(&self, actor: impl Into<String>) -> Manager {
        Manager {
            actor: Arc::from(actor.into()),
            ..self.clone()
        }
    }

    /// The actor this handle's writes are recorded as.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// The newest `limit` entries of the audit trail, newest first: about
    /// `name` and its descendants, or about every switch of this namespace
    /// (and the namespaces under it) if `None`.
    ///
    /// # Errors
    ///
    /// A name or storage error.
    pub async fn history(
        &self,
        name: Option<&str>,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, Error> {
        match name {
            Some(name) => {
                validate_name(name)?;
                self.shared
                    .storage
                    .history(Some(&self.key(name)), limit)
                    .await
            }
            None if self.namespace.is_empty() => self.shared.storage.history(None, limit).await,
            None => {
                // The namespace's keys start with `namespace.`.
                let prefix = format!("{}.", self.namespace);
                let all = self.shared.storage.history(None, usize::MAX).await?;
                Ok(all
                    .into_iter()
                    .filter(|e| e.key.as_str().starts_with(&prefix))
                    .take(limit)
                    .collect())
            }
        }
    }

    /// The key of `name` in this handle's namespace (the name is not
    /// checked: callers validate it first, or look up what is stored).
    pub(crate) fn key(&self, name: &str) -> SwitchKey {
        SwitchKey::join(&self.namespace, name)
    }
}
