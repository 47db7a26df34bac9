//! Importing many switches at once, the one planner behind `gate import`
//! and the admin API's `POST /import`: [`read`] them from JSON (every
//! problem at once), see what an import would do
//! ([`Manager::plan_import`]), and do it in one atomic write
//! ([`Manager::import`]).

use std::collections::hash_map::{Entry, HashMap};

use serde::Serialize;
use serde_json::Value as Json;

use crate::diff::SwitchDiff;
use crate::error::Error;
use crate::key::SwitchKey;
use crate::manager::Manager;
use crate::storage::BatchWrite;
use crate::switch::Switch;

/// What an import does (or would do) to one switch.
///
/// In JSON: `{"action": "create", "name": ...}`, `{"action": "update",
/// "name": ..., "changes": ..., "lists": ..., "users": ...}` (the
/// [`SwitchDiff`]'s JSON form, as in the audit trail) or `{"action":
/// "unchanged", "name": ...}`.
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
        /// What changes, field by field (boxed: the other steps are small).
        #[serde(flatten)]
        changes: Box<SwitchDiff>,
    },
    /// The switch exists as imported: nothing is written.
    Unchanged {
        /// The switch's name.
        name: String,
    },
}

impl Planned {
    /// The switch's name.
    pub fn name(&self) -> &str {
        match self {
            Planned::Create { name }
            | Planned::Update { name, .. }
            | Planned::Unchanged { name } => name,
        }
    }
}

/// What is wrong with one switch of an import.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Problem {
    /// Where the switch is in the import, counted from 0.
    pub position: usize,
    /// Its name, if it has one (an invalid switch may).
    pub name: Option<String>,
    /// What is wrong: [`Error::InvalidJson`], the switch's validation
    /// error (naming the field), or [`Error::DuplicateName`].
    pub error: Error,
}

/// Reads the switches of an import, each a JSON value in the form of a
/// [`Switch`] (as `gate export` and the admin API's `GET /export` write
/// them; `version` is ignored): each is checked, and no name may be given
/// twice.
///
/// # Errors
///
/// Every problem found, in the order of the switches.
///
/// # Examples
///
/// ```
/// use gate::Error;
/// use serde_json::json;
///
/// let items = vec![json!({"name": "a"}), json!({"name": "b", "state": "sometimes"}), json!({"name": "a"})];
/// let problems = gate::import::read(items).unwrap_err();
/// assert_eq!(problems[0].name.as_deref(), Some("b"));
/// assert!(matches!(problems[0].error, Error::InvalidJson { .. }));
/// assert_eq!(problems[1].error, Error::DuplicateName { name: "a".into(), first: 0, position: 2 });
/// ```
pub fn read(items: Vec<Json>) -> Result<Vec<Switch>, Vec<Problem>> {
    let mut switches = Vec::with_capacity(items.len());
    let mut problems = Vec::new();
    for (position, item) in items.into_iter().enumerate() {
        match Switch::from_json(&item.to_string()) {
            Ok(switch) => switches.push((position, switch)),
            Err(error) => problems.push(Problem {
                position,
                name: item.get("name").and_then(Json::as_str).map(str::to_owned),
                error,
            }),
        }
    }
    problems.extend(repeated(switches.iter().map(|(i, s)| (*i, s))));
    if !problems.is_empty() {
        problems.sort_by_key(|p| p.position);
        return Err(problems);
    }
    Ok(switches.into_iter().map(|(_, switch)| switch).collect())
}

/// A problem for each switch named like one before it.
fn repeated<'a>(switches: impl Iterator<Item = (usize, &'a Switch)>) -> Vec<Problem> {
    let mut first: HashMap<&str, usize> = HashMap::new();
    switches
        .filter_map(|(position, switch)| match first.entry(&switch.name) {
            Entry::Vacant(slot) => {
                slot.insert(position);
                None
            }
            Entry::Occupied(earlier) => Some(Problem {
                position,
                name: Some(switch.name.clone()),
                error: Error::DuplicateName {
                    name: switch.name.clone(),
                    first: *earlier.get(),
                    position,
                },
            }),
        })
        .collect()
}

impl Manager {
    /// What [`import`](Self::import) would do with `switches`, against
    /// this manager's replica. Writes nothing.
    ///
    /// # Errors
    ///
    /// The first invalid switch's validation error (naming the field), or
    /// [`Error::DuplicateName`] for a name given twice.
    pub fn plan_import(&self, switches: &[Switch]) -> Result<Vec<Planned>, Error> {
        for switch in switches {
            switch.validate()?;
        }
        if let Some(problem) = repeated(switches.iter().enumerate()).into_iter().next() {
            return Err(problem.error);
        }
        Ok(switches
            .iter()
            .map(|switch| {
                let name = switch.name.clone();
                match self.switch(&switch.name) {
                    None => Planned::Create { name },
                    Some(current) => {
                        let changes = SwitchDiff::between(&current, switch);
                        if changes.is_empty() {
                            Planned::Unchanged { name }
                        } else {
                            Planned::Update {
                                name,
                                changes: Box::new(changes),
                            }
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
        let keyed: Vec<(SwitchKey, BatchWrite)> = writes
            .into_iter()
            .map(|w| (self.key(&w.switch().name), w))
            .collect();
        let keys: Vec<SwitchKey> = keyed.iter().map(|(k, _)| k.clone()).collect();
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
