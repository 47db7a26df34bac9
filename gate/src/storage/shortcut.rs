//! The rollout shortcuts as storage operations: each one a single atomic
//! change applied to whatever is stored, so that it never conflicts.

use super::Storage;
use crate::condition::{Argument, Condition};
use crate::error::Error;
use crate::history::{Action, HistoryEntry, UsersChange};
use crate::key::SwitchKey;
use crate::limits::MODIFY_ATTEMPTS;
use crate::operator::{Operator, Percentage};
use crate::retry::{RetryPolicy, NO_PAUSE};
use crate::switch::{State, Switch};

/// A rollout shortcut, as a storage applies it with
/// [`Storage::apply_shortcut`](super::Storage::apply_shortcut): one change
/// to the switch as stored at that moment, whatever its version, so two
/// writers never conflict. A missing switch is created (selective) with
/// the change applied.
///
/// # Examples
///
/// ```
/// use gate::storage::Shortcut;
/// use gate::{State, Switch};
///
/// let mut beta = Switch::new("beta");
/// Shortcut::State(State::Global).apply(&mut beta);
/// assert_eq!(beta.state, State::Global);
/// Shortcut::Allow(vec!["alice".into()]).apply(&mut beta);
/// assert!(beta.users.contains("alice"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Shortcut {
    /// Sets the state (`enable`, `enable_for_all`, `disable`).
    State(State),
    /// Turns an enabled switch off, and a disabled one on: selective if it
    /// has users or conditions, else global (`toggle`).
    Toggle,
    /// Replaces the identity percentage condition (the first non-negative
    /// one), or adds one (`set_percentage`; `0..=100`).
    Percentage(Percentage),
    /// Adds the condition unless an equal one is there (`allow_matching`).
    AddCondition(Condition),
    /// Adds these ids to the allow-list (`allow`, `allow_all`).
    Allow(Vec<String>),
    /// Removes these ids from the allow-list (`disallow`, `disallow_all`).
    Disallow(Vec<String>),
}

/// What [`Storage::apply_shortcut`](super::Storage::apply_shortcut) is
/// asked to do: apply `shortcut` to the switch at `key`, recorded as
/// `actor`'s; made with [`new`](Self::new), the optional parts added with
/// [`known`](Self::known) and [`retry`](Self::retry).
///
/// # Examples
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use gate::storage::{Shortcut, ShortcutRequest};
/// use gate::{MemoryStorage, RetryPolicy, State, Storage, SwitchKey};
///
/// let storage = MemoryStorage::new();
/// let global = Shortcut::State(State::Global);
/// let policy = RetryPolicy::jittered();
/// let beta = SwitchKey::root("beta")?;
/// let request = ShortcutRequest::new(&beta, "alice", &global).retry(&policy);
/// let applied = storage.apply_shortcut(request).await?;
/// assert_eq!((applied.switch.version, applied.switch.state), (1, State::Global));
/// # Ok::<_, gate::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct ShortcutRequest<'a> {
    /// The storage key of the switch.
    pub key: &'a SwitchKey,
    /// Who the write is recorded as, in the audit trail.
    pub actor: &'a str,
    /// The change.
    pub shortcut: &'a Shortcut,
    /// The caller's copy of the switch, if it has one (its replica's): a
    /// storage may use it instead of sending back an allow-list the
    /// caller already has. Default: none.
    pub known: Option<&'a Switch>,
    /// How to pause between attempts, for a storage that applies the
    /// shortcut as read-modify-write (the default of `apply_shortcut`):
    /// the manager's policy. Default: [`RetryPolicy::none`].
    pub retry: &'a RetryPolicy,
}

impl<'a> ShortcutRequest<'a> {
    /// `shortcut` on the switch at `key`, by `actor`, with no known copy
    /// and no pause between attempts.
    pub fn new(key: &'a SwitchKey, actor: &'a str, shortcut: &'a Shortcut) -> Self {
        ShortcutRequest {
            key,
            actor,
            shortcut,
            known: None,
            retry: &NO_PAUSE,
        }
    }

    /// The caller's copy of the switch (see [`known`](Self#structfield.known)).
    pub fn known(mut self, known: Option<&'a Switch>) -> Self {
        self.known = known;
        self
    }

    /// The pause between attempts (see [`retry`](Self#structfield.retry)).
    pub fn retry(mut self, retry: &'a RetryPolicy) -> Self {
        self.retry = retry;
        self
    }
}

impl Shortcut {
    /// The condition [`Shortcut::Percentage`] sets.
    pub(crate) fn percentage_condition(p: Percentage) -> Condition {
        Condition::identity(Operator::Percent(p))
    }

    /// Whether `condition` is the one [`Shortcut::Percentage`] replaces.
    fn is_percentage(condition: &Condition) -> bool {
        condition.argument == Argument::Identity
            && !condition.negative
            && matches!(condition.operator, Operator::Percent(_))
    }

