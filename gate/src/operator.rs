//! Operators: how a condition judges one value.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::bucket::{random_bucket, salted_crc32};
use crate::error::Error;
use crate::value::Value;

/// How a condition judges the value of an attribute.
///
/// Built with the constructors, which validate their arguments
/// ([`Operator::percent`] rejects 101, [`Operator::matches`] an invalid
/// regex, …). In JSON an operator is written `"truthy"`, `{"equals": 5}`,
/// `{"between": {"lower": 1, "upper": 5}}`, `{"percent": 20}`,
/// `{"percent_range": {"lower": 10, "upper": 20}}`, `{"matches": "^a"}`,
/// `{"one_of": ["fr", "de"]}`, and so on.
///
/// # Examples
///
/// ```
/// use gate::{Operator, Value};
///
/// let op = Operator::between(18, 65);
/// assert_eq!(op.apply(&Value::from(30), None), Ok(true));
/// assert_eq!(op.apply(&Value::from(65), None), Ok(false)); // exclusive
/// assert!(Operator::percent(101).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawOperator", into = "RawOperator")]
#[non_exhaustive]
pub enum Operator {
    /// The value equals this one.
    Equals(Value<'static>),
    /// `lower < value < upper` (both exclusive).
    Between {
        /// Exclusive lower bound.
        lower: Value<'static>,
        /// Exclusive upper bound.
        upper: Value<'static>,
    },
    /// `value < bound`.
    LessThan(Value<'static>),
    /// `value <= bound`.
    LessThanOrEqualTo(Value<'static>),
    /// `value > bound`.
    MoreThan(Value<'static>),
    /// `value >= bound`.
    MoreThanOrEqualTo(Value<'static>),
    /// The value is true, non-zero or a non-empty string.
    Truthy,
    /// The value's bucket is below this percentage (`0..=100`).
    Percent(u8),
    /// `lower <= bucket < upper`.
    PercentRange {
        /// Inclusive lower bucket.
        lower: u8,
        /// Exclusive upper bucket.
        upper: u8,
    },
    /// The string, trimmed, equals this one trimmed, ignoring case.
    StripIgnorecaseEquals(String),
    /// The string matches this regular expression (compiled once).
    Matches(Pattern),
    /// The value equals one of these.
    OneOf(Vec<Value<'static>>),
}

/// A compiled regular expression that compares and serializes as its source.
#[derive(Clone)]
pub struct Pattern(regex::Regex);

impl Pattern {
    /// Compiles `pattern`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRegex`] naming the pattern.
    pub fn new(pattern: &str) -> Result<Self, Error> {
        regex::Regex::new(pattern)
            .map(Pattern)
            .map_err(|source| Error::InvalidRegex {
                pattern: pattern.to_owned(),
                reason: source.to_string(),
            })
    }

    /// The source text of the expression.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Whether `text` matches.
    pub fn is_match(&self, text: &str) -> bool {
        self.0.is_match(text)
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?})", self.as_str())
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

/// Why a condition could not be evaluated. The condition is then false
/// (also when `negative`) and `condition_apply_error` fires.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConditionError {
    /// The input has no such attribute (or it is `None`).
    #[error("the input has no such attribute")]
    MissingAttribute,
    /// The input has no identity but the condition is on the identity.
    #[error("the input has no identity")]
    MissingIdentity,
    /// The value's type does not fit the operator.
    #[error("`{operator}` cannot compare a {found} with a {expected}")]
    TypeMismatch {
        /// The operator's name.
        operator: &'static str,
        /// The type the operator expects.
        expected: &'static str,
        /// The type of the input's value.
        found: &'static str,
    },
}

fn mismatch(op: &Operator, expected: &Value<'_>, found: &Value<'_>) -> ConditionError {
    ConditionError::TypeMismatch {
        operator: op.name(),
        expected: expected.type_name(),
        found: found.type_name(),
    }
}

/// Compares two values of compatible types (numbers with numbers, strings
/// with strings, booleans with booleans).
fn compare(a: &Value<'_>, b: &Value<'_>) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y),
        (Value::Int(x), Value::Float(y)) => (*x as f64).partial_cmp(y),
        (Value::Float(x), Value::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Value::Str(x), Value::Str(y)) => Some(x.as_ref().cmp(y.as_ref())),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn same_type(a: &Value<'_>, b: &Value<'_>) -> bool {
    matches!(
        (a, b),
        (
            Value::Int(_) | Value::Float(_),
            Value::Int(_) | Value::Float(_)
        ) | (Value::Str(_), Value::Str(_))
            | (Value::Bool(_), Value::Bool(_))
    )
}

fn normalized_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

/// The bucket (`0..100`) of a value in a percent condition: a string by its
/// CRC-32 (salted if the switch has a salt), an integer by `rem_euclid(100)`,
/// a float by `rem_euclid(100.0)`, a boolean at random on every check.
pub(crate) fn bucket_of(value: &Value<'_>, salt: Option<&str>) -> f64 {
    match value {
        Value::Str(s) => f64::from(salted_crc32(salt, s) % 100),
        Value::Int(n) => n.rem_euclid(100) as f64,
        Value::Float(x) => x.rem_euclid(100.0),
        Value::Bool(_) => f64::from(random_bucket()),
    }
}

impl Operator {
    /// `equals value`.
    pub fn equals(value: impl Into<Value<'static>>) -> Self {
        Operator::Equals(value.into())
    }

    /// `between lower and upper`, both exclusive.
    pub fn between(lower: impl Into<Value<'static>>, upper: impl Into<Value<'static>>) -> Self {
        Operator::Between {
            lower: lower.into(),
            upper: upper.into(),
        }
    }

    /// `less_than bound`.
    pub fn less_than(bound: impl Into<Value<'static>>) -> Self {
        Operator::LessThan(bound.into())
    }

    /// `less_than_or_equal_to bound`.
    pub fn less_than_or_equal_to(bound: impl Into<Value<'static>>) -> Self {
        Operator::LessThanOrEqualTo(bound.into())
    }

    /// `more_than bound`.
    pub fn more_than(bound: impl Into<Value<'static>>) -> Self {
        Operator::MoreThan(bound.into())
    }

    /// `more_than_or_equal_to bound`.
    pub fn more_than_or_equal_to(bound: impl Into<Value<'static>>) -> Self {
        Operator::MoreThanOrEqualTo(bound.into())
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
        Ok(Operator::Percent(check_percentage(p)?))
    }

    /// `percent_range lower upper`: `lower <= bucket < upper`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPercentage`] for a bound over 100,
    /// [`Error::InvalidRange`] when `lower > upper`.
    pub fn percent_range(lower: u32, upper: u32) -> Result<Self, Error> {
        let (lower, upper) = (check_percentage(lower)?, check_percentage(upper)?);
        if lower > upper {
            return Err(Error::InvalidRange { lower, upper });
        }
        Ok(Operator::PercentRange { lower, upper })
    }

    /// `strip_ignorecase_equals text`.
    pub fn strip_ignorecase_equals(text: impl Into<String>) -> Self {
        Operator::StripIgnorecaseEquals(text.into())
    }

    /// `matches regex`, compiled now.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRegex`] naming the pattern.
    pub fn matches(pattern: &str) -> Result<Self, Error> {
        Ok(Operator::Matches(Pattern::new(pattern)?))
    }

    /// `one_of values`.
    pub fn one_of<V: Into<Value<'static>>>(values: impl IntoIterator<Item = V>) -> Self {
        Operator::OneOf(values.into_iter().map(Into::into).collect())
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

    /// Judges `value`. `salt` is the switch's salt, used to bucket strings.
    ///
    /// # Errors
    ///
    /// [`ConditionError::TypeMismatch`] when the value's type does not fit.
    pub fn apply(&self, value: &Value<'_>, salt: Option<&str>) -> Result<bool, ConditionError> {
        let ordered = |bound: &Value<'static>, accept: fn(Ordering) -> bool| {
            compare(value, bound)
                .map(accept)
                .ok_or_else(|| mismatch(self, bound, value))
        };
        match self {
            Operator::Equals(expected) => {
                if same_type(value, expected) {
                    Ok(compare(value, expected) == Some(Ordering::Equal))
                } else {
                    Err(mismatch(self, expected, value))
                }
            }
            Operator::Between { lower, upper } => {
                Ok(ordered(lower, Ordering::is_gt)? && ordered(upper, Ordering::is_lt)?)
            }
            Operator::LessThan(bound) => ordered(bound, Ordering::is_lt),
            Operator::LessThanOrEqualTo(bound) => ordered(bound, Ordering::is_le),
            Operator::MoreThan(bound) => ordered(bound, Ordering::is_gt),
            Operator::MoreThanOrEqualTo(bound) => ordered(bound, Ordering::is_ge),
            Operator::Truthy => Ok(match value {
                Value::Bool(b) => *b,
                Value::Int(n) => *n != 0,
                Value::Float(x) => *x != 0.0,
                Value::Str(s) => !s.is_empty(),
            }),
            Operator::Percent(p) => Ok(bucket_of(value, salt) < f64::from(*p)),
            Operator::PercentRange { lower, upper } => {
                let b = bucket_of(value, salt);
                Ok(f64::from(*lower) <= b && b < f64::from(*upper))
            }
            Operator::StripIgnorecaseEquals(expected) => match value {
                Value::Str(s) => Ok(normalized_eq(s, expected)),
                other => Err(ConditionError::TypeMismatch {
                    operator: self.name(),
                    expected: "string",
                    found: other.type_name(),
                }),
            },
            Operator::Matches(pattern) => match value {
                Value::Str(s) => Ok(pattern.is_match(s)),
                other => Err(ConditionError::TypeMismatch {
                    operator: self.name(),
                    expected: "string",
                    found: other.type_name(),
                }),
            },
            Operator::OneOf(options) => {
                let mut comparable = options.is_empty();
                for option in options {
                    if same_type(value, option) {
                        comparable = true;
                        if compare(value, option) == Some(Ordering::Equal) {
                            return Ok(true);
                        }
                    }
                }
                match (comparable, options.first()) {
                    (false, Some(first)) => Err(mismatch(self, first, value)),
                    _ => Ok(false),
                }
            }
        }
    }
}

pub(crate) fn check_percentage(p: u32) -> Result<u8, Error> {
    u8::try_from(p)
        .ok()
        .filter(|p| *p <= 100)
        .ok_or(Error::InvalidPercentage { value: p })
}

/// The JSON form of an operator, validated when turned into an [`Operator`].
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum RawOperator {
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
        Ok(match raw {
            RawOperator::Equals(v) => Operator::Equals(v),
            RawOperator::Between { lower, upper } => Operator::Between { lower, upper },
            RawOperator::LessThan(v) => Operator::LessThan(v),
            RawOperator::LessThanOrEqualTo(v) => Operator::LessThanOrEqualTo(v),
            RawOperator::MoreThan(v) => Operator::MoreThan(v),
            RawOperator::MoreThanOrEqualTo(v) => Operator::MoreThanOrEqualTo(v),
            RawOperator::Truthy => Operator::Truthy,
            RawOperator::Percent(p) => Operator::percent(p)?,
            RawOperator::PercentRange { lower, upper } => Operator::percent_range(lower, upper)?,
            RawOperator::StripIgnorecaseEquals(s) => Operator::StripIgnorecaseEquals(s),
            RawOperator::Matches(p) => Operator::matches(&p)?,
            RawOperator::OneOf(v) => Operator::OneOf(v),
        })
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
