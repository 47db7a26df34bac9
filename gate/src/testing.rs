//! Test helpers: force switches on or off, record signals, and the storage
//! conformance suite.

use std::sync::{Arc, Mutex, Weak};

use crate::manager::{Manager, Shared};

/// Restores the real answer of an overridden switch when dropped.
///
/// Created by [`override_switch`].
#[must_use = "the override ends when the guard is dropped"]
pub struct OverrideGuard {
    shared: Weak<Shared>,
    id: u64,
}

impl std::fmt::Debug for OverrideGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OverrideGuard")
            .field("id", &self.id)
            .finish()
    }
}

impl OverrideGuard {
    /// Makes the override visible to every thread and task, not just the
    /// one that made it.
    pub fn everywhere(self) -> Self {
        if let Some(shared) = self.shared.upgrade() {
            shared.overrides.make_global(self.id);
        }
        self
    }
}

impl Drop for OverrideGuard {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.upgrade() {
            shared.overrides.remove(self.id);
        }
    }
}

/// Forces `name` on or off in `manager` (and its clones) until the guard
/// is dropped. Overrides win over everything else, including unknown
/// switches and a parent's concent.
///
/// The override is seen only by the thread that made it (so parallel
/// tests under `cargo test` do not see each other's; a `#[tokio::test]`
/// runs its tasks on the test's thread), unless made
/// [`everywhere`](OverrideGuard::everywhere). Nested overrides of the same
/// switch stack: the newest wins until dropped.
///
/// # Examples
///
/// ```
/// let manager = gate::Manager::in_memory();
/// {
///     let _on = gate::testing::override_switch(&manager, "cool_feature", true);
///     assert!(manager.active("cool_feature", "443301"));
/// }
/// assert!(!manager.active("cool_feature", "443301"));
/// ```
pub fn override_switch(manager: &Manager, name: &str, active: bool) -> OverrideGuard {
    let shared = manager.shared();
    let id = shared.overrides.add(manager.namespace(), name, active);
    OverrideGuard {
        shared: Arc::downgrade(shared),
        id,
    }
}

pub use crate::conformance::{conformance, StorageFixture};

/// A listener that records every event of a signal, for assertions.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use gate::testing::Recorder;
///
/// let manager = gate::Manager::in_memory();
/// let registered = Recorder::connect(&manager.signals().switch_registered);
/// manager.register(gate::Switch::new("beta")).await.unwrap();
/// assert_eq!(registered.events()[0].switch.name, "beta");
/// # });
/// ```
#[derive(Debug)]
pub struct Recorder<E> {
    events: Arc<Mutex<Vec<E>>>,
}

impl<E: Clone + Send + 'static> Recorder<E> {
    /// Connects a new recorder to `signal`.
    pub fn connect(signal: &crate::signals::Signal<E>) -> Self {
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        signal.connect(move |e: &E| {
            sink.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(e.clone())
        });
        Recorder { events }
    }

    /// The events recorded so far.
    pub fn events(&self) -> Vec<E> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Forgets the events recorded so far.
    pub fn clear(&self) {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}