    /// Applies the change to `switch` (its version is left alone). A
    /// switch at version 0, not stored yet, counts as disabled for
    /// [`Shortcut::Toggle`].
    pub fn apply(&self, switch: &mut Switch) {
        match self {
            Shortcut::State(state) => switch.state = *state,
            Shortcut::Toggle => {
                switch.state = if switch.version == 0 || switch.state == State::Disabled {
                    if switch.users.is_empty() && switch.conditions.is_empty() {
                        State::Global
                    } else {
                        State::Selective
                    }
                } else {
                    State::Disabled
                };
            }
            Shortcut::Percentage(p) => {
                let condition = Self::percentage_condition(*p);
                match switch
                    .conditions
                    .iter_mut()
                    .find(|c| Self::is_percentage(c))
                {
                    Some(c) => *c = condition,
                    None => switch.conditions.push(condition),
                }
            }
            Shortcut::AddCondition(condition) => {
                if !switch.conditions.contains(condition) {
                    switch.conditions.push(condition.clone());
                }
            }
            Shortcut::Allow(ids) => {
                for id in ids {
                    switch.users.insert(id.as_str());
                }
            }
            Shortcut::Disallow(ids) => {
                for id in ids {
                    switch.users.remove(id);
                }
            }
        }
    }

    /// The switch a shortcut creates when `name` is missing: a new
    /// selective switch with the change applied.
    pub fn created(&self, name: &str) -> Switch {
        let mut fresh = Switch::new(name).state(State::Selective);
        self.apply(&mut fresh);
        fresh
    }

    /// The manager's method that makes this change, for messages.
    pub(crate) fn operation(&self) -> &'static str {
        match self {
            Shortcut::State(State::Selective) => "enable",
            Shortcut::State(State::Global) => "enable_for_all",
            Shortcut::State(State::Disabled) => "disable",
            Shortcut::Toggle => "toggle",
            Shortcut::Percentage(_) => "set_percentage",
            Shortcut::AddCondition(_) => "allow_matching",
            Shortcut::Allow(_) => "allow",
            Shortcut::Disallow(_) => "disallow",
        }
    }

    /// The ids of an allow-list change, and whether they are added.
    pub(crate) fn ids(&self) -> Option<(&[String], bool)> {
        match self {
            Shortcut::Allow(ids) => Some((ids, true)),
            Shortcut::Disallow(ids) => Some((ids, false)),
            _ => None,
        }
    }

    /// The audit entry of applying this shortcut to `previous` (stored)
    /// giving `current` (at its new version): an allow-list change is
    /// recorded as `allowed` / `disallowed` with the ids it changed, any
    /// other as an update.
    pub(crate) fn entry(
        &self,
        actor: &str,
        key: &SwitchKey,
        previous: &Switch,
        current: &Switch,
    ) -> HistoryEntry {
        match self.ids() {
            Some((ids, add)) => {
                let mut seen = std::collections::HashSet::new();
                let changed: Vec<&str> = ids
                    .iter()
                    .map(String::as_str)
                    .filter(|id| previous.users.contains(id) != add && seen.insert(*id))
                    .collect();
                let mut entry = HistoryEntry::allow_list(actor, key, add);
                entry.version = current.version;
                entry.changes.users = Some(if add {
                    UsersChange::of(&changed, &[])
                } else {
                    UsersChange::of(&[], &changed)
                });
                debug_assert!(matches!(entry.action, Action::Allowed | Action::Disallowed));
                entry
            }
            None => HistoryEntry::updated(actor, key, previous, current),
        }
    }
}

/// A shortcut as a read-modify-write with retries, for a storage without
/// an atomic form of it (and for a Redis record not in the form gate
/// writes): reads the switch, applies the change, and updates it if the
/// version did not move meanwhile, else pauses by the request's
/// [`RetryPolicy`] and tries again.
pub(crate) async fn read_modify_write<S: Storage + ?Sized>(
    storage: &S,
    request: &ShortcutRequest<'_>,
) -> Result<Switch, Error> {
    let ShortcutRequest {
        key,
        actor,
        shortcut,
        ..
    } = *request;
    let name = key.name();
    for attempt in 0..MODIFY_ATTEMPTS {
        if attempt > 0 {
            request.retry.wait(attempt).await;
        }
        let Some(current) = storage.get(key).await? else {
            let fresh = shortcut.created(name);
            fresh.validate()?;
            match storage.insert(key, actor, fresh).await {
                Err(Error::AlreadyExists { .. }) => continue,
                other => return other,
            }
        };
        let mut next = current.clone();
        shortcut.apply(&mut next);
        if next == current {
            return Ok(current);
        }
        next.validate()?;
        match storage.update_from(key, actor, current, next).await {
            Ok((_, stored)) => return Ok(stored),
            Err(Error::Conflict { .. } | Error::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Err(Error::Contended {
        name: name.to_owned(),
        operation: shortcut.operation(),
        attempts: MODIFY_ATTEMPTS,
    })
}
