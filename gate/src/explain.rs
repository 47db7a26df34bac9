//! Why a switch is on or off: [`Manager::explain`](crate::Manager::explain).
//!
//! The explanation is recorded by the very code that answers
//! [`Manager::active`](crate::Manager::active), through a trace that
//! costs nothing when a check does not ask for it, so the two cannot
//! disagree.

use serde::Serialize;

use crate::arguments::Arguments;
use crate::condition::{Argument, Condition};
use crate::eval::{Settled, Trace};
use crate::operator::{bucket_of, ConditionError, Operator};
use crate::switch::State;
use crate::value::{Identity, Value};

/// A decision and why it was taken, from
/// [`Manager::explain`](crate::Manager::explain).
///
/// It serializes to JSON (for tools and the admin API).
///
/// # Examples
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use gate::explain::Reason;
///
/// let manager = gate::Manager::in_memory();
/// manager.set_percentage("new_search", 20).await?;
/// let why = manager.explain("new_search", "44488");
/// assert!(!why.active);
/// let Reason::Conditions { outcomes, .. } = &why.reason else { panic!() };
/// assert_eq!(outcomes[0].bucket, Some(88.0)); // crc32("44488") % 100
/// println!("{why}"); // new_search is off for these inputs: ...
/// # Ok::<_, gate::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Explanation {
    /// The switch's name.
    pub switch: String,
    /// The decision: what [`Manager::active`](crate::Manager::active)
    /// answers for the same inputs.
    pub active: bool,
    /// Why.
    pub reason: Reason,
}

/// What decided an [`Explanation`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reason {
    /// A test override forced the answer.
    Override,
    /// No switch has this name.
    NotFound,
    /// The switch consents to its parent (`concent`), and the parent is
    /// off for these inputs.
    ParentOff {
        /// Why the parent is off.
        parent: Box<Explanation>,
    },
    /// The switch is `Disabled`.
    Disabled,
    /// The switch is `Global`.
    Global,
    /// An input's identity is in the allow-list.
    AllowedId {
        /// The identity.
        id: String,
    },
    /// Selective, and no input was given (nor any in the context).
    NoInputs,
    /// Selective, no input's identity is in the allow-list, and no
    /// condition applies to any input (the switch has none, or none of the
    /// inputs' kind, or an identity condition and no input has one).
    NothingApplied {
        /// The kinds of the inputs that were judged.
        input_kinds: Vec<String>,
    },
    /// Selective, decided by conditions.
    Conditions {
        /// Whether every condition had to hold.
        compounded: bool,
        /// Every condition that was evaluated, in order.
        outcomes: Vec<Outcome>,
        /// The index in `outcomes` of the condition that settled it: the
        /// one that held (not compounded, on) or that failed (compounded,
        /// off). `None` when all of them did (compounded on, or not
        /// compounded off).
        deciding: Option<usize>,
    },
}

/// One condition applied to one input, in [`Reason::Conditions`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Outcome {
    /// The condition's position in the switch's list.
    pub index: usize,
    /// The condition.
    pub condition: Condition,
    /// The kind of the input it was applied to.
    pub input_kind: String,
    /// The value judged (the attribute, or the identity as text); `None`
    /// when the attribute was missing.
    pub value: Option<Value<'static>>,
    /// For `percent` and `percent_range`: the value's bucket (`0..100`;
    /// a boolean's is drawn at random on every check, so `None`).
    pub bucket: Option<f64>,
    /// Whether the condition held (after `negative`). An error counts as
    /// false.
    pub held: bool,
    /// Why the condition could not be evaluated, if it could not (a
    /// [`ConditionError`]'s message).
    pub error: Option<String>,
}

