//! The replica: every switch of the storage, held in process so that a
//! check reads memory only.
//!
//! A [`Snapshot`] is immutable and swapped whole (`arc-swap`) on each
//! change, so a check takes no lock: it loads the current snapshot, finds
//! its namespace by number and the switch by name. Writers ([`Replica::apply`])
//! serialise on one lock, copy the namespaces they change (the others, and
//! every unchanged switch, are shared by reference with the previous
//! snapshot) and store the new snapshot.
//!
//! The replica never applies an older state over a newer one: a local
//! write's result replaces only an older version, and a full read of the
//! storage that began before a change ([`Replica::seq`]) does not undo it.
//!
//! - `follower.rs`: the follower, which applies a storage's change feed
//!   ([`Storage::watch`](crate::storage::Storage::watch)) to the replica,
//!   whatever the storage: sync status, data-loss mode, republishing;
//! - `snapshot_file.rs`: the snapshot file, written off the runtime's
//!   threads, debounced, and read at start-up and by `restore`.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use arc_swap::{ArcSwap, Guard};
use rustc_hash::FxHashMap;

use crate::key::SwitchKey;
use crate::signals::{Origin, Signals, SwitchRegistered, SwitchUnregistered, SwitchUpdated};
use crate::storage::{Record, SyncStatus};
use crate::switch::Switch;

mod follower;
pub(crate) mod snapshot_file;

pub(crate) use follower::{FollowOptions, Follower};

/// One switch of a snapshot, with what a check needs precomputed.
#[derive(Clone)]
pub(crate) struct Entry {
    /// The switch.
    pub(crate) switch: Arc<Switch>,
    /// The length of its parent's name (`a` of `a:b`), 0 if it has none:
    /// a check on a `concent` switch finds its parent without searching
    /// the name for `:`.
    parent_len: usize,
}

impl Entry {
    fn new(name: &str, switch: Arc<Switch>) -> Entry {
        Entry {
            switch,
            parent_len: name.rfind(':').unwrap_or(0),
        }
    }

    /// The parent's name, given this entry's own name.
    #[inline]
    pub(crate) fn parent<'n>(&self, name: &'n str) -> Option<&'n str> {
        match self.parent_len {
            0 => None,
            len => name.get(..len),
        }
    }
}

/// The switches of one namespace, by name.
pub(crate) type Namespace = hashbrown::HashMap<Arc<str>, Entry, rustc_hash::FxBuildHasher>;

/// A change the replica went through: key, before, after.
type ReplicaEvent = (SwitchKey, Option<Arc<Switch>>, Option<Arc<Switch>>);

/// An immutable view of every switch, swapped whole on each change.
/// Namespaces are indexed by the number the registry gave them, so a check
/// makes one hash lookup (the name), not two.
#[derive(Default, Clone)]
pub(crate) struct Snapshot {
    namespaces: Vec<Arc<Namespace>>,
    /// The registry's numbers, for handles made before their namespace
    /// had one (see [`Manager::namespaced`](crate::Manager::namespaced)).
    indices: Arc<FxHashMap<Arc<str>, usize>>,
}

/// The index of a handle whose namespace had no number when it was made.
pub(crate) const UNREGISTERED: usize = usize::MAX;

impl Snapshot {
    /// The namespace numbered `index` (by [`Replica::index_of`]), or for
    /// [`UNREGISTERED`], the one named `name`.
    #[inline]
    pub(crate) fn namespace(&self, index: usize, name: &str) -> Option<&Namespace> {
        match self.namespaces.get(index) {
            // The hot path: UNREGISTERED is never a valid index.
            Some(namespace) => Some(namespace),
            None if index == UNREGISTERED => {
                let index = *self.indices.get(name)?;
                self.namespaces.get(index).map(|ns| &**ns)
            }
            None => None,
        }
    }

    /// Takes the registry's numbers, if it gave new ones.
    fn sync_indices(&mut self, registry: &Registry) {
        if self.indices.len() != registry.indices.len() {
            self.indices = Arc::new(registry.indices.clone());
        }
    }

