//! Importing many switches at once: [`Manager::plan_import`] and
//! [`Manager::import`].

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::Error;
use crate::manager::Manager;
use crate::storage::BatchWrite;
use crate::switch::{Change, Switch};

/// What an import does (or would do) to one switch.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Planned {
    /// The switch does not exist: it is registered.
    Create {
        /// The switch's name.
        name: String,
    },
    /// The switch exists and differs: it is replaced.
    Update {
        /// The switch's name.
        name: String,
        /// Field by field, what changes (the allow-list as a whole).
        changes: BTreeMap<String, Change>,
    },
    /// The switch exists as imported: nothing is written.
    Unchanged {
        /// The switch's name.
        name: String,
    },
}

impl Manager {
    /// What [`import`](Self::import) would do with `switches`, against
    /// this manager's replica. Writes nothing.
    ///
    /// # Errors
    ///
    /// The first invalid switch's validation error (naming it), or
    /// [`Error::InvalidJson`] for a name given twice.
    pub fn plan_import(&self, switches: &[Switch]) -> Result<Vec<Planned>, Error> {
        let mut seen = std::collections::HashSet::new();
        for switch in switches {
            switch.validate()?;
            if !seen.insert(switch.name.as_str()) {
                return Err(Error::InvalidJson {
                    what: "an import".into(),
                    reason: format!("the switch {:?} is given twice", switch.name),
                });
            }
        }
        Ok(switches
            .iter()
            .map(|switch| {
                let name = switch.name.clone();
                match self.switch(&switch.name) {
                    None => Planned::Create { name },
                    Some(current) => {
                        let changes = switch.changes_from(&current);
                        if changes.is_empty() {
                            Planned::Unchanged { name }
                        } else {
                            Planned::Update { name, changes }
                        }
                    }
                }
            })
            .collect())
    }

    /// Creates or replaces each of `switches` (their `version` is
    /// ignored) in one atomic write: every switch is checked first, and if
    /// any is invalid, or was changed by someone else since this manager
    /// last saw it ([`Error::Conflict`]), nothing is written. Returns what
    /// was done.
    ///
    /// # Errors
    ///
    /// As [`plan_import`](Self::plan_import), [`Error::Conflict`] (read
    /// again — for Redis the replica follows within milliseconds — and
    /// retry), or the storage's error.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use gate::import::Planned;
    ///
    /// let source = gate::Manager::in_memory();
    /// source.set_percentage("new_search", 20).await?;
    /// let exported = source.switches();
    ///
    /// let target = gate::Manager::in_memory();
    /// let done = target.import(exported.clone()).await?;
    /// assert_eq!(done, [Planned::Create { name: "new_search".into() }]);
    /// assert!(target.active("new_search", "443301"));
    /// assert_eq!(target.plan_import(&exported)?, [Planned::Unchanged { name: "new_search".into() }]);
    /// # Ok::<_, gate::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn import(&self, switches: Vec<Switch>) -> Result<Vec<Planned>, Error> {
        let plan = self.plan_import(&switches)?;
        let writes = switches
            .into_iter()
            .zip(&plan)
            .filter_map(|(mut switch, planned)| match planned {
                Planned::Create { .. } => Some(BatchWrite::Create(switch)),
                Planned::Update { .. } => {
                    switch.version = self.switch(&switch.name).map_or(0, |s| s.version);
                    Some(BatchWrite::Update(switch))
                }
                Planned::Unchanged { .. } => None,
            })
            .collect();
        self.write_all(writes).await?;
        Ok(plan)
    }

    /// Applies every write or none (see [`Storage::write_batch`]):
    /// registers the `Create`s, replaces the `Update`s if the stored
    /// version is still theirs. Returns the switches as stored.
    ///
    /// # Errors
    ///
    /// A validation error, [`Error::AlreadyExists`], [`Error::NotFound`],
    /// [`Error::Conflict`] or a storage error; nothing is written then.
    ///
    /// [`Storage::write_batch`]: crate::Storage::write_batch
    pub async fn write_all(&self, writes: Vec<BatchWrite>) -> Result<Vec<Switch>, Error> {
        if writes.is_empty() {
            return Ok(Vec::new());
        }
        for write in &writes {
            write.switch().validate()?;
        }
        let keyed: Vec<(String, BatchWrite)> = writes
            .into_iter()
            .map(|w| (self.key(&w.switch().name), w))
            .collect();
        let keys: Vec<String> = keyed.iter().map(|(k, _)| k.clone()).collect();
        let stored = self
            .shared()
            .storage
            .write_batch(self.actor(), keyed)
            .await?;
        for (key, switch) in keys.into_iter().zip(&stored) {
            self.applied(key, switch.clone());
        }
        Ok(stored)
    }
}
