//! The manager: checks against an in-process replica, writes through the
//! storage.

use std::fmt;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use rustc_hash::FxHashMap;

use crate::arguments::{Arguments, Chain, Inputs};
use crate::autocreate::Autocreator;
use crate::condition::{Argument, Condition};
use crate::context::{self, SharedInput};
use crate::error::Error;
use crate::explain::{self, Explanation, Reason, Settled, SettledBy, Trace};
use crate::history::HistoryEntry;
use crate::operator::{Operator, Percentage};
use crate::signals::{
    ConditionApplyError, Origin, Signals, SwitchChecked, SwitchRegistered, SwitchUnregistered,
    SwitchUpdated,
};
use crate::storage::{
    key_of, split_key, MemoryStorage, Record, ReplicaSource, Shortcut, Storage, SyncStatus,
    WriteOutcome,
};
use crate::switch::{parent_of, validate_name, validate_namespace, State, Switch};
use crate::testing::Overrides;

/// How many times `modify` retries after a conflict before giving up.
pub(crate) const MODIFY_ATTEMPTS: usize = 64;

type Namespace = FxHashMap<Arc<str>, Arc<Switch>>;

/// A change the replica went through: key, before, after.
type ReplicaEvent = (String, Option<Arc<Switch>>, Option<Arc<Switch>>);

/// An immutable view of every switch, swapped whole on each change.
/// Namespaces are indexed by the number the registry gave them, so a check
/// makes one hash lookup (the name), not two.
#[derive(Default, Clone)]
pub(crate) struct Snapshot {
    namespaces: Vec<Arc<Namespace>>,
    /// The registry's numbers, for handles made before their namespace
    /// had one (see [`Manager::namespaced`]).
    indices: Arc<FxHashMap<Arc<str>, usize>>,
}

/// The index of a handle whose namespace had no number when it was made.
const UNREGISTERED: usize = usize::MAX;

impl Snapshot {
    #[inline]
    fn namespace(&self, index: usize) -> Option<&Arc<Namespace>> {
        self.namespaces.get(index)
    }

    /// Takes the registry's numbers, if it gave new ones.
    fn sync_indices(&mut self, registry: &NamespaceRegistry) {
        if self.indices.len() != registry.indices.len() {
            self.indices = Arc::new(registry.indices.clone());
        }
    }

    fn namespace_mut(&mut self, index: usize) -> &mut Namespace {
        if self.namespaces.len() <= index {
            self.namespaces.resize_with(index + 1, Default::default);
        }
        Arc::make_mut(&mut self.namespaces[index])
    }
}

/// Gives every namespace a small number, for [`Snapshot`].
/// Also counts the changes applied to the replica, so that a full read of
/// the storage that began before a change does not undo it.
#[derive(Default)]
struct NamespaceRegistry {
    indices: FxHashMap<Arc<str>, usize>,
    /// How many changes were applied so far.
    seq: u64,
    /// Storage key → `seq` of the last change applied to it.
    touched: FxHashMap<String, u64>,
}

impl NamespaceRegistry {
    fn index(&mut self, namespace: &str) -> usize {
        if let Some(&i) = self.indices.get(namespace) {
            return i;
        }
        let i = self.indices.len();
        self.indices.insert(Arc::from(namespace), i);
        i
    }
}

/// One change to apply to the replica.
#[derive(Debug)]
pub(crate) enum Apply {
    /// Insert or replace. A local write's result only replaces an older
    /// version; an authoritative one (just read from the shared storage)
    /// replaces whatever differs.
    Upsert {
        key: String,
        switch: Switch,
        authoritative: bool,
    },
    /// Remove.
    Remove { key: String },
}

pub(crate) struct Shared {
    replica: ArcSwap<Snapshot>,
    apply_lock: Mutex<NamespaceRegistry>,
    pub(crate) storage: Box<dyn Storage>,
    autocreate: bool,
    pub(crate) signals: Signals,
    pub(crate) overrides: Overrides,
    sync: Mutex<SyncStatus>,
    pub(crate) autocreator: Autocreator,
    /// Storage key → why its record cannot be read, for the records the
    /// last reads skipped (each reported once).
    unreadable: Mutex<std::collections::BTreeMap<String, String>>,
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
            .field("autocreate", &self.shared.autocreate)
            .finish_non_exhaustive()
    }
}

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

