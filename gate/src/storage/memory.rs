use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::{
    AppliedShortcut, BatchWrite, BoxFuture, ImmediateStorage, Record, Shortcut, ShortcutRequest,
    Storage,
};
use crate::error::Error;
use crate::history::{self, HistoryEntry, DEFAULT_HISTORY_CAPACITY};
use crate::key::SwitchKey;
use crate::switch::Switch;

/// Switches kept in this process only: nothing to start, nothing shared.
///
/// # Examples
///
/// ```
/// let manager = gate::Manager::builder()
///     .storage(gate::MemoryStorage::new())
///     .autocreate(true)
///     .build();
/// assert!(!manager.active("new_feature", "443301"));
/// assert!(manager.switch("new_feature").is_some());
/// ```
#[derive(Debug, Default)]
pub struct MemoryStorage {
    book: Mutex<Book>,
}

/// Switches by storage key and their audit trail: the state of the memory
/// storage, and of the file store's file. Every operation is all or
/// nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Book {
    /// Switches by storage key.
    #[serde(default)]
    pub(crate) switches: BTreeMap<SwitchKey, Switch>,
    /// The audit trail, oldest first.
    #[serde(default)]
    pub(crate) history: Vec<HistoryEntry>,
}

impl Book {
    pub(crate) fn insert(
        &mut self,
        key: &SwitchKey,
        actor: &str,
        mut switch: Switch,
    ) -> Result<Switch, Error> {
        // The last line of defence: a switch the rules refuse is never
        // stored, even when the storage is used directly.
        switch.validate()?;
        if self.switches.contains_key(key) {
            return Err(Error::AlreadyExists {
                name: key.name().to_owned(),
            });
        }
        switch.version = 1;
        self.switches.insert(key.clone(), switch.clone());
        self.record(HistoryEntry::registered(actor, key, &switch));
        Ok(switch)
    }

    pub(crate) fn update(
        &mut self,
        key: &SwitchKey,
        actor: &str,
        mut switch: Switch,
    ) -> Result<(Switch, Switch), Error> {
        switch.validate()?;
        let Some(stored) = self.switches.get_mut(key) else {
            return Err(Error::NotFound {
                name: key.name().to_owned(),
            });
        };
        if stored.version != switch.version {
            return Err(Error::Conflict {
                name: switch.name,
                expected: switch.version,
                found: stored.version,
            });
        }
        switch.version += 1;
        let previous = std::mem::replace(stored, switch.clone());
        self.record(HistoryEntry::updated(actor, key, &previous, &switch));
        Ok((previous, switch))
    }

    /// Applies a shortcut to the switch as stored (creating it if
    /// missing): one write and one entry, or none if nothing changes.
    pub(crate) fn apply_shortcut(
        &mut self,
        key: &SwitchKey,
        actor: &str,
        shortcut: &Shortcut,
    ) -> Result<Switch, Error> {
        let Some(stored) = self.switches.get(key) else {
            let fresh = shortcut.created(key.name());
            fresh.validate()?;
            return self.insert(key, actor, fresh);
        };
        let mut next = stored.clone();
        shortcut.apply(&mut next);
        if next == *stored {
            return Ok(next);
        }
        next.validate()?;
        next.version += 1;
        let entry = shortcut.entry(actor, key, stored, &next);
        self.switches.insert(key.clone(), next.clone());
        self.record(entry);
        Ok(next)
    }

    pub(crate) fn remove_tree(&mut self, root: &SwitchKey, actor: &str) -> Vec<Record> {
        let keys: Vec<SwitchKey> = self
            .switches
            .range(root.clone()..)
            .take_while(|(k, _)| k.as_str().starts_with(root.as_str()))
            .filter(|(k, _)| k.is_in_tree(root))
            .map(|(k, _)| k.clone())
            .collect();
        let removed: Vec<Record> = keys
            .into_iter()
            .filter_map(|key| {
                self.switches
                    .remove(&key)
                    .map(|switch| Record { key, switch })
            })
            .collect();
        for record in &removed {
            self.record(HistoryEntry::unregistered(actor, &record.key));
        }
        removed
    }

