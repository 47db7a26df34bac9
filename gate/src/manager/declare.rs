//! [`Manager::declare`]: the switches an app uses, created with their
//! declared defaults where missing, at start-up, whatever the storage is
//! doing.

use std::time::Duration;

use tokio::sync::oneshot;

use super::{spawn_write, Manager};
use crate::error::Error;
use crate::switch::Switch;

/// The first pause after the storage failed; it doubles up to the last.
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const LAST_PAUSE: Duration = Duration::from_secs(30);

/// What [`Manager::declare`] did, once every declared switch exists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Declared {
    /// The switches it created, with their declared defaults.
    pub created: Vec<String>,
    /// The switches that existed already (left exactly as they were).
    pub existing: Vec<String>,
    /// The switches the storage refused for good (logged as errors), with
    /// why; the storage being down is not one of these (it is waited out).
    pub failed: Vec<(String, Error)>,
}

/// A declaration under way (see [`Manager::declare`]). Dropping it does
/// not stop it; [`done`](Self::done) waits for it.
#[derive(Debug)]
#[must_use = "the declaration goes on in the background; `.done().await` waits for it"]
pub struct Declaration {
    outcome: oneshot::Receiver<Declared>,
}

impl Declaration {
    /// Waits until every declared switch exists in the storage (however
    /// long the storage is down), and says which were created.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] only if the declaration could not run at all (no
    /// runtime and no thread to run it on).
    pub async fn done(self) -> Result<Declared, Error> {
        self.outcome
            .await
            .map_err(|_| Error::storage_msg("the declaration stopped before it was done"))
    }
}

impl Manager {
    /// Declares the switches this app checks, each with the state and
    /// rules it should start with: a missing one is created (in this
    /// handle's namespace, by this handle's actor), an existing one is left
    /// as it is — so every node can declare the same switches at every
    /// start, and an operator's changes are never undone.
    ///
    /// It does not wait for the storage: the switches are written in the
    /// background, retried with a growing pause (100 ms to 30 s) while the
    /// storage is down, and the app starts meanwhile (its checks answer
    /// from the replica, as always). Await [`Declaration::done`] to wait.
    ///
    /// # Errors
    ///
    /// At once, and declaring nothing: a switch that is not valid
    /// ([`Error::Invalid`] and the like, as [`register`](Self::register)
    /// says), or a name declared twice ([`Error::Invalid`] naming it).
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use gate::{State, Switch};
    ///
    /// let manager = gate::Manager::in_memory();
    /// manager.enable_for_all("search").await?;
    /// let declared = manager
    ///     .declare([
    ///         Switch::new("checkout").state(State::Disabled),
    ///         Switch::new("search").state(State::Disabled),
    ///     ])?
    ///     .done()
    ///     .await?;
    /// assert_eq!(declared.created, ["checkout"]);
    /// assert_eq!(declared.existing, ["search"]);
    /// assert!(manager.active("search", "42"), "left as the operator set it");
    /// # Ok::<_, gate::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn declare(
        &self,
        switches: impl IntoIterator<Item = Switch>,
    ) -> Result<Declaration, Error> {
        let switches: Vec<Switch> = switches.into_iter().collect();
        for (i, switch) in switches.iter().enumerate() {
            switch.validate()?;
            if let Some(first) = switches[..i].iter().position(|s| s.name == switch.name) {
                return Err(Error::Invalid {
                    field: format!("switches[{i}].name"),
                    reason: format!(
                        "{:?} is declared twice (first as switches[{first}]): declare each switch once",
                        switch.name
                    ),
                });
            }
        }
        let (tx, outcome) = oneshot::channel();
        let manager = self.clone();
        let started = spawn_write(async move {
            let _ = tx.send(manager.declare_all(switches).await);
        });
        if !started {
            return Err(Error::storage_msg(
                "could not start the declaration (no runtime, and no thread)",
            ));
        }
        Ok(Declaration { outcome })
    }

    /// Creates each missing switch, retrying while the storage fails.
    async fn declare_all(&self, switches: Vec<Switch>) -> Declared {
        let mut declared = Declared::default();
        for switch in switches {
            let name = switch.name.clone();
            let mut pause = FIRST_PAUSE;
            loop {
                match self.register(switch.clone()).await {
                    Ok(_) => {
                        tracing::info!(switch = %name, "gate: declared switch created");
                        declared.created.push(name);
                        break;
                    }
                    Err(Error::AlreadyExists { .. }) => {
                        declared.existing.push(name);
                        break;
                    }
                    // Not written, or not known to be: try again (an
                    // insert that did land answers AlreadyExists next).
                    Err(error @ (Error::Storage { .. } | Error::OutcomeUnknown { .. })) => {
                        tracing::warn!(switch = %name, %error, retry_in = ?pause, "gate: could not declare a switch yet; retrying");
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(LAST_PAUSE);
                    }
                    Err(error) => {
                        tracing::error!(switch = %name, %error, "gate: could not declare a switch");
                        declared.failed.push((name, error));
                        break;
                    }
                }
            }
        }
        declared
    }
}
