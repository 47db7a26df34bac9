//! Autocreate: registering unknown switches when they are first checked,
//! off the check path, de-duplicated and bounded.
//!
//! A check of an unknown name costs one hash and one atomic load once the
//! name is queued: the [`Autocreator`] keeps a small lossy table of the
//! names it queued recently, and only a miss in that table takes its lock.
//! One worker task (on the runtime the manager was built on) drains the
//! queue; while the storage fails it keeps the names and retries with a
//! growing pause. No check ever spawns a thread or a runtime: without a
//! runtime to run on, at most one worker thread exists at a time.
//!
//! A name that has descendants in the replica is never autocreated:
//! registering `payments` disabled would turn `payments:new_flow` off
//! for everybody through its parent's consent, so checking one name would
//! change another switch's answer.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::error::Error;
use crate::key::SwitchKey;
use crate::manager::Shared;
use crate::switch::{validate_name, Switch};

/// Slots of the table of recently queued names (a power of two).
const SLOTS: usize = 4096;
/// Names waiting to be registered, at most; more are dropped (and asked
/// for again by a later check once the queue has drained).
pub(crate) const MAX_PENDING: usize = 4096;
/// The first pause after the storage failed; it doubles up to the last.
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const LAST_PAUSE: Duration = Duration::from_secs(30);

pub(crate) struct Autocreator {
    /// Lossy: a name's hash sits in one of its two slots (`hash % SLOTS`
    /// or `(hash >> 32) % SLOTS`) once it was queued (or refused) since
    /// the queue last drained. A hit answers at once; a miss (or a
    /// collision) takes the lock, which de-duplicates exactly.
    recent: Box<[AtomicU64]>,
    queue: Mutex<Queue>,
    /// Where the worker runs: the runtime the manager was built on.
    runtime: Option<tokio::runtime::Handle>,
    /// Whether the queue overflowed since it last drained (warned once).
    overflowed: AtomicBool,
}

impl Queue {
    fn remove(&mut self, hash: u64, key: &SwitchKey) {
        if let Some(keys) = self.pending.get_mut(&hash) {
            let before = keys.len();
            keys.retain(|k| k != key);
            self.len -= before - keys.len();
            if keys.is_empty() {
                self.pending.remove(&hash);
            }
        }
    }
}

#[derive(Default)]
struct Queue {
    /// Hash → storage keys of the names waiting (drained in key order).
    pending: BTreeMap<u64, Vec<SwitchKey>>,
    /// How many keys `pending` holds.
    len: usize,
    /// Whether a worker is draining `pending`.
    working: bool,
}

impl std::fmt::Debug for Autocreator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Autocreator")
            .field("pending", &self.lock().len)
            .finish_non_exhaustive()
    }
}

impl Autocreator {
    /// Captures the current tokio runtime, if any, to run the worker on.
    pub(crate) fn new() -> Self {
        Autocreator {
            recent: (0..SLOTS).map(|_| AtomicU64::new(0)).collect(),
            queue: Mutex::new(Queue::default()),
            runtime: tokio::runtime::Handle::try_current().ok(),
            overflowed: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks for `name` (in `namespace`) to be registered. Cheap and
    /// allocation-free when it was asked for already.
    #[inline]
    pub(crate) fn request(&self, shared: &Arc<Shared>, namespace: &str, name: &str) {
        let hash = fingerprint(namespace, name);
        let first = &self.recent[hash as usize % SLOTS];
        if first.load(Ordering::Relaxed) == hash {
            return;
        }
        let second = &self.recent[(hash >> 32) as usize % SLOTS];
        if second.load(Ordering::Relaxed) == hash {
            return;
        }
        // An empty slot if there is one, else evict the second's name.
        let slot = if first.load(Ordering::Relaxed) == 0 {
            first
        } else {
            second
        };
        self.request_slow(shared, namespace, name, slot, hash);
    }

    #[cold]
    #[inline(never)]
    fn request_slow(
        &self,
        shared: &Arc<Shared>,
        namespace: &str,
        name: &str,
        slot: &AtomicU64,
        hash: u64,
    ) {
        // Whatever happens below, later checks of this name are cheap.
        slot.store(hash, Ordering::Relaxed);
        // Already waiting (its slot was taken by another name): nothing
        // to do, and nothing allocated to find out.
        if self.lock().pending.get(&hash).is_some_and(|keys| {
            keys.iter()
                .any(|k| k.namespace() == namespace && k.name() == name)
        }) {
            return;
        }
        if validate_name(name).is_err() || shared.has_descendants(namespace, name) {
            return;
        }
        let key = SwitchKey::join(namespace, name);
        // A storage that answers at once (memory) registers it right here.
        if let Some(result) = shared
            .storage
            .immediate()
            .and_then(|now| now.insert_now(&key, crate::AUTOCREATE_ACTOR, Switch::new(name)))
        {
            match result {
                Ok(stored) => shared.applied(key, stored),
                Err(Error::AlreadyExists { .. }) => {}
                Err(e) => tracing::warn!(error = %e, switch = %key, "gate: autocreate failed"),
            }
            slot.store(0, Ordering::Relaxed);
            return;
        }
        let start = {
            let mut queue = self.lock();
            if queue.len >= MAX_PENDING {
                if !self.overflowed.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        pending = queue.len,
                        "gate: too many switches waiting to be autocreated; more are asked for again once these are registered"
                    );
                }
                return;
            }
            let keys = queue.pending.entry(hash).or_default();
            if keys.contains(&key) {
                return;
            }
            keys.push(key);
            queue.len += 1;
            !std::mem::replace(&mut queue.working, true)
        };
        if start {
            self.start_worker(Arc::downgrade(shared));
        }
    }

