//! A timed-out call marks the follower's sync status disconnected; the
//! next answer clears that mark.

use std::sync::{Mutex, OnceLock, Weak};

use crate::storage::Watcher;

/// Lets the storage mark its follower's sync status when Redis stops
/// answering (a timed-out call), and clear that mark at the next answer.
#[derive(Default)]
pub(super) struct StatusLink {
    watcher: OnceLock<Weak<dyn Watcher>>,
    /// The `last_error` this link set, while it stands.
    marked: Mutex<Option<String>>,
}

impl StatusLink {
    pub(super) fn attach(&self, watcher: Weak<dyn Watcher>) {
        let _ = self.watcher.set(watcher);
    }

    fn marked(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.marked.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Redis did not answer in time: the manager is not connected.
    pub(super) fn hung(&self, error: &str) {
        let Some(watcher) = self.watcher.get().and_then(Weak::upgrade) else {
            return;
        };
        let mut marked = self.marked();
        watcher.update_status(&mut |s| {
            // The first error says most; one already disconnected stays so.
            if s.connected {
                tracing::warn!(%error, "gate: Redis does not answer; checks answer from the last known switches");
                s.connected = false;
                s.last_error = Some(error.to_owned());
                *marked = Some(error.to_owned());
            }
        });
    }

    /// Redis answered: clears the mark, unless something else (the change
    /// feed) changed the status since.
    pub(super) fn answered(&self) {
        let mut marked = self.marked();
        let Some(error) = marked.take() else {
            return;
        };
        if let Some(watcher) = self.watcher.get().and_then(Weak::upgrade) {
            watcher.update_status(&mut |s| {
                if !s.connected && s.last_error.as_deref() == Some(error.as_str()) {
                    s.connected = true;
                    s.last_error = None;
                }
            });
        }
    }
}