impl std::fmt::Display for Explanation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let on = if self.active { "on" } else { "off" };
        write!(f, "{} is {on} for these inputs: ", self.switch)?;
        match &self.reason {
            Reason::Override => write!(f, "a test override forces it"),
            Reason::NotFound => write!(f, "no switch has this name"),
            Reason::ParentOff { parent } => write!(f, "its parent is off ({parent})"),
            Reason::Disabled => write!(f, "it is disabled"),
            Reason::Global => write!(f, "it is on for everybody"),
            Reason::AllowedId { id } => write!(f, "{id:?} is in its allow-list"),
            Reason::NoInputs => write!(f, "it is selective and there are no inputs"),
            Reason::NothingApplied { input_kinds } => write!(
                f,
                "none of its conditions applies to the inputs ({})",
                input_kinds.join(", ")
            ),
            Reason::Conditions {
                outcomes, deciding, ..
            } => {
                f.write_str(match (deciding, self.active) {
                    (Some(_), true) => "a condition holds",
                    (Some(_), false) => "a condition fails (all must hold)",
                    (None, true) => "every condition holds",
                    (None, false) => "no condition holds",
                })?;
                for (i, o) in outcomes.iter().enumerate() {
                    let mark = if Some(i) == *deciding { "→" } else { "·" };
                    write!(f, "; {mark} {} on {}", o.condition, o.input_kind)?;
                    match &o.value {
                        Some(v) => write!(f, " (value {v}")?,
                        None => write!(f, " (value missing")?,
                    }
                    if let Some(b) = o.bucket {
                        write!(f, ", bucket {b}")?;
                    }
                    match &o.error {
                        Some(e) => write!(f, "): error, {e}")?,
                        None => write!(f, "): {}", if o.held { "holds" } else { "fails" })?,
                    }
                }
                Ok(())
            }
        }
    }
}

/// [`Settled`], owned.
#[derive(Clone, Copy)]
pub(crate) enum SettledBy {
    Override,
    ParentOff,
    State(State),
    Rules,
}

/// Records what the evaluation saw, for [`Explanation`].
#[derive(Default)]
pub(crate) struct Recorder {
    /// What settled it; the parent's name for `ParentOff`.
    pub(crate) settled: Option<(SettledBy, String)>,
    allowed: Option<String>,
    outcomes: Vec<Outcome>,
}

impl Trace for Recorder {
    fn settled(&mut self, by: Settled<'_>) {
        self.settled = Some(match by {
            Settled::Override => (SettledBy::Override, String::new()),
            Settled::ParentOff(parent) => (SettledBy::ParentOff, parent.to_owned()),
            Settled::State(state) => (SettledBy::State(state), String::new()),
            Settled::Rules => (SettledBy::Rules, String::new()),
        });
    }

    fn allowed(&mut self, id: &Identity<'_>) {
        self.allowed = Some(id.to_string());
    }

    fn condition(
        &mut self,
        index: usize,
        condition: &Condition,
        input: &dyn Arguments,
        salt: Option<&str>,
        result: &Result<bool, ConditionError>,
    ) {
        let value = match &condition.argument {
            Argument::Identity => input.identity().map(|id| Value::Str(id.to_string().into())),
            Argument::Kind(_) => input.attribute(&condition.attribute).map(Value::into_owned),
        };
        let bucket = match (&condition.operator, &value) {
            (_, Some(Value::Bool(_))) | (_, None) => None,
            (Operator::Percent(_) | Operator::PercentRange { .. }, Some(v)) => {
                Some(bucket_of(v, salt))
            }
            _ => None,
        };
        self.outcomes.push(Outcome {
            index,
            condition: condition.clone(),
            input_kind: input.kind().to_owned(),
            value,
            bucket,
            held: matches!(result, Ok(true)),
            error: result.as_ref().err().map(ToString::to_string),
        });
    }
}

impl Recorder {
    /// The reason for a selective switch's answer `active`, given the
    /// kinds of the inputs it judged.
    pub(crate) fn selective_reason(
        self,
        active: bool,
        compounded: bool,
        input_kinds: Vec<String>,
    ) -> Reason {
        if let Some(id) = self.allowed {
            return Reason::AllowedId { id };
        }
        if input_kinds.is_empty() {
            return Reason::NoInputs;
        }
        if self.outcomes.is_empty() {
            return Reason::NothingApplied { input_kinds };
        }
        // The evaluation stops at the condition that settles it.
        let last = self.outcomes.len() - 1;
        let deciding = match (compounded, active) {
            (false, true) | (true, false) => Some(last),
            _ => None,
        };
        Reason::Conditions {
            compounded,
            outcomes: self.outcomes,
            deciding,
        }
    }
}

/// The reason for a switch decided by its state alone.
pub(crate) fn state_reason(state: State) -> Option<Reason> {
    match state {
        State::Disabled => Some(Reason::Disabled),
        State::Global => Some(Reason::Global),
        State::Selective => None,
    }
}