    fn start_worker(&self, shared: Weak<Shared>) {
        let work = drain(shared);
        if let Some(runtime) = &self.runtime {
            runtime.spawn(work);
            return;
        }
        // Else the current runtime, or one thread, which exits once the
        // queue has drained (`working` makes sure there is never a second).
        if !crate::manager::spawn_write(work) {
            self.lock().working = false;
        }
    }

    /// Forgets the names seen, so that a later check asks again.
    fn forget_recent(&self) {
        for slot in self.recent.iter() {
            slot.store(0, Ordering::Relaxed);
        }
        self.overflowed.store(false, Ordering::Relaxed);
    }
}

/// A non-zero hash of a namespace and a name.
#[inline]
fn fingerprint(namespace: &str, name: &str) -> u64 {
    let mut hasher = rustc_hash::FxHasher::default();
    namespace.hash(&mut hasher);
    name.hash(&mut hasher);
    hasher.finish() | 1
}

/// The worker: registers the pending names, in key order, until none is
/// left; while the storage fails it pauses, longer each time.
async fn drain(weak: Weak<Shared>) {
    let mut pause = FIRST_PAUSE;
    let mut failing = false;
    loop {
        let Some(shared) = weak.upgrade() else {
            return;
        };
        let creator = &shared.autocreator;
        let batch: Vec<(u64, SwitchKey)> = {
            let mut queue = creator.lock();
            if queue.len == 0 {
                queue.working = false;
                drop(queue);
                creator.forget_recent();
                if failing {
                    tracing::info!("gate: autocreate works again");
                }
                return;
            }
            queue
                .pending
                .iter()
                .flat_map(|(&hash, keys)| keys.iter().map(move |k| (hash, k.clone())))
                .collect()
        };
        // In key order, whatever the hashes.
        let mut batch = batch;
        batch.sort_unstable_by(|a, b| a.1.cmp(&b.1));
        let mut error = None;
        for (hash, key) in batch {
            let (namespace, name) = (key.namespace(), key.name());
            let done = if shared.replica_switch(&key).is_some()
                || shared.has_descendants(namespace, name)
            {
                true
            } else {
                let switch = Switch::new(name);
                match shared
                    .storage
                    .insert(&key, crate::AUTOCREATE_ACTOR, switch)
                    .await
                {
                    Ok(stored) => {
                        shared.applied(key.clone(), stored);
                        true
                    }
                    // Someone else registered it: read it, so that the
                    // replica has it before the next check asks again.
                    Err(Error::AlreadyExists { .. }) => {
                        if let Ok(Some(stored)) = shared.storage.get(&key).await {
                            shared.applied(key.clone(), stored);
                        }
                        true
                    }
                    Err(e) => {
                        error = Some(e);
                        false
                    }
                }
            };
            if done {
                creator.lock().remove(hash, &key);
            } else {
                break;
            }
        }
        drop(shared);
        match error {
            Some(e) => {
                if !failing {
                    tracing::warn!(error = %e, "gate: autocreate failed; retrying while the storage fails");
                }
                failing = true;
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(LAST_PAUSE);
            }
            None => pause = FIRST_PAUSE,
        }
    }
}
