//! Writes: each goes through the storage as one atomic, audited step,
//! then its result is applied to the replica.

use std::fmt;

use super::Manager;
use crate::condition::Condition;
use crate::error::Error;
use crate::key::SwitchKey;
use crate::limits::MODIFY_ATTEMPTS;
use crate::operator::{Operator, Percentage};
use crate::replica::Apply;
use crate::signals::Origin;
use crate::storage::{Shortcut, ShortcutRequest};
use crate::switch::{validate_name, State, Switch};

impl Manager {
    pub(crate) fn applied(&self, key: SwitchKey, stored: Switch) {
        self.shared.applied(key, stored);
    }

    /// Registers a new switch and returns it as stored (version 1).
    ///
    /// # Errors
    ///
    /// A validation error (name, conditions, variants),
    /// [`Error::AlreadyExists`], or a storage error.
    pub async fn register(&self, switch: Switch) -> Result<Switch, Error> {
        switch.validate()?;
        let key = self.key(&switch.name);
        let stored = self
            .shared
            .storage
            .insert(&key, &self.actor, switch)
            .await?;
        self.applied(key, stored.clone());
        Ok(stored)
    }

    /// Stores `switch` if the stored one is still at `switch.version`
    /// (the version it was read at); returns the new switch.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`] when someone else changed it since it was read
    /// (nothing is written: read it again, or use [`modify`](Self::modify)),
    /// [`Error::NotFound`], a validation or storage error.
    pub async fn update(&self, switch: Switch) -> Result<Switch, Error> {
        switch.validate()?;
        let key = self.key(&switch.name);
        let (_, current) = self
            .shared
            .storage
            .update(&key, &self.actor, switch)
            .await?;
        self.applied(key, current.clone());
        Ok(current)
    }

