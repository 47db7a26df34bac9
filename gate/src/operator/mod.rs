//! Operators: how a condition judges one value.
//!
//! - `mod.rs`: [`Operator`], its constructors and their validation;
//! - `apply.rs`: [`Operator::apply`] (on the check path), the comparisons
//!   and the percentage bucket, and [`ConditionError`];
//! - `percentage.rs`: [`Percentage`];
//! - `pattern.rs`: [`Pattern`], a regular expression compiled into an
//!   automaton;
//! - `raw.rs`: the JSON form of an operator, validated when read.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::limits;
use crate::value::Value;

mod apply;
mod pattern;
mod percentage;
mod raw;

pub(crate) use apply::bucket_of;
pub use apply::ConditionError;
use apply::{compare, same_type};
pub use pattern::Pattern;
pub use percentage::Percentage;
pub(crate) use raw::RawOperator;

/// How a condition judges the value of an attribute.
///
/// Built with the constructors, which validate their arguments: a number
/// must be finite, an operand must suit its operator (`less_than` compares
/// numbers or strings, `between` needs `lower < upper` of one type), a
/// percentage is a [`Percentage`], a regular expression a [`Pattern`]
/// within the [limits](crate::limits). The variants that hold operands
/// cannot be built directly outside gate, so every `Operator` is valid.
/// In JSON an operator is written `"truthy"`, `{"equals": 5}`,
/// `{"between": {"lower": 1, "upper": 5}}`, `{"percent": 20}`,
/// `{"percent_range": {"lower": 10, "upper": 20}}`, `{"matches": "^a"}`,
/// `{"one_of": ["fr", "de"]}`, and so on; reading it applies the same
/// checks.
///
/// # Examples
///
/// ```
/// use gate::{Operator, Value};
///
/// let op = Operator::between(18, 65)?;
/// assert_eq!(op.apply(&Value::from(30), None), Ok(true));
/// assert_eq!(op.apply(&Value::from(65), None), Ok(false)); // exclusive
/// assert!(Operator::percent(101).is_err());
/// assert!(Operator::less_than(f64::NAN).is_err());
/// assert!(Operator::between(65, 18).is_err());
/// # Ok::<_, gate::Error>(())
/// ```
///
/// A percentage above 100 cannot be written:
///
/// ```compile_fail
/// let op = gate::Operator::Percent(200);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawOperator", into = "RawOperator")]
#[non_exhaustive]
pub enum Operator {
    /// The value equals this one.
    #[non_exhaustive]
    Equals(Value<'static>),
    /// `lower < value < upper` (both exclusive).
    #[non_exhaustive]
    Between {
        /// Exclusive lower bound.
        lower: Value<'static>,
        /// Exclusive upper bound.
        upper: Value<'static>,
    },
    /// `value < bound`.
    #[non_exhaustive]
    LessThan(Value<'static>),
    /// `value <= bound`.
    #[non_exhaustive]
    LessThanOrEqualTo(Value<'static>),
    /// `value > bound`.
    #[non_exhaustive]
    MoreThan(Value<'static>),
    /// `value >= bound`.
    #[non_exhaustive]
    MoreThanOrEqualTo(Value<'static>),
    /// The value is true, non-zero or a non-empty string.
    Truthy,
    /// The value's bucket is below this percentage.
    Percent(Percentage),
    /// `lower <= bucket < upper`.
    #[non_exhaustive]
    PercentRange {
        /// Inclusive lower bucket.
        lower: Percentage,
        /// Exclusive upper bucket.
        upper: Percentage,
    },
    /// The string, trimmed, equals this one trimmed, ignoring case.
    #[non_exhaustive]
    StripIgnorecaseEquals(String),
    /// The string matches this regular expression (compiled once).
    Matches(Pattern),
    /// The value equals one of these.
    #[non_exhaustive]
    OneOf(Vec<Value<'static>>),
}

impl Operator {
    /// `equals value`.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a number that is not finite or a string
    /// longer than [`MAX_OPERAND_LEN`](crate::limits::MAX_OPERAND_LEN).
    pub fn equals(value: impl Into<Value<'static>>) -> Result<Self, Error> {
        let value = value.into();
        check_operand("equals", &value, Family::Any)?;
        Ok(Operator::Equals(value))
    }

    /// `between lower and upper`, both exclusive.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] unless both are finite numbers, or both strings,
    /// and `lower < upper`.
    pub fn between(
        lower: impl Into<Value<'static>>,
        upper: impl Into<Value<'static>>,
    ) -> Result<Self, Error> {
        let (lower, upper) = (lower.into(), upper.into());
        check_operand("between", &lower, Family::Ordered)?;
        check_operand("between", &upper, Family::Ordered)?;
        if !same_type(&lower, &upper) {
            return Err(invalid_operator(format!(
                "between needs bounds of one type, got a {} and a {}",
                lower.type_name(),
                upper.type_name()
            )));
        }
        if compare(&lower, &upper) != Some(Ordering::Less) {
            return Err(invalid_operator(format!(
                "between needs lower < upper (both are exclusive), got {lower} and {upper}"
            )));
        }
        Ok(Operator::Between { lower, upper })
    }

    /// `less_than bound`.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] unless `bound` is a finite number or a string.
    pub fn less_than(bound: impl Into<Value<'static>>) -> Result<Self, Error> {
        let bound = bound.into();
        check_operand("less_than", &bound, Family::Ordered)?;
        Ok(Operator::LessThan(bound))
    }

    /// `less_than_or_equal_to bound`.
    ///
    /// # Errors
    ///
    /// As [`less_than`](Self::less_than).
    pub fn less_than_or_equal_to(bound: impl Into<Value<'static>>) -> Result<Self, Error> {
        let bound = bound.into();
        check_operand("less_than_or_equal_to", &bound, Family::Ordered)?;
        Ok(Operator::LessThanOrEqualTo(bound))
    }

    /// `more_than bound`.
    ///
    /// # Errors
    ///
    /// As [`less_than`](Self::less_than).
    pub fn more_than(bound: impl Into<Value<'static>>) -> Result<Self, Error> {
        let bound = bound.into();
        check_operand("more_than", &bound, Family::Ordered)?;
        Ok(Operator::MoreThan(bound))
    }

    /// `more_than_or_equal_to bound`.
    ///
    /// # Errors
    ///
    /// As [`less_than`](Self::less_than).
    pub fn more_than_or_equal_to(bound: impl Into<Value<'static>>) -> Result<Self, Error> {
        let bound = bound.into();
        check_operand("more_than_or_equal_to", &bound, Family::Ordered)?;
        Ok(Operator::MoreThanOrEqualTo(bound))
    }

    /// `truthy`.
    pub fn truthy() -> Self {
        Operator::Truthy
    }

    /// `percent p`: the bucket is below `p`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPercentage`] when `p > 100`.
    pub fn percent(p: u32) -> Result<Self, Error> {
        Ok(Operator::Percent(Percentage::new(p)?))
    }

    /// `percent_range lower upper`: `lower <= bucket < upper` (empty when
    /// they are equal).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPercentage`] for a bound over 100,
    /// [`Error::InvalidRange`] when `lower > upper`.
    pub fn percent_range(lower: u32, upper: u32) -> Result<Self, Error> {
        let (lower, upper) = (Percentage::new(lower)?, Percentage::new(upper)?);
        if lower > upper {
            return Err(Error::InvalidRange {
                lower: lower.get(),
                upper: upper.get(),
            });
        }
        Ok(Operator::PercentRange { lower, upper })
    }

    /// `strip_ignorecase_equals text`.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a text longer than
    /// [`MAX_OPERAND_LEN`](crate::limits::MAX_OPERAND_LEN).
    pub fn strip_ignorecase_equals(text: impl Into<String>) -> Result<Self, Error> {
        let text = text.into();
        check_operand_len("strip_ignorecase_equals", &text)?;
        Ok(Operator::StripIgnorecaseEquals(text))
    }

    /// `matches regex`, compiled now (see [`Pattern`]).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRegex`] naming the pattern.
    pub fn matches(pattern: &str) -> Result<Self, Error> {
        Ok(Operator::Matches(Pattern::new(pattern)?))
    }

    /// `one_of values`.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for no values, more than
    /// [`MAX_ONE_OF_VALUES`](crate::limits::MAX_ONE_OF_VALUES), values of
    /// different types (numbers, strings, booleans), or an invalid value
    /// (as for [`equals`](Self::equals)).
    pub fn one_of<V: Into<Value<'static>>>(
        values: impl IntoIterator<Item = V>,
    ) -> Result<Self, Error> {
        let values: Vec<Value<'static>> = values.into_iter().map(Into::into).collect();
        check_one_of(&values)?;
        Ok(Operator::OneOf(values))
    }

    /// Checks again what the constructors check (for an operator changed
    /// in place inside gate).
    pub(crate) fn validate(&self) -> Result<(), Error> {
        match self {
            Operator::Equals(v) => check_operand("equals", v, Family::Any),
            Operator::Between { lower, upper } => {
                Operator::between(lower.clone(), upper.clone()).map(drop)
            }
            Operator::LessThan(v)
            | Operator::LessThanOrEqualTo(v)
            | Operator::MoreThan(v)
            | Operator::MoreThanOrEqualTo(v) => check_operand(self.name(), v, Family::Ordered),
            Operator::Truthy | Operator::Percent(_) | Operator::Matches(_) => Ok(()),
            Operator::PercentRange { lower, upper } => {
                Operator::percent_range(u32::from(*lower), u32::from(*upper)).map(drop)
            }
            Operator::StripIgnorecaseEquals(text) => check_operand_len(self.name(), text),
            Operator::OneOf(values) => check_one_of(values),
        }
    }

    /// The operator's name as written in JSON (`more_than`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Operator::Equals(_) => "equals",
            Operator::Between { .. } => "between",
            Operator::LessThan(_) => "less_than",
            Operator::LessThanOrEqualTo(_) => "less_than_or_equal_to",
            Operator::MoreThan(_) => "more_than",
            Operator::MoreThanOrEqualTo(_) => "more_than_or_equal_to",
            Operator::Truthy => "truthy",
            Operator::Percent(_) => "percent",
            Operator::PercentRange { .. } => "percent_range",
            Operator::StripIgnorecaseEquals(_) => "strip_ignorecase_equals",
            Operator::Matches(_) => "matches",
            Operator::OneOf(_) => "one_of",
        }
    }
}

/// Which operand types an operator accepts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    /// Any type.
    Any,
    /// Numbers or strings (booleans have no useful order).
    Ordered,
}

fn invalid_operator(reason: String) -> Error {
    Error::Invalid {
        field: "operator".into(),
        reason,
    }
}

fn check_operand_len(operator: &str, text: &str) -> Result<(), Error> {
    if text.len() > limits::MAX_OPERAND_LEN {
        return Err(invalid_operator(format!(
            "the string of {operator} is {} bytes long, the most is {}",
            text.len(),
            limits::MAX_OPERAND_LEN
        )));
    }
    Ok(())
}

/// A number must be finite (JSON has no NaN or infinity), a string not too
/// long, and the type must suit the operator.
fn check_operand(operator: &str, value: &Value<'_>, family: Family) -> Result<(), Error> {
    match value {
        Value::Float(x) if !x.is_finite() => Err(invalid_operator(format!(
            "{operator} needs a finite number, not {x}"
        ))),
        Value::Str(s) => check_operand_len(operator, s),
        Value::Bool(_) if family == Family::Ordered => Err(invalid_operator(format!(
            "{operator} compares numbers or strings, not a bool"
        ))),
        _ => Ok(()),
    }
}

fn check_one_of(values: &[Value<'_>]) -> Result<(), Error> {
    let Some(first) = values.first() else {
        return Err(invalid_operator("one_of needs at least one value".into()));
    };
    if values.len() > limits::MAX_ONE_OF_VALUES {
        return Err(invalid_operator(format!(
            "one_of has {} values, the most is {}",
            values.len(),
            limits::MAX_ONE_OF_VALUES
        )));
    }
    for value in values {
        check_operand("one_of", value, Family::Any)?;
        if !same_type(first, value) {
            return Err(invalid_operator(format!(
                "one_of needs values of one type, got a {} and a {}",
                first.type_name(),
                value.type_name()
            )));
        }
    }
    Ok(())
}