impl Shared {
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn set_sync(&self, change: impl FnOnce(&mut SyncStatus)) {
        change(&mut self.sync.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// Notes that the record at `key` cannot be read; true if this is
    /// news (the key was readable, or failed differently), to report.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn note_unreadable(&self, key: &str, error: &str) -> bool {
        let mut unreadable = self.unreadable.lock().unwrap_or_else(|e| e.into_inner());
        if unreadable.get(key).is_some_and(|known| known == error) {
            return false;
        }
        unreadable.insert(key.to_owned(), error.to_owned());
        true
    }

    /// Forgets the problems of the keys for which `readable` holds (read
    /// fine, or gone), so that a later one is reported again.
    pub(crate) fn note_readable(&self, mut readable: impl FnMut(&str) -> bool) {
        self.unreadable
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|key, _| !readable(key));
    }

    /// The unreadable records, by key.
    pub(crate) fn unreadable(&self) -> Vec<(String, String)> {
        self.unreadable
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, e)| (k.clone(), e.clone()))
            .collect()
    }

    fn lock_registry(&self) -> std::sync::MutexGuard<'_, NamespaceRegistry> {
        self.apply_lock.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn replace_all(&self, records: Vec<Record>) {
        let mut registry = self.lock_registry();
        let mut snapshot = Snapshot::default();
        for Record { key, switch } in records {
            let (ns, name) = split_key(&key);
            snapshot
                .namespace_mut(registry.index(ns))
                .insert(Arc::from(name), Arc::new(switch));
        }
        snapshot.sync_indices(&registry);
        self.replica.store(Arc::new(snapshot));
    }

    /// Makes the replica equal to `records`, the whole storage as read by a
    /// read that began at `since`: upserts them, and removes the switches
    /// that are neither among them nor in `present` (keys the read saw but
    /// could not parse, whose last good copy is kept).
    pub(crate) fn sync_to(&self, records: Vec<Record>, present: &[String], since: u64) {
        let mut seen: std::collections::HashSet<String> =
            records.iter().map(|r| r.key.clone()).collect();
        seen.extend(present.iter().cloned());
        let mut changes: Vec<Apply> = records
            .into_iter()
            .map(|Record { key, switch }| Apply::Upsert {
                key,
                switch,
                authoritative: true,
            })
            .collect();
        for record in self.replica_records() {
            if !seen.contains(&record.key) {
                changes.push(Apply::Remove { key: record.key });
            }
        }
        self.apply_since(changes, Origin::Remote, Some(since));
    }

    /// The number of changes applied so far: pass it to
    /// [`apply_since`](Self::apply_since) for what a read begun now returns.
    pub(crate) fn seq(&self) -> u64 {
        self.lock_registry().seq
    }

    /// Applies changes to the replica, then fires the signals of those that
    /// changed it (registered, updated or unregistered).
    pub(crate) fn apply(&self, changes: Vec<Apply>, origin: Origin) {
        self.apply_since(changes, origin, None);
    }

    /// Like [`apply`](Self::apply), for changes read from the storage by a
    /// read that began at `since` (from [`seq`](Self::seq)): a key changed
    /// after that is left alone, since the read may predate its change.
    pub(crate) fn apply_since(&self, changes: Vec<Apply>, origin: Origin, since: Option<u64>) {
        let mut events: Vec<ReplicaEvent> = Vec::new();
        {
            let mut registry = self.lock_registry();
            let mut snapshot = Snapshot::clone(&self.replica.load());
            for change in changes {
                let key = match &change {
                    Apply::Upsert { key, .. } | Apply::Remove { key } => key.clone(),
                };
                if let Some(since) = since {
                    if registry.touched.get(&key).is_some_and(|&at| at > since) {
                        continue;
                    }
                }
                registry.seq += 1;
                let seq = registry.seq;
                registry.touched.insert(key.clone(), seq);
                let (ns, name) = split_key(&key);
                let namespace = snapshot.namespace_mut(registry.index(ns));
                let previous = namespace.get(name).cloned();
                match change {
                    Apply::Upsert {
                        switch,
                        authoritative,
                        ..
                    } => {
                        let replace = match &previous {
                            None => true,
                            Some(p) if authoritative => **p != switch,
                            Some(p) => switch.version > p.version,
                        };
                        if replace {
                            let current = Arc::new(switch);
                            namespace.insert(Arc::from(name), current.clone());
                            events.push((key, previous, Some(current)));
                        }
                    }
                    Apply::Remove { .. } => {
                        if let Some(removed) = namespace.remove(name) {
                            events.push((key, Some(removed), None));
                        }
                    }
                }
            }
            snapshot.sync_indices(&registry);
            self.replica.store(Arc::new(snapshot));
        }
        let signals = &self.signals;
        for (key, previous, current) in events {
            let namespace = split_key(&key).0.to_owned();
            match (previous, current) {
                (None, Some(switch)) => signals.switch_registered.emit_with(|| SwitchRegistered {
                    namespace,
                    switch,
                    origin,
                }),
                (Some(previous), Some(current)) => {
                    signals.switch_updated.emit_with(|| SwitchUpdated {
                        namespace,
                        previous,
                        current,
                        origin,
                    })
                }
                (Some(switch), None) => {
                    signals
                        .switch_unregistered
                        .emit_with(|| SwitchUnregistered {
                            namespace,
                            switch,
                            origin,
                        })
                }
                (None, None) => {}
            }
        }
    }

    /// Whether the replica holds a switch below `name` (`name:…`) in
    /// `namespace`.
    pub(crate) fn has_descendants(&self, namespace: &str, name: &str) -> bool {
        let Some(index) = self.lock_registry().indices.get(namespace).copied() else {
            return false;
        };
        let snapshot = self.replica.load();
        snapshot.namespace(index).is_some_and(|ns| {
            ns.keys().any(|k| {
                k.len() > name.len() && k.starts_with(name) && k.as_bytes()[name.len()] == b':'
            })
        })
    }

    /// Applies the result of a local write to the replica.
    pub(crate) fn applied(&self, key: String, stored: Switch) {
        self.apply(
            vec![Apply::Upsert {
                key,
                switch: stored,
                authoritative: false,
            }],
            Origin::Local,
        );
    }

    /// The replica's copy of the switch at `key`.
    pub(crate) fn replica_switch(&self, key: &str) -> Option<Arc<Switch>> {
        let (ns, name) = split_key(key);
        let index = *self.lock_registry().indices.get(ns)?;
        self.replica.load().namespace(index)?.get(name).cloned()
    }

    /// How many switches the replica holds.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn replica_len(&self) -> usize {
        self.replica
            .load()
            .namespaces
            .iter()
            .map(|ns| ns.len())
            .sum()
    }

    /// Every switch of the replica, with its key.
    pub(crate) fn replica_records(&self) -> Vec<Record> {
        let names: Vec<(usize, Arc<str>)> = self
            .lock_registry()
            .indices
            .iter()
            .map(|(ns, i)| (*i, ns.clone()))
            .collect();
        let snapshot = self.replica.load();
        let mut records = Vec::new();
        for (index, ns) in names {
            if let Some(namespace) = snapshot.namespace(index) {
                for (name, switch) in namespace.iter() {
                    records.push(Record {
                        key: key_of(&ns, name),
                        switch: Switch::clone(switch),
                    });
                }
            }
        }
        records
    }
}