    /// Every switch, with its storage key, in no particular order.
    pub(crate) fn switches(&self) -> impl Iterator<Item = (SwitchKey, &Arc<Switch>)> {
        self.indices.iter().flat_map(move |(ns, &index)| {
            self.namespaces
                .get(index)
                .into_iter()
                .flat_map(move |namespace| {
                    namespace
                        .iter()
                        .map(move |(name, entry)| (SwitchKey::join(ns, name), &entry.switch))
                })
        })
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
struct Registry {
    indices: FxHashMap<Arc<str>, usize>,
    /// How many changes were applied so far.
    seq: u64,
    /// Storage key → `seq` of the last change applied to it.
    touched: FxHashMap<SwitchKey, u64>,
}

impl Registry {
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
        key: SwitchKey,
        switch: Switch,
        authoritative: bool,
    },
    /// Remove.
    Remove { key: SwitchKey },
}

/// The replica of one manager (shared by its namespaces and clones).
pub(crate) struct Replica {
    /// Tells this replica apart in the threads' caches ([`Replica::read`]).
    id: u64,
    /// Counts the snapshots stored: a thread's cached copy is current while
    /// its generation is this one.
    generation: AtomicU64,
    snapshot: ArcSwap<Snapshot>,
    registry: Mutex<Registry>,
    /// How the replica stands with its storage.
    sync: Mutex<SyncStatus>,
    /// Storage key → why its record cannot be read, for the records the
    /// last reads skipped (each reported once).
    unreadable: Mutex<BTreeMap<SwitchKey, String>>,
    /// The signals of the manager: each change of the replica fires
    /// `switch_registered`, `switch_updated` or `switch_unregistered`.
    pub(crate) signals: Signals,
    /// What the storage's change feed sees of the follower, if one
    /// follows: kept as long as the replica, so that the feed (which holds
    /// it weakly) ends when the replica goes.
    watch: OnceLock<Arc<follower::Watch>>,
}

/// A thread's copy of a replica's current snapshot.
struct Cached {
    replica: u64,
    generation: u64,
    snapshot: Arc<Snapshot>,
}

/// How many replicas a thread keeps a copy for (usually one manager per
/// process; tests make many).
const CACHED: usize = 4;

thread_local! {
    /// Each thread's copies of the snapshots it checked last. A copy keeps
    /// its snapshot alive until the thread's next check of that replica
    /// (or until the thread ends): a switch replaced meanwhile is freed
    /// later than it would be, never read after a newer one.
    static CACHE: RefCell<[Option<Cached>; CACHED]> = const { RefCell::new([const { None }; CACHED]) };
}

/// Gives every replica its own id.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Replica {
    /// An empty replica whose storage stands as `sync` says.
    pub(crate) fn new(sync: SyncStatus) -> Replica {
        let replica = Replica {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            generation: AtomicU64::new(0),
            snapshot: ArcSwap::from_pointee(Snapshot::default()),
            registry: Mutex::default(),
            sync: Mutex::new(sync),
            unreadable: Mutex::default(),
            signals: Signals::default(),
            watch: OnceLock::new(),
        };
        // The root namespace is number 0.
        lock(&replica.registry).index("");
        replica
    }

    /// Whether a snapshot was ever published (the storage read, or a
    /// write applied): before, every name is unknown.
    pub(crate) fn loaded(&self) -> bool {
        self.generation.load(Ordering::Relaxed) > 0
    }

    /// The current snapshot.
    pub(crate) fn load(&self) -> Guard<Arc<Snapshot>> {
        self.snapshot.load()
    }

