//! Importing many switches at once: [`Manager::plan_import`] and
//! [`Manager::import`].

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::Error;
use crate::manager::Manager;
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
    /// ignored), after checking all of them: if any is invalid, nothing is
    /// written. Returns what was done.
    ///
    /// Each switch is written atomically; the import as a whole is not a
    /// transaction, so a storage failure midway (Redis going down) leaves
    /// the switches before it written — the error says which one failed,
    /// and importing the same file again finishes the job.
    ///
    /// # Errors
    ///
    /// As [`plan_import`](Self::plan_import), or the storage's error.
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
        for (switch, planned) in switches.into_iter().zip(&plan) {
            let failed =
                |e: Error| Error::Storage(format!("import stopped at {:?}: {e}", switch.name));
            match planned {
                Planned::Unchanged { .. } => {}
                Planned::Create { .. } => match self.register(switch.clone()).await {
                    Ok(_) => {}
                    // Created meanwhile by someone else: replace it.
                    Err(Error::AlreadyExists { .. }) => {
                        self.replace(switch.clone()).await.map_err(failed)?;
                    }
                    Err(e) => return Err(failed(e)),
                },
                Planned::Update { .. } => {
                    self.replace(switch.clone()).await.map_err(failed)?;
                }
            }
        }
        Ok(plan)
    }

    async fn replace(&self, switch: Switch) -> Result<Switch, Error> {
        let name = switch.name.clone();
        self.modify(&name, move |s| {
            let version = s.version;
            *s = switch.clone();
            s.version = version;
        })
        .await
    }
}
