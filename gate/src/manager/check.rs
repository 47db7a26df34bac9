//! Checks: `active`, `variant`, `explain` and their kin, answered from
//! the replica by [`crate::eval`].

use std::ops::ControlFlow;

use super::Manager;
use crate::arguments::Inputs;
use crate::error::Error;
use crate::eval::{self, Fire, Judged, Scope, Silent};
use crate::explain::{self, Explanation, Reason, SettledBy};
use crate::replica::{Namespace, Snapshot};
use crate::signals::SwitchChecked;
use crate::switch::{State, Switch};

impl Manager {
    /// Whether `name` is active for the context's inputs followed by
    /// `inputs`. Unknown switches are off (and registered, disabled, with
    /// autocreate).
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let manager = gate::Manager::in_memory();
    /// manager.allow("beta", 42u64).await?;
    /// assert!(manager.active("beta", 42u64));
    /// assert!(manager.active("beta", "42"));
    /// assert!(!manager.active("beta", 7u64));
    /// # Ok::<_, gate::Error>(())
    /// # }).unwrap();
    /// ```
    #[inline]
    pub fn active(&self, name: &str, inputs: impl Inputs) -> bool {
        self.check(name, &inputs, Judged::WithContext)
            .unwrap_or(false)
    }

    /// Like [`active`](Self::active) but ignores the context: only `inputs`
    /// are judged.
    #[inline]
    pub fn active_exclusive(&self, name: &str, inputs: impl Inputs) -> bool {
        self.check(name, &inputs, Judged::Exclusive)
            .unwrap_or(false)
    }

    /// Like [`active`](Self::active), but an unknown switch is an error.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when no switch is named `name` (even with
    /// autocreate, which registers it).
    pub fn try_active(&self, name: &str, inputs: impl Inputs) -> Result<bool, Error> {
        self.check(name, &inputs, Judged::WithContext)
            .ok_or_else(|| Error::NotFound {
                name: name.to_owned(),
            })
    }

