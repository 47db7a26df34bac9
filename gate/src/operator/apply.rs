//! [`Operator::apply`]: how an operator judges a value (on the check
//! path), with the comparisons and the percentage bucket it uses, and
//! [`ConditionError`], why it could not.

use std::cmp::Ordering;

use super::Operator;
use crate::bucket::{random_bucket, salted_crc32};
use crate::value::Value;

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
pub(super) fn compare(a: &Value<'_>, b: &Value<'_>) -> Option<Ordering> {
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

/// Whether two values of compatible types are equal: `compare(a, b) ==
/// Some(Equal)`, without ordering strings byte by byte.
#[inline]
fn equal(a: &Value<'_>, b: &Value<'_>) -> bool {
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => x.as_ref() == y.as_ref(),
        (Value::Int(x), Value::Int(y)) => x == y,
        _ => compare(a, b) == Some(Ordering::Equal),
    }
}

pub(super) fn same_type(a: &Value<'_>, b: &Value<'_>) -> bool {
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
                    Ok(equal(value, expected))
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
            Operator::Percent(p) => Ok(bucket_of(value, salt) < f64::from(p.get())),
            Operator::PercentRange { lower, upper } => {
                let b = bucket_of(value, salt);
                Ok(f64::from(lower.get()) <= b && b < f64::from(upper.get()))
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
                        if equal(value, option) {
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
