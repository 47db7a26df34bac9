//! Test overrides: the answers [`override_switch`](crate::testing::override_switch)
//! forces, consulted first by every check. With none set, a check pays one
//! atomic load for them.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread::ThreadId;

struct Entry {
    id: u64,
    namespace: String,
    name: String,
    active: bool,
    owner: Option<ThreadId>,
}

/// The overrides of one manager.
#[derive(Default)]
pub(crate) struct Overrides {
    count: AtomicUsize,
    next_id: AtomicU64,
    entries: Mutex<Vec<Entry>>,
}

impl Overrides {
    /// The forced answer for `namespace`/`name` as this thread sees it.
    #[inline]
    pub(crate) fn get(&self, namespace: &str, name: &str) -> Option<bool> {
        if self.count.load(Ordering::Acquire) == 0 {
            return None;
        }
        self.lookup(namespace, name)
    }

    #[cold]
    fn lookup(&self, namespace: &str, name: &str) -> Option<bool> {
        let me = std::thread::current().id();
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        // The newest matching override wins; this thread's own before
        // everywhere ones.
        let mine = entries
            .iter()
            .rev()
            .find(|e| e.owner == Some(me) && e.namespace == namespace && e.name == name);
        mine.or_else(|| {
            entries
                .iter()
                .rev()
                .find(|e| e.owner.is_none() && e.namespace == namespace && e.name == name)
        })
        .map(|e| e.active)
    }

    pub(crate) fn add(&self, namespace: &str, name: &str, active: bool) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.push(Entry {
            id,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            active,
            owner: Some(std::thread::current().id()),
        });
        self.count.store(entries.len(), Ordering::Release);
        id
    }

    pub(crate) fn make_global(&self, id: u64) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = entries.iter_mut().find(|e| e.id == id) {
            e.owner = None;
        }
    }

    pub(crate) fn remove(&self, id: u64) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|e| e.id != id);
        self.count.store(entries.len(), Ordering::Release);
    }
}