/// The outcome of judging one input against a selective switch's rules.
enum Verdict {
    Abstain,
    Yes,
    No,
}

impl Manager {
    pub(crate) fn from_parts(
        storage: Box<dyn Storage>,
        autocreate: bool,
        sync: SyncStatus,
    ) -> Manager {
        let manager = Manager {
            shared: Arc::new(Shared {
                replica: ArcSwap::from_pointee(Snapshot::default()),
                apply_lock: Mutex::new(NamespaceRegistry::default()),
                storage,
                autocreate,
                signals: Signals::default(),
                overrides: Overrides::default(),
                sync: Mutex::new(sync),
                autocreator: Autocreator::new(),
                unreadable: Mutex::default(),
            }),
            namespace: Arc::from(""),
            namespace_index: 0,
            actor: Arc::from(DEFAULT_ACTOR),
        };
        manager.shared.lock_registry().index("");
        manager
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
        let mut status = self
            .shared
            .sync
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        status.unreadable = self
            .shared
            .unreadable
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len();
        status
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
        let unreadable: Vec<String> = self
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
        &self.shared.signals
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
        let full = key_of(&self.namespace, namespace);
        // Looked up, not registered: a handle on a namespace that holds
        // nothing (an admin request's `?namespace=`) leaves no trace; the
        // namespace gets its number when a switch is written in it.
        let namespace_index = self
            .shared
            .lock_registry()
            .indices
            .get(full.as_str())
            .copied()
            .unwrap_or(UNREGISTERED);
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
                    .filter(|e| e.key.starts_with(&prefix))
                    .take(limit)
                    .collect())
            }
        }
    }

    pub(crate) fn key(&self, name: &str) -> String {
        key_of(&self.namespace, name)
    }

    // ----- checks -------------------------------------------------------

    /// Whether `name` is active for the context's inputs followed by
    /// `inputs`. Unknown switches are off (and registered, disabled, with
    /// autocreate).
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let manager = gate::Manager::in_memory();
    /// manager.allow("beta", 42u64).await?;
    /// assert!(manager.active("beta", 42u64));
    /// assert!(manager.active("beta", "42"));
    /// assert!(!manager.active("beta", 7u64));
    /// # Ok::<_, gate::Error>(())
    /// # }).unwrap();
    /// ```
    #[inline]
    pub fn active(&self, name: &str, inputs: impl Inputs) -> bool {
        self.check(name, &inputs, false).unwrap_or(false)
    }

    /// Like [`active`](Self::active) but ignores the context: only `inputs`
    /// are judged.
    #[inline]
    pub fn active_exclusive(&self, name: &str, inputs: impl Inputs) -> bool {
        self.check(name, &inputs, true).unwrap_or(false)
    }

    /// Like [`active`](Self::active), but an unknown switch is an error.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when no switch is named `name` (even with
    /// autocreate, which registers it).
    pub fn try_active(&self, name: &str, inputs: impl Inputs) -> Result<bool, Error> {
        self.check(name, &inputs, false)
            .ok_or_else(|| Error::NotFound {
                name: name.to_owned(),
            })
    }

    /// The variant of `name` for the first input with an identity:
    /// `None` when the switch is off for the inputs, has no variants, or
    /// no input has an identity; else the index of the variant picked by
    /// `crc32(identity) % n` (or by cumulative weight when weighted).
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let manager = gate::Manager::in_memory();
    /// manager.register(gate::Switch::new("layout").state(gate::State::Global).variants(["a", "b", "c"])).await?;
    /// // crc32("443301") = 816037905, % 3 = 0
    /// assert_eq!(manager.variant("layout", "443301"), Some(0));
    /// # Ok::<_, gate::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn variant(&self, name: &str, inputs: impl Inputs) -> Option<usize> {
        if !self.check(name, &inputs, false)? {
            return None;
        }
        let snapshot = self.shared.replica.load();
        let switch = self.namespace_in(&snapshot)?.get(name)?;
        context::with_current(&mut |ctx| {
            let chain = Chain {
                first: ctx,
                then: &inputs,
            };
            let mut hash = None;
            let _ = chain.each(&mut |input| match input.identity() {
                Some(id) => {
                    hash = Some(id.with_text(|t| crate::bucket::crc32(t.as_bytes())));
                    ControlFlow::Break(())
                }
                None => ControlFlow::Continue(()),
            });
            switch.pick_variant(hash?)
        })
    }

    /// hanoi's check without a user: the switch exists and is not
    /// disabled (a kill-switch test). A selective switch at 0% is enabled
    /// but active for no one. Test overrides win.
    pub fn is_enabled(&self, name: &str) -> bool {
        if let Some(forced) = self.shared.overrides.get(&self.namespace, name) {
            return forced;
        }
        let snapshot = self.shared.replica.load();
        self.namespace_in(&snapshot)
            .and_then(|ns| ns.get(name))
            .is_some_and(|s| s.state != State::Disabled)
    }

    /// This handle's namespace in `snapshot`: by its number, or by its
    /// name when the handle was made before the namespace had one.
    #[inline]
    fn namespace_in<'s>(&self, snapshot: &'s Snapshot) -> Option<&'s Arc<Namespace>> {
        match snapshot.namespace(self.namespace_index) {
            // The hot path: UNREGISTERED is never a valid index.
            Some(namespace) => Some(namespace),
            None if self.namespace_index == UNREGISTERED => {
                let index = *snapshot.indices.get(&*self.namespace)?;
                snapshot.namespace(index)
            }
            None => None,
        }
    }

    /// `None` when the switch is unknown.
    #[inline]
    fn check(&self, name: &str, inputs: &dyn Inputs, exclusive: bool) -> Option<bool> {
        let snapshot = self.shared.replica.load();
        let namespace = self.namespace_in(&snapshot);
        let decided = self.decide(namespace, name, inputs, exclusive, &mut ());
        let signals = &self.shared.signals;
        match decided {
            None => {
                drop(snapshot);
                self.autocreate(name);
            }
            Some(active) => {
                signals
                    .switch_checked
                    .emit_with(|| self.checked_event(name, active));
                if active {
                    signals
                        .switch_active
                        .emit_with(|| self.checked_event(name, true));
                }
            }
        }
        decided
    }

    fn checked_event(&self, name: &str, active: bool) -> SwitchChecked {
        SwitchChecked {
            namespace: self.namespace.to_string(),
            switch: name.to_owned(),
            active,
        }
    }

    /// The decision for `name` (overrides, concent, state, rules), or
    /// `None` if the switch is unknown and not overridden. The context is
    /// only read when a selective switch needs inputs. `trace` sees every
    /// step ([`Manager::explain`] records them; checks pass `()`).
    fn decide<T: Trace>(
        &self,
        namespace: Option<&Arc<Namespace>>,
        name: &str,
        inputs: &dyn Inputs,
        exclusive: bool,
        trace: &mut T,
    ) -> Option<bool> {
        if let Some(forced) = self.shared.overrides.get(&self.namespace, name) {
            trace.settled(Settled::Override);
            return Some(forced);
        }
        let switch = namespace?.get(name)?;
        if switch.concent {
            if let Some(parent) = parent_of(name) {
                if self.decide(namespace, parent, inputs, exclusive, &mut ()) == Some(false) {
                    trace.settled(Settled::ParentOff(parent));
                    return Some(false);
                }
            }
        }
        Some(match switch.state {
            State::Disabled | State::Global => {
                trace.settled(Settled::State(switch.state));
                switch.state == State::Global
            }
            State::Selective => {
                trace.settled(Settled::Rules);
                if exclusive {
                    self.selective(
                        switch,
                        &Chain {
                            first: &[],
                            then: inputs,
                        },
                        trace,
                    )
                } else {
                    context::with_current(&mut |ctx| {
                        self.selective(
                            switch,
                            &Chain {
                                first: ctx,
                                then: inputs,
                            },
                            trace,
                        )
                    })
                }
            }
        })
    }

    fn selective<T: Trace>(&self, switch: &Switch, inputs: &Chain<'_>, trace: &mut T) -> bool {
        if !switch.users.is_empty() {
            let allowed = inputs.each(&mut |input| match input.identity() {
                Some(id) if id.with_text(|t| switch.users.contains(t)) => {
                    trace.allowed(&id);
                    ControlFlow::Break(())
                }
                _ => ControlFlow::Continue(()),
            });
            if allowed.is_break() {
                return true;
            }
        }
        if switch.conditions.is_empty() {
            return false;
        }
        let mut judged = false;
        let mut verdict = false;
        let _ = inputs.each(&mut |input| match self.judge(switch, input, trace) {
            Verdict::Abstain => ControlFlow::Continue(()),
            Verdict::Yes => {
                judged = true;
                verdict = true;
                if switch.compounded {
                    ControlFlow::Continue(())
                } else {
                    ControlFlow::Break(())
                }
            }
            Verdict::No => {
                judged = true;
                if switch.compounded {
                    verdict = false;
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            }
        });
        judged && verdict
    }

    /// Judges one input by the conditions that apply to it.
    fn judge<T: Trace>(&self, switch: &Switch, input: &dyn Arguments, trace: &mut T) -> Verdict {
        let kind = input.kind();
        let salt = switch.salt.as_deref();
        // The identity is read at most once, and only if a rule needs it.
        let mut identity = None;
        let mut applicable = false;
        for (index, condition) in switch.conditions.iter().enumerate() {
            let result = match &condition.argument {
                Argument::Kind(k) if k == kind => {
                    condition.judge_attribute(input.attribute(&condition.attribute), salt)
                }
                Argument::Kind(_) => continue,
                Argument::Identity => match identity.get_or_insert_with(|| input.identity()) {
                    Some(id) => condition.judge_identity(id, salt),
                    None => continue,
                },
            };
            applicable = true;
            trace.condition(index, condition, input, salt, &result);
            let held = result.unwrap_or_else(|error| {
                if T::SIGNALS {
                    self.condition_error(switch, condition, input, error);
                }
                false
            });
            match (switch.compounded, held) {
                (true, false) => return Verdict::No,
                (false, true) => return Verdict::Yes,
                _ => {}
            }
        }
        match (applicable, switch.compounded) {
            (false, _) => Verdict::Abstain,
            (true, true) => Verdict::Yes,
            (true, false) => Verdict::No,
        }
    }

    /// The decision [`active`](Self::active) takes for these inputs, and
    /// why: which override, parent (concent), state, allowed id or
    /// condition (with the input, value and bucket) settled it. Fires no
    /// signal and never registers an unknown switch.
    ///
    /// `explain(..).active` always equals `active(..)`: both run the same
    /// evaluation (except for `percent` conditions on a boolean value,
    /// which sample at random on every check, as gutter's do).
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use gate::explain::Reason;
    ///
    /// let manager = gate::Manager::in_memory();
    /// manager.allow("beta", "alice").await?;
    /// let why = manager.explain("beta", "alice");
    /// assert!(why.active);
    /// assert_eq!(why.reason, Reason::AllowedId { id: "alice".into() });
    /// assert_eq!(why.to_string(), r#"beta is on for these inputs: "alice" is in its allow-list"#);
    /// # Ok::<_, gate::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn explain(&self, name: &str, inputs: impl Inputs) -> Explanation {
        let snapshot = self.shared.replica.load();
        self.explain_in(self.namespace_in(&snapshot), name, &inputs, false)
    }

    /// Like [`explain`](Self::explain), ignoring the context, as
    /// [`active_exclusive`](Self::active_exclusive) does.
    pub fn explain_exclusive(&self, name: &str, inputs: impl Inputs) -> Explanation {
        let snapshot = self.shared.replica.load();
        self.explain_in(self.namespace_in(&snapshot), name, &inputs, true)
    }

    fn explain_in(
        &self,
        namespace: Option<&Arc<Namespace>>,
        name: &str,
        inputs: &dyn Inputs,
        exclusive: bool,
    ) -> Explanation {
        let mut recorder = explain::Recorder::default();
        let decided = self.decide(namespace, name, inputs, exclusive, &mut recorder);
        let active = decided.unwrap_or(false);
        let reason = match (decided, recorder.settled.take()) {
            (None, _) | (Some(_), None) => Reason::NotFound,
            (Some(_), Some((SettledBy::Override, _))) => Reason::Override,
            (Some(_), Some((SettledBy::ParentOff, parent))) => Reason::ParentOff {
                parent: Box::new(self.explain_in(namespace, &parent, inputs, exclusive)),
            },
            (Some(_), Some((SettledBy::State(state), _))) => {
                explain::state_reason(state).unwrap_or(Reason::NotFound)
            }
            (Some(_), Some((SettledBy::Rules, _))) => {
                let compounded = namespace
                    .and_then(|ns| ns.get(name))
                    .is_some_and(|s| s.compounded);
                let mut kinds = Vec::new();
                let mut collect = |ctx: &[SharedInput]| {
                    let chain = Chain {
                        first: if exclusive { &[] } else { ctx },
                        then: inputs,
                    };
                    let _ = chain.each(&mut |input| {
                        kinds.push(input.kind().to_owned());
                        ControlFlow::Continue(())
                    });
                };
                context::with_current(&mut collect);
                recorder.selective_reason(active, compounded, kinds)
            }
        };
        Explanation {
            switch: name.to_owned(),
            active,
            reason,
        }
    }

    #[cold]
    fn condition_error(
        &self,
        switch: &Switch,
        condition: &Condition,
        input: &dyn Arguments,
        error: crate::operator::ConditionError,
    ) {
        tracing::debug!(switch = %switch.name, %condition, kind = input.kind(), %error, "gate: condition could not be applied");
        self.shared
            .signals
            .condition_apply_error
            .emit_with(|| ConditionApplyError {
                namespace: self.namespace.to_string(),
                switch: switch.name.clone(),
                condition: condition.clone(),
                input_kind: input.kind().to_owned(),
                error,
            });
    }

    /// Asks for `name` to be registered, off the check path (see
    /// [`crate::autocreate`]): de-duplicated per name, bounded in total.
    #[inline]
    fn autocreate(&self, name: &str) {
        if self.shared.autocreate {
            self.shared
                .autocreator
                .request(&self.shared, &self.namespace, name);
        }
    }

    // ----- reads ----------------------------------------------------------

    /// A copy of the switch named `name`, as the replica holds it.
    pub fn switch(&self, name: &str) -> Option<Switch> {
        let snapshot = self.shared.replica.load();
        self.namespace_in(&snapshot)?
            .get(name)
            .map(|s| Switch::clone(s))
    }

    /// Every switch of this namespace, sorted by name.
    pub fn switches(&self) -> Vec<Switch> {
        let snapshot = self.shared.replica.load();
        let mut all: Vec<Switch> = self
            .namespace_in(&snapshot)
            .map(|ns| ns.values().map(|s| Switch::clone(s)).collect())
            .unwrap_or_default();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    // ----- writes -----------------------------------------------------------

    pub(crate) fn applied(&self, key: String, stored: Switch) {
        self.shared.applied(key, stored);
    }

    /// Registers a new switch and returns it as stored (version 1).
    ///
    /// # Errors
    ///
    /// A validation error (name, conditions, variants),
    /// [`Error::AlreadyExists`], or a storage error.
    pub async fn register(&self, switch: Switch) -> Result<Switch, Error> {
        switch.validate()?;
        let key = self.key(&switch.name);
        let stored = self
            .shared
            .storage
            .insert(&key, &self.actor, switch)
            .await?;
        self.applied(key, stored.clone());
        Ok(stored)
    }

    /// Stores `switch` if the stored one is still at `switch.version`
    /// (the version it was read at); returns the new switch.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`] when someone else changed it since it was read
    /// (nothing is written: read it again, or use [`modify`](Self::modify)),
    /// [`Error::NotFound`], a validation or storage error.
    pub async fn update(&self, switch: Switch) -> Result<Switch, Error> {
        switch.validate()?;
        let key = self.key(&switch.name);
        let (_, current) = self
            .shared
            .storage
            .update(&key, &self.actor, switch)
            .await?;
        self.applied(key, current.clone());
        Ok(current)
    }

    /// Reads the stored switch, lets `change` edit it, and writes it back,
    /// retrying from a fresh read when someone else wrote in between. No
    /// write happens if `change` leaves the switch as it was.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], a validation error of the edited switch (the
    /// name cannot be changed), a storage error, or [`Error::Conflict`]
    /// after many failed attempts.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let manager = gate::Manager::in_memory();
    /// manager.register(gate::Switch::new("beta")).await?;
    /// let beta = manager.modify("beta", |s| s.state = gate::State::Global).await?;
    /// assert_eq!(beta.version, 2);
    /// # Ok::<_, gate::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn modify(
        &self,
        name: &str,
        change: impl FnMut(&mut Switch),
    ) -> Result<Switch, Error> {
        self.read_modify_write(name, false, change).await
    }

    async fn read_modify_write(
        &self,
        name: &str,
        create: bool,
        mut change: impl FnMut(&mut Switch),
    ) -> Result<Switch, Error> {
        validate_name(name)?;
        let key = self.key(name);
        let mut last_error = None;
        for attempt in 0..MODIFY_ATTEMPTS {
            if last_error.is_some() {
                self.shared.storage.retry_pause(attempt).await;
            }
            let stored = self.shared.storage.get(&key).await?;
            let Some(current) = stored else {
                if !create {
                    return Err(Error::NotFound {
                        name: name.to_owned(),
                    });
                }
                let mut fresh = Switch::new(name).state(State::Selective);
                change(&mut fresh);
                fresh.name = name.to_owned();
                fresh.validate()?;
                match self.shared.storage.insert(&key, &self.actor, fresh).await {
                    Ok(stored) => {
                        self.applied(key, stored.clone());
                        return Ok(stored);
                    }
                    Err(e @ Error::AlreadyExists { .. }) => {
                        last_error = Some(e);
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            };
            let mut next = current.clone();
            change(&mut next);
            if next.name != current.name {
                return Err(Error::InvalidName {
                    name: next.name,
                    reason: "modify cannot rename a switch: register the new name and unregister the old"
                        .into(),
                });
            }
            next.version = current.version;
            if next == current {
                return Ok(current);
            }
            next.validate()?;
            // `current` was just read from the storage: it may skip
            // reading it again.
            let update = self
                .shared
                .storage
                .update_from(&key, &self.actor, current, next);
            match update.await {
                Ok((_, current)) => {
                    self.applied(key, current.clone());
                    return Ok(current);
                }
                Err(e @ (Error::Conflict { .. } | Error::NotFound { .. })) => last_error = Some(e),
                Err(e) => return Err(e),
            }
        }
        match last_error {
            Some(Error::NotFound { .. }) | None => Err(Error::NotFound {
                name: name.to_owned(),
            }),
            Some(_) => Err(Error::Contended {
                name: name.to_owned(),
                operation: "modify",
                attempts: MODIFY_ATTEMPTS,
            }),
        }
    }

    /// Removes `name` and all its descendants (`name:…`); returns what was
    /// removed (empty if nothing was there).
    ///
    /// # Errors
    ///
    /// A name or storage error.
    pub async fn unregister(&self, name: &str) -> Result<Vec<Switch>, Error> {
        validate_name(name)?;
        let removed = self
            .shared
            .storage
            .remove_tree(&self.key(name), &self.actor)
            .await?;
        // A removed record that could not be read is no longer a problem.
        self.shared
            .note_readable(|key| removed.iter().any(|r| r.key == key));
        self.shared.apply(
            removed
                .iter()
                .map(|r| Apply::Remove { key: r.key.clone() })
                .collect(),
            Origin::Local,
        );
        Ok(removed.into_iter().map(|r| r.switch).collect())
    }

    // ----- the rollout shortcuts ----------------------------------------
    //
    // Each is one atomic operation in the storage
    // (`Storage::apply_shortcut`): it applies to the switch as stored at
    // that moment, so two writers never conflict and none is lost, and
    // the replica is updated from what the write returns.

    /// Applies `shortcut` to `name` in the storage, and the result to the
    /// replica.
    async fn shortcut(&self, name: &str, shortcut: Shortcut) -> Result<Switch, Error> {
        validate_name(name)?;
        if shortcut.ids().is_none() {
            // The rule it adds (a regex, a percentage) is checked here,
            // before anything is written.
            shortcut.created(name).validate()?;
        }
        let key = self.key(name);
        // A record this node found unreadable (another tool broke it) is
        // refused, not changed blindly; a record in another form than
        // gate's is refused by the storage itself.
        if let Some(reason) = self.unreadable_reason(name) {
            return Err(Error::Unreadable { key, reason });
        }
        let known = self.shared.replica_switch(&key);
        let applied = self
            .shared
            .storage
            .apply_shortcut(&key, &self.actor, &shortcut, known.as_deref())
            .await?;
        if applied.exact {
            self.applied(key, applied.switch.clone());
        }
        Ok(applied.switch)
    }

    /// Makes the switch selective (its users and rules apply), creating it
    /// if needed.
    ///
    /// # Errors
    ///
    /// A name or storage error.
    pub async fn enable(&self, name: &str) -> Result<Switch, Error> {
        self.shortcut(name, Shortcut::State(State::Selective)).await
    }

    /// Makes the switch global (on for everybody), creating it if needed.
    ///
    /// # Errors
    ///
    /// A name or storage error.
    pub async fn enable_for_all(&self, name: &str) -> Result<Switch, Error> {
        self.shortcut(name, Shortcut::State(State::Global)).await
    }

    /// Disables the switch (rules are kept), creating it if needed.
    ///
    /// # Errors
    ///
    /// A name or storage error.
    pub async fn disable(&self, name: &str) -> Result<Switch, Error> {
        self.shortcut(name, Shortcut::State(State::Disabled)).await
    }

    /// Turns an enabled switch off, and a disabled one on: selective if it
    /// has users or conditions (so they apply again), else global. A new
    /// switch is created disabled and then toggled, so it becomes global.
    ///
    /// # Errors
    ///
    /// A name or storage error.
    pub async fn toggle(&self, name: &str) -> Result<Switch, Error> {
        self.shortcut(name, Shortcut::Toggle).await
    }

    /// Sets the identity percentage (`0..=100`): the identities whose
    /// bucket is below it are on. Replaces an earlier percentage; creates
    /// the switch (selective) if needed; leaves the state of an existing
    /// switch alone.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPercentage`] above 100, a name or storage error.
    pub async fn set_percentage(&self, name: &str, percentage: u32) -> Result<Switch, Error> {
        let p = Percentage::new(percentage)?;
        self.shortcut(name, Shortcut::Percentage(p)).await
    }

    /// Adds `id` to the allow-list (creating the switch, selective, if
    /// needed). On Redis this is one `SADD`, not a rewrite of the switch.
    /// For several ids use [`allow_all`](Self::allow_all): one write.
    ///
    /// # Errors
    ///
    /// A name or storage error.
    pub async fn allow(&self, name: &str, id: impl fmt::Display) -> Result<Switch, Error> {
        self.allow_all(name, [id]).await
    }

    /// Adds every id of `ids` to the allow-list in one write, with one
    /// audit entry (creating the switch, selective, if needed). Ids
    /// already there are left alone; if all are, nothing is written.
    ///
    /// # Errors
    ///
    /// A name or storage error.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let manager = gate::Manager::in_memory();
    /// let beta = manager.allow_all("beta", ["alice", "bob", "carol"]).await?;
    /// assert_eq!((beta.users.len(), beta.version), (3, 1));
    /// assert_eq!(manager.history(Some("beta"), 10).await?.len(), 1);
    /// # Ok::<_, gate::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn allow_all<I>(&self, name: &str, ids: I) -> Result<Switch, Error>
    where
        I: IntoIterator,
        I::Item: fmt::Display,
    {
        let ids = ids.into_iter().map(|id| id.to_string()).collect();
        self.shortcut(name, Shortcut::Allow(ids)).await
    }

    /// Removes `id` from the allow-list (creating the switch if needed).
    /// For several ids use [`disallow_all`](Self::disallow_all).
    ///
    /// # Errors
    ///
    /// A name or storage error.
    pub async fn disallow(&self, name: &str, id: impl fmt::Display) -> Result<Switch, Error> {
        self.disallow_all(name, [id]).await
    }

    /// Removes every id of `ids` from the allow-list in one write, with
    /// one audit entry (creating the switch if needed); nothing is written
    /// if none was there.
    ///
    /// # Errors
    ///
    /// A name or storage error.
    pub async fn disallow_all<I>(&self, name: &str, ids: I) -> Result<Switch, Error>
    where
        I: IntoIterator,
        I::Item: fmt::Display,
    {
        let ids = ids.into_iter().map(|id| id.to_string()).collect();
        self.shortcut(name, Shortcut::Disallow(ids)).await
    }

    /// Turns the switch on for identities matching `regex` (an identity
    /// `matches` condition; the same pattern is not added twice).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRegex`], a name or storage error.
    pub async fn allow_matching(&self, name: &str, regex: &str) -> Result<Switch, Error> {
        let condition = Condition::identity(Operator::matches(regex)?);
        self.shortcut(name, Shortcut::AddCondition(condition)).await
    }
}
