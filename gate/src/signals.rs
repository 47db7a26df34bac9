//! Signals: listeners called when switches change or are checked.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use crate::condition::Condition;
use crate::diff::SwitchDiff;
use crate::key::SwitchKey;
use crate::operator::ConditionError;
use crate::switch::Switch;

type Listener<E> = Arc<dyn Fn(&E) + Send + Sync>;

/// One signal: any number of listeners, connected and disconnected from
/// any thread. With no listener, firing it costs one relaxed atomic load.
///
/// A listener that panics is caught and logged; the check or write that
/// fired the signal carries on.
pub struct Signal<E> {
    listeners: ArcSwap<Vec<(u64, Listener<E>)>>,
    connected: AtomicBool,
    next_id: AtomicU64,
    writers: Mutex<()>,
}

/// Identifies a connected listener, to disconnect it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(u64);

impl<E> Default for Signal<E> {
    fn default() -> Self {
        Signal {
            listeners: ArcSwap::from_pointee(Vec::new()),
            connected: AtomicBool::new(false),
            next_id: AtomicU64::new(1),
            writers: Mutex::new(()),
        }
    }
}

impl<E> fmt::Debug for Signal<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal")
            .field("listeners", &self.listeners.load().len())
            .finish()
    }
}

impl<E> Signal<E> {
    /// Connects a listener; it is called after every event of this signal.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::sync::{Arc, Mutex};
    ///
    /// let manager = gate::Manager::in_memory();
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let log = seen.clone();
    /// manager.signals().switch_registered.connect(move |event| {
    ///     log.lock().unwrap().push(event.switch.name.clone());
    /// });
    /// manager.register(gate::Switch::new("beta")).await.unwrap();
    /// assert_eq!(*seen.lock().unwrap(), ["beta"]);
    /// # });
    /// ```
    pub fn connect(&self, listener: impl Fn(&E) + Send + Sync + 'static) -> ListenerId {
        let _writing = self.writers.lock().unwrap_or_else(|e| e.into_inner());
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut listeners = Vec::clone(&self.listeners.load());
        listeners.push((id, Arc::new(listener)));
        self.listeners.store(Arc::new(listeners));
        self.connected.store(true, Ordering::Release);
        ListenerId(id)
    }

    /// Disconnects a listener; returns whether it was connected.
    pub fn disconnect(&self, id: ListenerId) -> bool {
        let _writing = self.writers.lock().unwrap_or_else(|e| e.into_inner());
        let mut listeners = Vec::clone(&self.listeners.load());
        let before = listeners.len();
        listeners.retain(|(lid, _)| *lid != id.0);
        let removed = listeners.len() != before;
        self.connected
            .store(!listeners.is_empty(), Ordering::Release);
        self.listeners.store(Arc::new(listeners));
        removed
    }

    /// Whether any listener is connected.
    #[inline]
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// Calls the listeners with `event`.
    pub(crate) fn emit(&self, event: &E) {
        if !self.is_connected() {
            return;
        }
        for (_, listener) in self.listeners.load().iter() {
            if catch_unwind(AssertUnwindSafe(|| listener(event))).is_err() {
                tracing::error!("a gate signal listener panicked; the panic was caught");
            }
        }
    }

    /// Builds the event only when a listener is connected.
    #[inline]
    pub(crate) fn emit_with(&self, event: impl FnOnce() -> E) {
        if self.is_connected() {
            self.emit(&event());
        }
    }
}

/// Where a change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// A write made through this process's manager.
    Local,
    /// A change made by another process, received from the shared storage.
    Remote,
}

/// A switch was registered (created).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SwitchRegistered {
    /// The namespace (empty for the root).
    pub namespace: String,
    /// The switch as stored.
    pub switch: Arc<Switch>,
    /// Where the change came from.
    pub origin: Origin,
}

/// A switch was unregistered (deleted), by itself or with its ancestor.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SwitchUnregistered {
    /// The namespace (empty for the root).
    pub namespace: String,
    /// The switch as it was.
    pub switch: Arc<Switch>,
    /// Where the change came from.
    pub origin: Origin,
}

/// A switch was updated.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SwitchUpdated {
    /// The namespace (empty for the root).
    pub namespace: String,
    /// The switch before the write.
    pub previous: Arc<Switch>,
    /// The switch after the write.
    pub current: Arc<Switch>,
    /// Where the change came from.
    pub origin: Origin,
}

impl SwitchUpdated {
    /// What changed, field by field (computed on each call: the
    /// allow-list's change takes time in the size of the lists).
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::sync::{Arc, Mutex};
    /// use gate::State;
    ///
    /// let manager = gate::Manager::in_memory();
    /// manager.enable("beta").await?;
    /// let states = Arc::new(Mutex::new(Vec::new()));
    /// let seen = states.clone();
    /// manager.signals().switch_updated.connect(move |event| {
    ///     if let Some(state) = event.changes().state {
    ///         seen.lock().unwrap().push((state.previous, state.current));
    ///     }
    /// });
    /// manager.enable_for_all("beta").await?;
    /// assert_eq!(*states.lock().unwrap(), [(State::Selective, State::Global)]);
    /// # Ok::<_, gate::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn changes(&self) -> SwitchDiff {
        SwitchDiff::between(&self.previous, &self.current)
    }
}

/// A condition could not be evaluated; it counted as false.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConditionApplyError {
    /// The namespace (empty for the root).
    pub namespace: String,
    /// The switch's name.
    pub switch: String,
    /// The condition.
    pub condition: Condition,
    /// The kind of the input it was applied to.
    pub input_kind: String,
    /// Why it failed.
    pub error: ConditionError,
}

/// A switch was checked (also fired when it was found active).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SwitchChecked {
    /// The namespace (empty for the root).
    pub namespace: String,
    /// The switch's name.
    pub switch: String,
    /// The answer.
    pub active: bool,
}

/// A stored record could not be read (malformed JSON, an unknown
/// operator, …): it was skipped, and the replica keeps its last good copy.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RecordSkipped {
    /// The switch's key.
    pub key: SwitchKey,
    /// What was wrong with it.
    pub error: String,
}

/// The shared store was found to have lost its data (restarted without
/// persistence, flushed): the replica keeps its last state, and only
/// explicit deletes remove switches until the store is restored (`gate
/// restore --from <snapshot>`). Fired once per loss.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StoreDataLost {
    /// What was seen, as [`SyncStatus::data_loss`](crate::storage::SyncStatus::data_loss) says it.
    pub message: String,
    /// How many switches the replica keeps serving.
    pub switches: usize,
}

/// Every signal of a manager (shared by its namespaces).
///
/// Listeners of `switch_checked`, `switch_active` and
/// `condition_apply_error` run on the check path: keep them quick.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Signals {
    /// A switch was registered.
    pub switch_registered: Signal<SwitchRegistered>,
    /// A switch was unregistered.
    pub switch_unregistered: Signal<SwitchUnregistered>,
    /// A switch was updated, with its changes.
    pub switch_updated: Signal<SwitchUpdated>,
    /// A condition could not be evaluated.
    pub condition_apply_error: Signal<ConditionApplyError>,
    /// A switch was checked.
    pub switch_checked: Signal<SwitchChecked>,
    /// A switch was checked and found active.
    pub switch_active: Signal<SwitchChecked>,
    /// A stored record was malformed and skipped; fired once per distinct
    /// problem (key and error), again only if it changes, or after the
    /// record was readable and broke again.
    pub record_skipped: Signal<RecordSkipped>,
    /// The shared store lost its data; the replica keeps its last state.
    pub store_data_lost: Signal<StoreDataLost>,
}