    /// Reads the stored switch, lets `change` edit it, and writes it back,
    /// retrying from a fresh read when someone else wrote in between. No
    /// write happens if `change` leaves the switch as it was.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], a validation error of the edited switch (the
    /// name cannot be changed), a storage error, or [`Error::Conflict`]
    /// after many failed attempts.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let manager = gate::Manager::in_memory();
    /// manager.register(gate::Switch::new("beta")).await?;
    /// let beta = manager.modify("beta", |s| s.state = gate::State::Global).await?;
    /// assert_eq!(beta.version, 2);
    /// # Ok::<_, gate::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn modify(
        &self,
        name: &str,
        change: impl FnMut(&mut Switch),
    ) -> Result<Switch, Error> {
        self.read_modify_write(name, false, change).await
    }

    async fn read_modify_write(
        &self,
        name: &str,
        create: bool,
        mut change: impl FnMut(&mut Switch),
    ) -> Result<Switch, Error> {
        validate_name(name)?;
        let key = self.key(name);
        let mut last_error = None;
        for attempt in 0..MODIFY_ATTEMPTS {
            if last_error.is_some() {
                self.shared.retry.wait(attempt).await;
            }
            let stored = self.shared.storage.get(&key).await?;
            let Some(current) = stored else {
                if !create {
                    return Err(Error::NotFound {
                        name: name.to_owned(),
                    });
                }
                let mut fresh = Switch::new(name).state(State::Selective);
                change(&mut fresh);
                fresh.name = name.to_owned();
                fresh.validate()?;
                match self.shared.storage.insert(&key, &self.actor, fresh).await {
                    Ok(stored) => {
                        self.applied(key, stored.clone());
                        return Ok(stored);
                    }
                    Err(e @ Error::AlreadyExists { .. }) => {
                        last_error = Some(e);
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            };
            let mut next = current.clone();
            change(&mut next);
            if next.name != current.name {
                return Err(Error::InvalidName {
                    name: next.name,
                    reason: "modify cannot rename a switch: register the new name and unregister the old"
                        .into(),
                });
            }
            next.version = current.version;
            if next == current {
                return Ok(current);
            }
            next.validate()?;
            // `current` was just read from the storage: it may skip
            // reading it again.
            let update = self
                .shared
                .storage
                .update_from(&key, &self.actor, current, next);
            match update.await {
                Ok((_, current)) => {
                    self.applied(key, current.clone());
                    return Ok(current);
                }
                Err(e @ (Error::Conflict { .. } | Error::NotFound { .. })) => last_error = Some(e),
                Err(e) => return Err(e),
            }
        }
        match last_error {
            Some(Error::NotFound { .. }) | None => Err(Error::NotFound {
                name: name.to_owned(),
            }),
            Some(_) => Err(Error::Contended {
                name: name.to_owned(),
                operation: "modify",
                attempts: MODIFY_ATTEMPTS,
            }),
        }
    }

    /// Removes `name` and all its descendants (`name:…`); returns what was
    /// removed (empty if nothing was there).
    ///
    /// # Errors
    ///
    /// A name or storage error.
    pub async fn unregister(&self, name: &str) -> Result<Vec<Switch>, Error> {
        validate_name(name)?;
        let removed = self
            .shared
            .storage
            .remove_tree(&self.key(name), &self.actor)
            .await?;
        // A removed record that could not be read is no longer a problem.
        self.shared
            .note_readable(|key| removed.iter().any(|r| r.key == *key));
        self.shared.apply(
            removed
                .iter()
                .map(|r| Apply::Remove { key: r.key.clone() })
                .collect(),
            Origin::Local,
        );
        Ok(removed.into_iter().map(|r| r.switch).collect())
    }

    // ----- the rollout shortcuts ----------------------------------------
    //
    // Each is one atomic operation in the storage
    // (`Storage::apply_shortcut`): it applies to the switch as stored at
    // that moment, so two writers never conflict and none is lost, and
    // the replica is updated from what the write returns.

    /// Applies `shortcut` to `name` in the storage, and the result to the
    /// replica.
    async fn shortcut(&self, name: &str, shortcut: Shortcut) -> Result<Switch, Error> {
        validate_name(name)?;
        if shortcut.ids().is_none() {
            // The rule it adds (a regex, a percentage) is checked here,
            // before anything is written.
            shortcut.created(name).validate()?;
        }
        let key = self.key(name);
        // A record this node found unreadable (another tool broke it) is
        // refused, not changed blindly; a record in another form than
        // gate's is refused by the storage itself.
        if let Some(reason) = self.unreadable_reason(name) {
            return Err(Error::Unreadable {
                key: key.to_string(),
                reason,
            });
        }
        let known = self.shared.replica_switch(&key);
        let applied = self
            .shared
            .storage
            .apply_shortcut(
                ShortcutRequest::new(&key, &self.actor, &shortcut)
                    .known(known.as_deref())
                    .retry(&self.shared.retry),
            )
            .await?;
        if applied.exact {
            self.applied(key, applied.switch.clone());
        }
        Ok(applied.switch)
    }

    /// Makes the switch selective (its users and rules apply), creating it
    /// if needed.
    ///
    /// # Errors
    ///
    /// A name or storage error.
    pub async fn enable(&self, name: &str) -> Result<Switch, Error> {
        self.shortcut(name, Shortcut::State(State::Selective)).await
    }

    /// Makes the switch global (on for everybody), creating it if needed.
    ///
    /// # Errors
    ///
    /// A name or storage error.
    pub async fn enable_for_all(&self, name: &str) -> Result<Switch, Error> {
        self.shortcut(name, Shortcut::State(State::Global)).await
    }

    /// Disables the switch (rules are kept), creating it if needed.
    ///
    /// # Errors
    ///
    /// A name or storage error.
    pub async fn disable(&self, name: &str) -> Result<Switch, Error> {
        self.shortcut(name, Shortcut::State(State::Disabled)).await
    }

    /// Turns an enabled switch off, and a disabled one on: selective if it
    /// has users or conditions (so they apply again), else global. A new
    /// switch is created disabled and then toggled, so it becomes global.
    ///
    /// # Errors
    ///
    /// A name or storage error.
    pub async fn toggle(&self, name: &str) -> Result<Switch, Error> {
        self.shortcut(name, Shortcut::Toggle).await
    }

    /// Sets the identity percentage (`0..=100`): the identities whose
    /// bucket is below it are on. Replaces an earlier percentage; creates
    /// the switch (selective) if needed; leaves the state of an existing
    /// switch alone.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPercentage`] above 100, a name or storage error.
    pub async fn set_percentage(&self, name: &str, percentage: u32) -> Result<Switch, Error> {
        let p = Percentage::new(percentage)?;
        self.shortcut(name, Shortcut::Percentage(p)).await
    }

    /// Adds `id` to the allow-list (creating the switch, selective, if
    /// needed). On Redis this is one `SADD`, not a rewrite of the switch.
    /// For several ids use [`allow_all`](Self::allow_all): one write.
    ///
    /// # Errors
    ///
    /// A name or storage error.
    pub async fn allow(&self, name: &str, id: impl fmt::Display) -> Result<Switch, Error> {
        self.allow_all(name, [id]).await
    }

    /// Adds every id of `ids` to the allow-list in one write, with one
    /// audit entry (creating the switch, selective, if needed). Ids
    /// already there are left alone; if all are, nothing is written.
    ///
    /// # Errors
    ///
    /// A name or storage error.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let manager = gate::Manager::in_memory();
    /// let beta = manager.allow_all("beta", ["alice", "bob", "carol"]).await?;
    /// assert_eq!((beta.users.len(), beta.version), (3, 1));
    /// assert_eq!(manager.history(Some("beta"), 10).await?.len(), 1);
    /// # Ok::<_, gate::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn allow_all<I>(&self, name: &str, ids: I) -> Result<Switch, Error>
    where
        I: IntoIterator,
        I::Item: fmt::Display,
    {
        let ids = ids.into_iter().map(|id| id.to_string()).collect();
        self.shortcut(name, Shortcut::Allow(ids)).await
    }

    /// Removes `id` from the allow-list (creating the switch if needed).
    /// For several ids use [`disallow_all`](Self::disallow_all).
    ///
    /// # Errors
    ///
    /// A name or storage error.
    pub async fn disallow(&self, name: &str, id: impl fmt::Display) -> Result<Switch, Error> {
        self.disallow_all(name, [id]).await
    }

    /// Removes every id of `ids` from the allow-list in one write, with
    /// one audit entry (creating the switch if needed); nothing is written
    /// if none was there.
    ///
    /// # Errors
    ///
    /// A name or storage error.
    pub async fn disallow_all<I>(&self, name: &str, ids: I) -> Result<Switch, Error>
    where
        I: IntoIterator,
        I::Item: fmt::Display,
    {
        let ids = ids.into_iter().map(|id| id.to_string()).collect();
        self.shortcut(name, Shortcut::Disallow(ids)).await
    }

    /// Turns the switch on for identities matching `regex` (an identity
    /// `matches` condition; the same pattern is not added twice).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRegex`], a name or storage error.
    pub async fn allow_matching(&self, name: &str, regex: &str) -> Result<Switch, Error> {
        let condition = Condition::identity(Operator::matches(regex)?);
        self.shortcut(name, Shortcut::AddCondition(condition)).await
    }
}
