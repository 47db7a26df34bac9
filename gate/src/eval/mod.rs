//! The evaluation: DESIGN's steps as pure functions over one snapshot of
//! a namespace, the test overrides, a name and the inputs.
//!
//! Nothing here reads a clock, a lock or the storage, allocates, or fires
//! a signal of its own accord: what happens when a condition cannot be
//! applied is the caller's [`Policy`] ([`Fire`] for a check, [`Silent`] for
//! an explanation), and every step is reported to a [`Trace`] (`()` for a
//! check, which compiles to nothing; the explanation's recorder keeps
//! them). So `active` and `explain` run the very same code.
//!
//! The steps, in order ([`decide`]):
//!
//! 1. a test override of the name wins;
//! 2. an unknown name is `None` (off, and autocreated by the caller);
//! 3. with `concent`, a parent (`a` for `a:b`) that is off turns the child
//!    off, for the same inputs;
//! 4. `Disabled` is off and `Global` on, whatever the inputs;
//! 5. `Selective`: an input whose identity is in the allow-list turns it
//!    on; else the conditions judge each input of their kind
//!    ([`selective`]): any input held by its conditions turns it on, or,
//!    `compounded`, every judged input must be held by all of them.

mod overrides;
mod trace;

use std::ops::ControlFlow;

use crate::arguments::{Arguments, Chain, Inputs};
use crate::condition::{Argument, Condition};
use crate::context;
use crate::operator::ConditionError;
use crate::replica::Namespace;
use crate::signals::{ConditionApplyError, Signals};
use crate::switch::{State, Switch};

pub(crate) use overrides::Overrides;
pub(crate) use trace::{Settled, Trace};

/// What to do when a condition cannot be applied (a missing attribute, a
/// type mismatch): the condition is false either way.
pub(crate) trait Policy {
    /// Called once per condition that could not be applied.
    fn condition_error(
        &self,
        switch: &Switch,
        condition: &Condition,
        input: &dyn Arguments,
        error: ConditionError,
    );
}

/// Fires `condition_apply_error` (and logs at debug level): what a check
/// does.
pub(crate) struct Fire<'a> {
    pub(crate) signals: &'a Signals,
    pub(crate) namespace: &'a str,
}

impl Policy for Fire<'_> {
    #[cold]
    fn condition_error(
        &self,
        switch: &Switch,
        condition: &Condition,
        input: &dyn Arguments,
        error: ConditionError,
    ) {
        tracing::debug!(switch = %switch.name, %condition, kind = input.kind(), %error, "gate: condition could not be applied");
        self.signals
            .condition_apply_error
            .emit_with(|| ConditionApplyError {
                namespace: self.namespace.to_owned(),
                switch: switch.name.clone(),
                condition: condition.clone(),
                input_kind: input.kind().to_owned(),
                error,
            });
    }
}

/// Does nothing: what an explanation does (it reports errors in its
/// outcomes instead).
pub(crate) struct Silent;

impl Policy for Silent {
    fn condition_error(&self, _: &Switch, _: &Condition, _: &dyn Arguments, _: ConditionError) {}
}

/// What an evaluation reads: one namespace of one snapshot, and the
/// overrides.
#[derive(Clone, Copy)]
pub(crate) struct Scope<'a> {
    /// The namespace's switches (`None`: the namespace holds none).
    pub(crate) switches: Option<&'a Namespace>,
    /// The manager's test overrides.
    pub(crate) overrides: &'a Overrides,
    /// The namespace's name, for the overrides.
    pub(crate) namespace: &'a str,
}

/// Which inputs are judged: the context's followed by the check's, or the
/// check's alone (`*_exclusive`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Judged {
    WithContext,
    Exclusive,
}

/// The decision for `name`, or `None` if the switch is unknown and not
/// overridden (steps 1–5 above). The context is only read when a selective
/// switch needs inputs.
#[inline]
pub(crate) fn decide<T: Trace, P: Policy>(
    scope: Scope<'_>,
    name: &str,
    inputs: &dyn Inputs,
    which: Judged,
    trace: &mut T,
    policy: &P,
) -> Option<bool> {
    if let Some(forced) = scope.overrides.get(scope.namespace, name) {
        trace.settled(Settled::Override);
        return Some(forced);
    }
    let entry = scope.switches?.get(&crate::text::Key(name))?;
    let switch = &*entry.switch;
    if switch.concent {
        if let Some(parent) = entry.parent(name) {
            if decide(scope, parent, inputs, which, &mut (), policy) == Some(false) {
                trace.settled(Settled::ParentOff(parent));
                return Some(false);
            }
        }
    }
    Some(match switch.state {
        State::Disabled => {
            trace.settled(Settled::State(State::Disabled));
            false
        }
        State::Global => {
            trace.settled(Settled::State(State::Global));
            true
        }
        State::Selective => {
            trace.settled(Settled::Rules);
            with_inputs(inputs, which, &mut |chain| {
                selective(switch, chain, trace, policy)
            })
        }
    })
}

