//! What an evaluation reports at each step, for an explanation.

use crate::arguments::Arguments;
use crate::condition::Condition;
use crate::operator::ConditionError;
use crate::switch::State;
use crate::value::Identity;

/// Hooks the evaluation calls at each decision. `()` ignores them (and
/// compiles to nothing); the explanation's `Recorder` keeps them.
pub(crate) trait Trace {
    /// What settled the answer (called once, last).
    #[inline(always)]
    fn settled(&mut self, _by: Settled<'_>) {}

    #[inline(always)]
    fn allowed(&mut self, _id: &Identity<'_>) {}

    #[inline(always)]
    fn condition(
        &mut self,
        _index: usize,
        _condition: &Condition,
        _input: &dyn Arguments,
        _salt: Option<&str>,
        _result: &Result<bool, ConditionError>,
    ) {
    }
}

impl Trace for () {}

/// The step of the evaluation that settled an answer.
#[derive(Clone, Copy)]
pub(crate) enum Settled<'a> {
    Override,
    ParentOff(&'a str),
    State(State),
    Rules,
}