    /// Every write or none: all are checked before any is applied.
    pub(crate) fn batch(
        &mut self,
        actor: &str,
        writes: Vec<(SwitchKey, BatchWrite)>,
    ) -> Result<Vec<Switch>, Error> {
        for (key, write) in &writes {
            write.check(key, self.switches.get(key))?;
        }
        // Applied to a copy, kept only if every write succeeds (a key
        // written twice fails at its second write).
        let mut next = self.clone();
        let done = writes
            .into_iter()
            .map(|(key, write)| match write {
                BatchWrite::Create(switch) => next.insert(&key, actor, switch),
                BatchWrite::Update(switch) => next.update(&key, actor, switch).map(|(_, s)| s),
            })
            .collect::<Result<Vec<Switch>, Error>>()?;
        *self = next;
        Ok(done)
    }

    pub(crate) fn records(&self) -> Vec<Record> {
        self.switches
            .iter()
            .map(|(key, switch)| Record {
                key: key.clone(),
                switch: switch.clone(),
            })
            .collect()
    }

    fn record(&mut self, entry: HistoryEntry) {
        history::push_capped(&mut self.history, entry, DEFAULT_HISTORY_CAPACITY);
    }
}

impl MemoryStorage {
    /// An empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    fn locked(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Storage for MemoryStorage {
    fn load(&self) -> BoxFuture<'_, Result<Vec<Record>, Error>> {
        let all = self.locked().records();
        Box::pin(async move { Ok(all) })
    }

    fn get<'a>(&'a self, key: &'a SwitchKey) -> BoxFuture<'a, Result<Option<Switch>, Error>> {
        let found = self.locked().switches.get(key).cloned();
        Box::pin(async move { Ok(found) })
    }

    fn insert<'a>(
        &'a self,
        key: &'a SwitchKey,
        actor: &'a str,
        switch: Switch,
    ) -> BoxFuture<'a, Result<Switch, Error>> {
        let result = self.locked().insert(key, actor, switch);
        Box::pin(async move { result })
    }

    fn update<'a>(
        &'a self,
        key: &'a SwitchKey,
        actor: &'a str,
        switch: Switch,
    ) -> BoxFuture<'a, Result<(Switch, Switch), Error>> {
        let result = self.locked().update(key, actor, switch);
        Box::pin(async move { result })
    }

    fn remove_tree<'a>(
        &'a self,
        key: &'a SwitchKey,
        actor: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Record>, Error>> {
        let removed = self.locked().remove_tree(key, actor);
        Box::pin(async move { Ok(removed) })
    }

    fn write_batch<'a>(
        &'a self,
        actor: &'a str,
        writes: Vec<(SwitchKey, BatchWrite)>,
    ) -> BoxFuture<'a, Result<Vec<Switch>, Error>> {
        let result = self.locked().batch(actor, writes);
        Box::pin(async move { result })
    }

    fn apply_shortcut<'a>(
        &'a self,
        request: ShortcutRequest<'a>,
    ) -> BoxFuture<'a, Result<AppliedShortcut, Error>> {
        let result = self
            .locked()
            .apply_shortcut(request.key, request.actor, request.shortcut);
        Box::pin(async move { result.map(AppliedShortcut::exact) })
    }

    fn history<'a>(
        &'a self,
        key: Option<&'a SwitchKey>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<HistoryEntry>, Error>> {
        let selected = history::select(&self.locked().history, key, limit);
        Box::pin(async move { Ok(selected) })
    }

    fn immediate(&self) -> Option<&dyn ImmediateStorage> {
        Some(self)
    }
}

/// Everything is in memory: loads and inserts answer at once.
impl ImmediateStorage for MemoryStorage {
    fn load_now(&self) -> Result<Vec<Record>, Error> {
        Ok(self.locked().records())
    }

    fn insert_now(
        &self,
        key: &SwitchKey,
        actor: &str,
        switch: Switch,
    ) -> Option<Result<Switch, Error>> {
        Some(self.locked().insert(key, actor, switch))
    }
}