/// Calls `f` with the inputs to judge.
#[inline]
pub(crate) fn with_inputs<R>(
    inputs: &dyn Inputs,
    which: Judged,
    f: &mut dyn FnMut(&Chain<'_>) -> R,
) -> R {
    match which {
        Judged::Exclusive => f(&Chain {
            first: &[],
            then: inputs,
        }),
        Judged::WithContext => context::with_current(&mut |ctx| {
            f(&Chain {
                first: ctx,
                then: inputs,
            })
        }),
    }
}

/// Step 5: the allow-list, then the conditions.
fn selective<T: Trace, P: Policy>(
    switch: &Switch,
    inputs: &Chain<'_>,
    trace: &mut T,
    policy: &P,
) -> bool {
    if !switch.users.is_empty() {
        let allowed = inputs.each(&mut |input| match input.identity() {
            Some(id) if id.with_text(|t| switch.users.contains(t)) => {
                trace.allowed(&id);
                ControlFlow::Break(())
            }
            _ => ControlFlow::Continue(()),
        });
        if allowed.is_break() {
            return true;
        }
    }
    if switch.conditions.is_empty() {
        return false;
    }
    let mut judged = false;
    let mut verdict = false;
    let _ = inputs.each(&mut |input| match judge(switch, input, trace, policy) {
        Verdict::Abstain => ControlFlow::Continue(()),
        Verdict::Yes => {
            judged = true;
            verdict = true;
            if switch.compounded {
                ControlFlow::Continue(())
            } else {
                ControlFlow::Break(())
            }
        }
        Verdict::No => {
            judged = true;
            if switch.compounded {
                verdict = false;
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
    });
    judged && verdict
}

/// The outcome of judging one input by a switch's conditions.
enum Verdict {
    /// No condition applies to this input.
    Abstain,
    Yes,
    No,
}

/// Judges one input by the conditions that apply to it.
fn judge<T: Trace, P: Policy>(
    switch: &Switch,
    input: &dyn Arguments,
    trace: &mut T,
    policy: &P,
) -> Verdict {
    let kind = input.kind();
    let salt = switch.salt.as_deref();
    // The identity is read at most once, and only if a rule needs it.
    let mut identity = None;
    let mut applicable = false;
    for (index, condition) in switch.conditions.iter().enumerate() {
        let result = match &condition.argument {
            Argument::Kind(k) if crate::text::same(k.as_bytes(), kind.as_bytes()) => {
                condition.judge_attribute(input.attribute(&condition.attribute), salt)
            }
            Argument::Kind(_) => continue,
            Argument::Identity => match identity.get_or_insert_with(|| input.identity()) {
                Some(id) => condition.judge_identity(id, salt),
                None => continue,
            },
        };
        applicable = true;
        trace.condition(index, condition, input, salt, &result);
        let held = result.unwrap_or_else(|error| {
            policy.condition_error(switch, condition, input, error);
            false
        });
        match (switch.compounded, held) {
            (true, false) => return Verdict::No,
            (false, true) => return Verdict::Yes,
            _ => {}
        }
    }
    match (applicable, switch.compounded) {
        (false, _) => Verdict::Abstain,
        (true, true) => Verdict::Yes,
        (true, false) => Verdict::No,
    }
}

/// The CRC-32 of the first input's identity that has one: what picks a
/// variant.
pub(crate) fn identity_hash(inputs: &Chain<'_>) -> Option<u32> {
    let mut hash = None;
    let _ = inputs.each(&mut |input| match input.identity() {
        Some(id) => {
            hash = Some(id.with_text(|t| crate::bucket::crc32(t.as_bytes())));
            ControlFlow::Break(())
        }
        None => ControlFlow::Continue(()),
    });
    hash
}