    /// The current snapshot, to keep (the snapshot file's writer does).
    pub(crate) fn current(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// Calls `f` with the current snapshot: what a check does. No lock and
    /// no atomic read-modify-write: the thread's own copy is used while the
    /// generation it was taken at is current (one atomic load), and
    /// refreshed from the `ArcSwap` otherwise. A check made from inside
    /// another (an input's `attribute` checking a switch) reads the
    /// `ArcSwap` directly.
    #[inline]
    pub(crate) fn read<R>(&self, mut f: impl FnMut(&Snapshot) -> R) -> R {
        let generation = self.generation.load(Ordering::Acquire);
        let cached = CACHE.try_with(|cache| {
            let slots = cache.try_borrow().ok()?;
            let slot = slots.iter().flatten().find(|c| c.replica == self.id)?;
            (slot.generation == generation).then(|| f(&slot.snapshot))
        });
        match cached {
            Ok(Some(answer)) => answer,
            _ => self.read_fresh(generation, f),
        }
    }

    /// [`read`](Self::read) when the thread's copy is missing or stale.
    #[cold]
    fn read_fresh<R>(&self, generation: u64, mut f: impl FnMut(&Snapshot) -> R) -> R {
        // Stored before the generation moved on, so at least as new as it.
        let snapshot = self.snapshot.load_full();
        let _ = CACHE.try_with(|cache| {
            if let Ok(mut slots) = cache.try_borrow_mut() {
                let index = slots
                    .iter()
                    .position(|c| c.as_ref().is_some_and(|c| c.replica == self.id))
                    .or_else(|| slots.iter().position(Option::is_none))
                    .unwrap_or(self.id as usize % CACHED);
                slots[index] = Some(Cached {
                    replica: self.id,
                    generation,
                    snapshot: snapshot.clone(),
                });
            }
        });
        f(&snapshot)
    }

    /// Stores a new snapshot and moves the generation on, so that every
    /// thread's next check takes it.
    fn publish(&self, snapshot: Snapshot) {
        self.snapshot.store(Arc::new(snapshot));
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// The number of `namespace`, or [`UNREGISTERED`] if it has none yet.
    pub(crate) fn index_of(&self, namespace: &str) -> usize {
        lock(&self.registry)
            .indices
            .get(namespace)
            .copied()
            .unwrap_or(UNREGISTERED)
    }

    /// How the replica stands with its storage (`unreadable` counted).
    pub(crate) fn status(&self) -> SyncStatus {
        let mut status = lock(&self.sync).clone();
        status.unreadable = lock(&self.unreadable).len();
        status
    }

    /// Changes how the replica stands with its storage.
    pub(crate) fn set_sync(&self, change: impl FnOnce(&mut SyncStatus)) {
        change(&mut lock(&self.sync));
    }

    /// Notes that the record at `key` cannot be read; true if this is
    /// news (the key was readable, or failed differently), to report.
    pub(crate) fn note_unreadable(&self, key: &SwitchKey, error: &str) -> bool {
        let mut unreadable = lock(&self.unreadable);
        if unreadable.get(key).is_some_and(|known| known == error) {
            return false;
        }
        unreadable.insert(key.clone(), error.to_owned());
        true
    }

    /// Forgets the problems of the keys for which `readable` holds (read
    /// fine, or gone), so that a later one is reported again.
    pub(crate) fn note_readable(&self, mut readable: impl FnMut(&SwitchKey) -> bool) {
        lock(&self.unreadable).retain(|key, _| !readable(key));
    }

    /// The unreadable records, by key.
    pub(crate) fn unreadable(&self) -> Vec<(SwitchKey, String)> {
        lock(&self.unreadable)
            .iter()
            .map(|(k, e)| (k.clone(), e.clone()))
            .collect()
    }

    /// Replaces everything with `records`, firing no signal (the first
    /// load).
    pub(crate) fn replace_all(&self, records: Vec<Record>) {
        let mut registry = lock(&self.registry);
        let mut snapshot = Snapshot::default();
        for Record { key, switch } in records {
            let (ns, name) = (key.namespace(), key.name());
            snapshot
                .namespace_mut(registry.index(ns))
                .insert(Arc::from(name), Entry::new(name, Arc::new(switch)));
        }
        snapshot.sync_indices(&registry);
        self.publish(snapshot);
    }

    /// Makes the replica equal to `records`, the whole storage as read by a
    /// read that began at `since`: upserts them, and removes the switches
    /// that are neither among them nor in `present` (keys the read saw but
    /// could not parse, whose last good copy is kept).
    pub(crate) fn sync_to(&self, records: Vec<Record>, present: &[SwitchKey], since: u64) {
        let mut seen: HashSet<SwitchKey> = records.iter().map(|r| r.key.clone()).collect();
        seen.extend(present.iter().cloned());
        let mut changes: Vec<Apply> = records
            .into_iter()
            .map(|Record { key, switch }| Apply::Upsert {
                key,
                switch,
                authoritative: true,
            })
            .collect();
        for record in self.records() {
            if !seen.contains(&record.key) {
                changes.push(Apply::Remove { key: record.key });
            }
        }
        self.apply_since(changes, Origin::Remote, Some(since));
    }

    /// The number of changes applied so far: pass it to
    /// [`apply_since`](Self::apply_since) for what a read begun now returns.
    pub(crate) fn seq(&self) -> u64 {
        lock(&self.registry).seq
    }

    /// Applies changes, then fires the signals of those that changed the
    /// replica (registered, updated or unregistered).
    pub(crate) fn apply(&self, changes: Vec<Apply>, origin: Origin) {
        self.apply_since(changes, origin, None);
    }

    /// Like [`apply`](Self::apply), for changes read from the storage by a
    /// read that began at `since` (from [`seq`](Self::seq)): a key changed
    /// after that is left alone, since the read may predate its change.
    pub(crate) fn apply_since(&self, changes: Vec<Apply>, origin: Origin, since: Option<u64>) {
        let mut events: Vec<ReplicaEvent> = Vec::new();
        {
            let mut registry = lock(&self.registry);
            let mut snapshot = Snapshot::clone(&self.snapshot.load());
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
                let (ns, name) = (key.namespace(), key.name());
                let namespace = snapshot.namespace_mut(registry.index(ns));
                let previous = namespace.get(name).map(|e| e.switch.clone());
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
                            namespace.insert(Arc::from(name), Entry::new(name, current.clone()));
                            events.push((key, previous, Some(current)));
                        }
                    }
                    Apply::Remove { .. } => {
                        if let Some(removed) = namespace.remove(name) {
                            events.push((key, Some(removed.switch), None));
                        }
                    }
                }
            }
            snapshot.sync_indices(&registry);
            self.publish(snapshot);
        }
        let signals = &self.signals;
        for (key, previous, current) in events {
            let namespace = key.namespace().to_owned();
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
        let Some(index) = lock(&self.registry).indices.get(namespace).copied() else {
            return false;
        };
        let snapshot = self.snapshot.load();
        snapshot.namespace(index, namespace).is_some_and(|ns| {
            ns.keys().any(|k| {
                k.len() > name.len() && k.starts_with(name) && k.as_bytes()[name.len()] == b':'
            })
        })
    }

    /// The replica's copy of the switch at `key`.
    pub(crate) fn switch(&self, key: &SwitchKey) -> Option<Arc<Switch>> {
        let (ns, name) = (key.namespace(), key.name());
        let index = *lock(&self.registry).indices.get(ns)?;
        self.snapshot
            .load()
            .namespace(index, ns)?
            .get(name)
            .map(|e| e.switch.clone())
    }

    /// How many switches the replica holds.
    pub(crate) fn len(&self) -> usize {
        self.snapshot
            .load()
            .namespaces
            .iter()
            .map(|ns| ns.len())
            .sum()
    }

    /// Every switch of the replica, with its key.
    pub(crate) fn records(&self) -> Vec<Record> {
        let names: Vec<(usize, Arc<str>)> = lock(&self.registry)
            .indices
            .iter()
            .map(|(ns, i)| (*i, ns.clone()))
            .collect();
        let snapshot = self.snapshot.load();
        let mut records = Vec::new();
        for (index, ns) in names {
            if let Some(namespace) = snapshot.namespace(index, &ns) {
                for (name, entry) in namespace.iter() {
                    records.push(Record {
                        key: SwitchKey::join(&ns, name),
                        switch: Switch::clone(&entry.switch),
                    });
                }
            }
        }
        records
    }
}
