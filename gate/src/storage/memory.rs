use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{in_tree, split_key, BoxFuture, Record, Storage};
use crate::error::Error;
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
    switches: Mutex<BTreeMap<String, Switch>>,
}

impl MemoryStorage {
    /// An empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    fn locked(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Switch>> {
        self.switches.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn insert_sync(&self, key: &str, mut switch: Switch) -> Result<Switch, Error> {
        let mut switches = self.locked();
        if switches.contains_key(key) {
            return Err(Error::AlreadyExists {
                name: split_key(key).1.to_owned(),
            });
        }
        switch.version = 1;
        switches.insert(key.to_owned(), switch.clone());
        Ok(switch)
    }

    fn update_sync(&self, key: &str, mut switch: Switch) -> Result<(Switch, Switch), Error> {
        let mut switches = self.locked();
        let Some(stored) = switches.get_mut(key) else {
            return Err(Error::NotFound {
                name: split_key(key).1.to_owned(),
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
        Ok((previous, switch))
    }

    fn remove_sync(&self, root: &str) -> Vec<Record> {
        let mut switches = self.locked();
        let keys: Vec<String> = switches
            .range(root.to_owned()..)
            .take_while(|(k, _)| k.starts_with(root))
            .filter(|(k, _)| in_tree(k, root))
            .map(|(k, _)| k.clone())
            .collect();
        keys.into_iter()
            .filter_map(|key| switches.remove(&key).map(|switch| Record { key, switch }))
            .collect()
    }

    fn all(&self) -> Vec<Record> {
        self.locked()
            .iter()
            .map(|(key, switch)| Record {
                key: key.clone(),
                switch: switch.clone(),
            })
            .collect()
    }
}

impl Storage for MemoryStorage {
    fn load(&self) -> BoxFuture<'_, Result<Vec<Record>, Error>> {
        let all = self.all();
        Box::pin(async move { Ok(all) })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Switch>, Error>> {
        let found = self.locked().get(key).cloned();
        Box::pin(async move { Ok(found) })
    }

    fn insert<'a>(&'a self, key: &'a str, switch: Switch) -> BoxFuture<'a, Result<Switch, Error>> {
        let result = self.insert_sync(key, switch);
        Box::pin(async move { result })
    }

    fn update<'a>(
        &'a self,
        key: &'a str,
        switch: Switch,
    ) -> BoxFuture<'a, Result<(Switch, Switch), Error>> {
        let result = self.update_sync(key, switch);
        Box::pin(async move { result })
    }

    fn remove_tree<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Vec<Record>, Error>> {
        let removed = self.remove_sync(key);
        Box::pin(async move { Ok(removed) })
    }

    fn load_now(&self) -> Option<Result<Vec<Record>, Error>> {
        Some(Ok(self.all()))
    }

    fn insert_now(&self, key: &str, switch: Switch) -> Option<Result<Switch, Error>> {
        Some(self.insert_sync(key, switch))
    }
}
