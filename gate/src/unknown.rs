//! Checks of names that are not switches: a misspelt name, or a switch
//! never created, answers "off" — so each one is logged, once per name,
//! and counted ([`Manager::unknown_checks`](crate::Manager::unknown_checks),
//! [`Manager::unknown_names`](crate::Manager::unknown_names)).
//!
//! Off the hot path (known switches never come here), and cheap on it: a
//! name already logged costs one hash, two atomic loads and a relaxed
//! increment; only a name not seen before takes the lock.

use std::collections::BTreeSet;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use rustc_hash::FxBuildHasher;

/// Slots of the lossy table of names already logged (a power of two).
const SLOTS: usize = 4096;
/// Names remembered (and logged) at most; past that, one more warning.
const MAX_NAMES: usize = crate::limits::MAX_UNKNOWN_NAMES;

/// The unknown names checked through one manager (and its namespaces).
pub(crate) struct Unknown {
    /// Checks of unknown names, in all.
    checks: AtomicU64,
    /// Lossy: a logged name's hash sits in its slot. A hit answers at
    /// once; a miss (or a collision) takes the lock, which is exact.
    logged: Box<[AtomicU64]>,
    /// The names logged, `namespace.name` (sorted, so listing them is
    /// stable).
    names: Mutex<BTreeSet<String>>,
    /// Whether [`MAX_NAMES`] was reached (and said).
    full: AtomicBool,
}

impl Default for Unknown {
    fn default() -> Self {
        Unknown {
            checks: AtomicU64::new(0),
            logged: (0..SLOTS).map(|_| AtomicU64::new(0)).collect(),
            names: Mutex::new(BTreeSet::new()),
            full: AtomicBool::new(false),
        }
    }
}

impl Unknown {
    /// Counts a check of `name` in `namespace`, which is not a switch, and
    /// logs a warning the first time this name is seen once the replica
    /// `loaded` (before, every name is unknown and nothing is logged).
    /// `registered`: autocreate is on, so the name is being registered
    /// (disabled) rather than simply answered "off".
    #[cold]
    pub(crate) fn note(&self, namespace: &str, name: &str, loaded: bool, registered: bool) {
        self.checks.fetch_add(1, Ordering::Relaxed);
        if !loaded {
            return;
        }
        let hash = hash_of(namespace, name) | 1;
        // Two slots a name may sit in, so that two names sharing one do
        // not take the lock on every check in turn.
        let slots = [
            &self.logged[(hash as usize) & (SLOTS - 1)],
            &self.logged[((hash >> 32) as usize) & (SLOTS - 1)],
        ];
        if slots.iter().any(|s| s.load(Ordering::Relaxed) == hash) {
            return;
        }
        self.first_seen(namespace, name, registered);
        let free = slots
            .iter()
            .find(|s| s.load(Ordering::Relaxed) == 0)
            .unwrap_or(&slots[0]);
        free.store(hash, Ordering::Relaxed);
    }

    /// Logs `name` (once) and remembers it, unless already known; past
    /// [`MAX_NAMES`] names, logs that once and remembers no more.
    #[cold]
    #[inline(never)]
    fn first_seen(&self, namespace: &str, name: &str, registered: bool) {
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        let known = if namespace.is_empty() {
            names.contains(name)
        } else {
            names.contains(&format!("{namespace}.{name}"))
        };
        if known {
            return;
        }
        match names.len() {
            n if n < MAX_NAMES => {
                if registered {
                    tracing::warn!(switch = %name, namespace, "gate: checked a switch that does not exist; autocreate registers it, disabled (off for everyone until it is turned on)");
                } else {
                    tracing::warn!(switch = %name, namespace, "gate: checked a switch that does not exist; it is off (a misspelt name, or a switch never created?)");
                }
                names.insert(if namespace.is_empty() {
                    name.to_owned()
                } else {
                    format!("{namespace}.{name}")
                });
            }
            _ if !self.full.swap(true, Ordering::Relaxed) => {
                tracing::warn!(
                    limit = MAX_NAMES,
                    "gate: more unknown switch names were checked; they are counted, no longer logged"
                );
            }
            _ => {}
        }
    }

    /// Checks of unknown names so far.
    pub(crate) fn checks(&self) -> u64 {
        self.checks.load(Ordering::Relaxed)
    }

    /// The unknown names logged so far, `namespace.name`, sorted.
    pub(crate) fn names(&self) -> Vec<String> {
        let names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        names.iter().cloned().collect()
    }
}

fn hash_of(namespace: &str, name: &str) -> u64 {
    let mut h = FxBuildHasher.build_hasher();
    namespace.hash(&mut h);
    name.hash(&mut h);
    h.finish()
}