    /// The variant of `name` for the first input with an identity:
    /// `None` when the switch is off for the inputs, has no variants, or
    /// no input has an identity; else the index of the variant picked by
    /// `crc32(identity) % n` (or by cumulative weight when weighted).
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let manager = gate::Manager::in_memory();
    /// manager.register(gate::Switch::new("layout").state(gate::State::Global).variants(["a", "b", "c"])).await?;
    /// // crc32("443301") = 816037905, % 3 = 0
    /// assert_eq!(manager.variant("layout", "443301"), Some(0));
    /// # Ok::<_, gate::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn variant(&self, name: &str, inputs: impl Inputs) -> Option<usize> {
        if !self.check(name, &inputs, Judged::WithContext)? {
            return None;
        }
        let snapshot = self.shared.replica.load();
        let switch = &self
            .namespace_in(&snapshot)?
            .get(&crate::text::Key(name))?
            .switch;
        eval::with_inputs(&inputs, Judged::WithContext, &mut |chain| {
            switch.pick_variant(eval::identity_hash(chain)?)
        })
    }

    /// hanoi's check without a user: the switch exists and is not
    /// disabled (a kill-switch test). A selective switch at 0% is enabled
    /// but active for no one. Test overrides win.
    pub fn is_enabled(&self, name: &str) -> bool {
        if let Some(forced) = self.shared.overrides.get(&self.namespace, name) {
            return forced;
        }
        let snapshot = self.shared.replica.load();
        self.namespace_in(&snapshot)
            .and_then(|ns| ns.get(name))
            .is_some_and(|e| e.switch.state != State::Disabled)
    }

    /// This handle's namespace in `snapshot`.
    #[inline]
    fn namespace_in<'s>(&self, snapshot: &'s Snapshot) -> Option<&'s Namespace> {
        snapshot.namespace(self.namespace_index, &self.namespace)
    }

    /// What an evaluation reads, for this handle.
    #[inline]
    fn scope<'s>(&'s self, snapshot: &'s Snapshot) -> Scope<'s> {
        Scope {
            switches: self.namespace_in(snapshot),
            overrides: &self.shared.overrides,
            namespace: &self.namespace,
        }
    }

    /// `None` when the switch is unknown.
    #[inline]
    fn check(&self, name: &str, inputs: &dyn Inputs, which: Judged) -> Option<bool> {
        let signals = &self.shared.replica.signals;
        let policy = Fire {
            signals,
            namespace: &self.namespace,
        };
        let decided = self.shared.replica.read(|snapshot| {
            eval::decide(self.scope(snapshot), name, inputs, which, &mut (), &policy)
        });
        match decided {
            None => self.autocreate(name),
            Some(active) => {
                signals
                    .switch_checked
                    .emit_with(|| self.checked_event(name, active));
                if active {
                    signals
                        .switch_active
                        .emit_with(|| self.checked_event(name, true));
                }
            }
        }
        decided
    }

    fn checked_event(&self, name: &str, active: bool) -> SwitchChecked {
        SwitchChecked {
            namespace: self.namespace.to_string(),
            switch: name.to_owned(),
            active,
        }
    }

    /// The decision [`active`](Self::active) takes for these inputs, and
    /// why: which override, parent (concent), state, allowed id or
    /// condition (with the input, value and bucket) settled it. Fires no
    /// signal and never registers an unknown switch.
    ///
    /// `explain(..).active` always equals `active(..)`: both run the same
    /// evaluation (except for `percent` conditions on a boolean value,
    /// which sample at random on every check, as gutter's do).
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use gate::explain::Reason;
    ///
    /// let manager = gate::Manager::in_memory();
    /// manager.allow("beta", "alice").await?;
    /// let why = manager.explain("beta", "alice");
    /// assert!(why.active);
    /// assert_eq!(why.reason, Reason::AllowedId { id: "alice".into() });
    /// assert_eq!(why.to_string(), r#"beta is on for these inputs: "alice" is in its allow-list"#);
    /// # Ok::<_, gate::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn explain(&self, name: &str, inputs: impl Inputs) -> Explanation {
        let snapshot = self.shared.replica.load();
        self.explain_in(self.scope(&snapshot), name, &inputs, Judged::WithContext)
    }

    /// Like [`explain`](Self::explain), ignoring the context, as
    /// [`active_exclusive`](Self::active_exclusive) does.
    pub fn explain_exclusive(&self, name: &str, inputs: impl Inputs) -> Explanation {
        let snapshot = self.shared.replica.load();
        self.explain_in(self.scope(&snapshot), name, &inputs, Judged::Exclusive)
    }

    fn explain_in(
        &self,
        scope: Scope<'_>,
        name: &str,
        inputs: &dyn Inputs,
        which: Judged,
    ) -> Explanation {
        let mut recorder = explain::Recorder::default();
        let decided = eval::decide(scope, name, inputs, which, &mut recorder, &Silent);
        let active = decided.unwrap_or(false);
        let reason = match (decided, recorder.settled.take()) {
            (None, _) | (Some(_), None) => Reason::NotFound,
            (Some(_), Some((SettledBy::Override, _))) => Reason::Override,
            (Some(_), Some((SettledBy::ParentOff, parent))) => Reason::ParentOff {
                parent: Box::new(self.explain_in(scope, &parent, inputs, which)),
            },
            (Some(_), Some((SettledBy::State(state), _))) => {
                explain::state_reason(state).unwrap_or(Reason::NotFound)
            }
            (Some(_), Some((SettledBy::Rules, _))) => {
                let compounded = scope
                    .switches
                    .and_then(|ns| ns.get(name))
                    .is_some_and(|e| e.switch.compounded);
                let mut kinds = Vec::new();
                eval::with_inputs(inputs, which, &mut |chain| {
                    let _ = chain.each(&mut |input| {
                        kinds.push(input.kind().to_owned());
                        ControlFlow::Continue(())
                    });
                });
                recorder.selective_reason(active, compounded, kinds)
            }
        };
        Explanation {
            switch: name.to_owned(),
            active,
            reason,
        }
    }

    /// Asks for `name` to be registered, off the check path (see
    /// [`crate::autocreate`]): de-duplicated per name, bounded in total.
    #[inline]
    fn autocreate(&self, name: &str) {
        let loaded = self.shared.replica.loaded();
        self.shared
            .unknown
            .note(&self.namespace, name, loaded, self.shared.autocreate);
        if self.shared.autocreate {
            self.shared
                .autocreator
                .request(&self.shared, &self.namespace, name);
        }
    }

    // ----- reads ----------------------------------------------------------

    /// A copy of the switch named `name`, as the replica holds it.
    pub fn switch(&self, name: &str) -> Option<Switch> {
        let snapshot = self.shared.replica.load();
        self.namespace_in(&snapshot)?
            .get(name)
            .map(|e| Switch::clone(&e.switch))
    }

    /// Every switch of this namespace, sorted by name.
    pub fn switches(&self) -> Vec<Switch> {
        let snapshot = self.shared.replica.load();
        let mut all: Vec<Switch> = self
            .namespace_in(&snapshot)
            .map(|ns| ns.values().map(|e| Switch::clone(&e.switch)).collect())
            .unwrap_or_default();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }
}
