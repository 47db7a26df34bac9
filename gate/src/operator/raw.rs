//! The JSON form of an operator ([`RawOperator`]), validated by the
//! constructors when it is turned into an [`Operator`].

use serde::{Deserialize, Serialize};

use super::Operator;
use crate::error::Error;
use crate::value::Value;

/// The JSON form of an operator, validated when turned into an [`Operator`].
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum RawOperator {
    Equals(Value<'static>),
    Between {
        lower: Value<'static>,
        upper: Value<'static>,
    },
    LessThan(Value<'static>),
    LessThanOrEqualTo(Value<'static>),
    MoreThan(Value<'static>),
    MoreThanOrEqualTo(Value<'static>),
    Truthy,
    Percent(u32),
    PercentRange {
        lower: u32,
        upper: u32,
    },
    StripIgnorecaseEquals(String),
    Matches(String),
    OneOf(Vec<Value<'static>>),
}

impl TryFrom<RawOperator> for Operator {
    type Error = Error;

    fn try_from(raw: RawOperator) -> Result<Self, Error> {
        match raw {
            RawOperator::Equals(v) => Operator::equals(v),
            RawOperator::Between { lower, upper } => Operator::between(lower, upper),
            RawOperator::LessThan(v) => Operator::less_than(v),
            RawOperator::LessThanOrEqualTo(v) => Operator::less_than_or_equal_to(v),
            RawOperator::MoreThan(v) => Operator::more_than(v),
            RawOperator::MoreThanOrEqualTo(v) => Operator::more_than_or_equal_to(v),
            RawOperator::Truthy => Ok(Operator::Truthy),
            RawOperator::Percent(p) => Operator::percent(p),
            RawOperator::PercentRange { lower, upper } => Operator::percent_range(lower, upper),
            RawOperator::StripIgnorecaseEquals(s) => Operator::strip_ignorecase_equals(s),
            RawOperator::Matches(p) => Operator::matches(&p),
            RawOperator::OneOf(v) => Operator::one_of(v),
        }
    }
}

impl From<Operator> for RawOperator {
    fn from(op: Operator) -> Self {
        match op {
            Operator::Equals(v) => RawOperator::Equals(v),
            Operator::Between { lower, upper } => RawOperator::Between { lower, upper },
            Operator::LessThan(v) => RawOperator::LessThan(v),
            Operator::LessThanOrEqualTo(v) => RawOperator::LessThanOrEqualTo(v),
            Operator::MoreThan(v) => RawOperator::MoreThan(v),
            Operator::MoreThanOrEqualTo(v) => RawOperator::MoreThanOrEqualTo(v),
            Operator::Truthy => RawOperator::Truthy,
            Operator::Percent(p) => RawOperator::Percent(u32::from(p)),
            Operator::PercentRange { lower, upper } => RawOperator::PercentRange {
                lower: u32::from(lower),
                upper: u32::from(upper),
            },
            Operator::StripIgnorecaseEquals(s) => RawOperator::StripIgnorecaseEquals(s),
            Operator::Matches(p) => RawOperator::Matches(p.as_str().to_owned()),
            Operator::OneOf(v) => RawOperator::OneOf(v),
        }
    }
}
