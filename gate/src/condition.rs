//! Conditions: argument + attribute + operator (+ negative).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::limits::{self, check_text, Text};
use crate::operator::{ConditionError, Operator, RawOperator};
use crate::value::{Identity, Value};

/// How the identity is written as a condition's `argument` in JSON.
pub const IDENTITY_ARGUMENT: &str = "@id";

/// What a condition looks at: the inputs of one kind, or the identity of
/// any input.
///
/// In JSON it is a string: the kind (`"User"`), or `"@id"` for the identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Argument {
    /// The identity of any input that has one; the attribute is ignored.
    Identity,
    /// Inputs of this kind.
    Kind(String),
}

impl TryFrom<String> for Argument {
    type Error = Error;

    fn try_from(s: String) -> Result<Self, Error> {
        if s == IDENTITY_ARGUMENT {
            Ok(Argument::Identity)
        } else {
            check_kind(&s)?;
            Ok(Argument::Kind(s))
        }
    }
}

/// An input kind: not empty, not starting with `@` (reserved), within
/// [`MAX_KIND_LEN`](limits::MAX_KIND_LEN) and the rules of names (those of
/// `gate-names`, which `#[derive(Arguments)]` checks kinds with too).
fn check_kind(kind: &str) -> Result<(), Error> {
    use gate_names::NameError;
    gate_names::check_kind(kind).map_err(|e| match e {
        NameError::EmptyKind | NameError::ReservedKind => Error::InvalidArgument {
            argument: kind.to_owned(),
        },
        reason => Error::Invalid {
            field: "argument".into(),
            reason: format!("input kind {kind:?}: {reason}"),
        },
    })
}

/// An attribute name: within [`MAX_ATTRIBUTE_LEN`](limits::MAX_ATTRIBUTE_LEN)
/// and the rules of names.
fn check_attribute(attribute: &str) -> Result<(), Error> {
    check_text(attribute, limits::MAX_ATTRIBUTE_LEN, Text::Name).map_err(|reason| Error::Invalid {
        field: "attribute".into(),
        reason: format!("attribute {attribute:?}: {reason}"),
    })
}

impl From<Argument> for String {
    fn from(a: Argument) -> String {
        match a {
            Argument::Identity => IDENTITY_ARGUMENT.to_owned(),
            Argument::Kind(k) => k,
        }
    }
}

impl fmt::Display for Argument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Argument::Identity => f.write_str(IDENTITY_ARGUMENT),
            Argument::Kind(k) => f.write_str(k),
        }
    }
}

/// What [`Condition::new`] takes: an [`Operator`], or the result of
/// building one, so that `Operator::more_than(18)` can be passed as it is
/// and its error (a NaN bound, say) comes out of `Condition::new`.
pub trait IntoOperator {
    /// The operator, or why there is none.
    ///
    /// # Errors
    ///
    /// The error of the operator's constructor.
    fn into_operator(self) -> Result<Operator, Error>;
}

impl IntoOperator for Operator {
    fn into_operator(self) -> Result<Operator, Error> {
        Ok(self)
    }
}

impl IntoOperator for Result<Operator, Error> {
    fn into_operator(self) -> Result<Operator, Error> {
        self
    }
}

/// A rule of a selective switch: the `attribute` of inputs of kind
/// `argument`, judged by `operator`, inverted when `negative`.
///
/// # Examples
///
/// ```
/// use gate::{Condition, Operator};
///
/// let adults = Condition::new("User", "age", Operator::more_than_or_equal_to(18)?)?;
/// // An operator's own error can also be left to `Condition::new`:
/// let not_fr = Condition::new("User", "country", Operator::equals("fr"))?.negative();
/// assert!(Condition::new("User", "age", Operator::more_than(f64::NAN)).is_err());
/// let ten_percent = Condition::identity(Operator::percent(10)?);
/// assert_eq!(
///     serde_json::to_string(&ten_percent).unwrap(),
///     r#"{"argument":"@id","attribute":"","operator":{"percent":10},"negative":false}"#,
/// );
/// assert!(Condition::new("", "age", Operator::truthy()).is_err());
/// # let _ = (adults, not_fr);
/// # Ok::<_, gate::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawCondition")]
#[non_exhaustive]
pub struct Condition {
    /// Which inputs the condition applies to.
    pub argument: Argument,
    /// The attribute it reads (empty for identity conditions).
    #[serde(default)]
    pub attribute: String,
    /// How the value is judged.
    pub operator: Operator,
    /// Inverts the answer (but an error stays false).
    #[serde(default)]
    pub negative: bool,
}

impl Condition {
    /// A condition on the attribute `attribute` of inputs of kind `kind`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for an empty kind or one starting with `@`;
    /// [`Error::InvalidAttribute`] for an empty attribute; [`Error::Invalid`]
    /// for a kind or attribute over the [limits](crate::limits), with
    /// control, invisible or bidirectional characters, or leading or
    /// trailing whitespace; the operator's own error when `operator` is
    /// one (see [`IntoOperator`]).
    pub fn new(
        kind: impl Into<String>,
        attribute: impl Into<String>,
        operator: impl IntoOperator,
    ) -> Result<Self, Error> {
        let operator = operator.into_operator()?;
        let condition = Condition {
            argument: Argument::try_from(kind.into())?,
            attribute: attribute.into(),
            operator,
            negative: false,
        };
        condition.validate()?;
        Ok(condition)
    }

    /// A condition on the identity of any input (bucketed as text).
    pub fn identity(operator: Operator) -> Self {
        Condition {
            argument: Argument::Identity,
            attribute: String::new(),
            operator,
            negative: false,
        }
    }

    /// The same condition, inverted.
    #[must_use]
    pub fn negative(mut self) -> Self {
        self.negative = !self.negative;
        self
    }

    /// Judges the value of this condition's attribute (`None`: missing).
    /// An error is returned as is; the caller treats it as false.
    #[inline]
    pub(crate) fn judge_attribute(
        &self,
        value: Option<Value<'_>>,
        salt: Option<&str>,
    ) -> Result<bool, ConditionError> {
        let value = value.ok_or(ConditionError::MissingAttribute)?;
        let held = match self.common_case(&value) {
            Some(held) => held,
            None => self.operator.apply(&value, salt)?,
        };
        Ok(held != self.negative)
    }

    /// What [`Operator::apply`] answers, for the common operand types it
    /// answers without a type error (integer comparisons, strings in a
    /// list or equal), without its general dispatch; `None` for the rest.
    #[inline]
    fn common_case(&self, value: &Value<'_>) -> Option<bool> {
        Some(match (&self.operator, value) {
            (Operator::OneOf(options), Value::Str(s)) => {
                let mut strings = false;
                for option in options {
                    if let Value::Str(option) = option {
                        if crate::text::same(option.as_bytes(), s.as_bytes()) {
                            return Some(true);
                        }
                        strings = true;
                    }
                }
                // No string to compare with: `apply` reports the mismatch.
                return strings.then_some(false);
            }
            (Operator::OneOf(options), Value::Int(n))
                if options.iter().any(|o| matches!(o, Value::Int(m) if m == n)) =>
            {
                true
            }
            (Operator::Equals(Value::Str(expected)), Value::Str(s)) => {
                crate::text::same(expected.as_bytes(), s.as_bytes())
            }
            (Operator::Equals(Value::Int(expected)), Value::Int(n)) => expected == n,
            (Operator::MoreThan(Value::Int(bound)), Value::Int(n)) => n > bound,
            (Operator::MoreThanOrEqualTo(Value::Int(bound)), Value::Int(n)) => n >= bound,
            (Operator::LessThan(Value::Int(bound)), Value::Int(n)) => n < bound,
            (Operator::LessThanOrEqualTo(Value::Int(bound)), Value::Int(n)) => n <= bound,
            _ => return None,
        })
    }

    /// Judges an identity (as text).
    #[inline]
    pub(crate) fn judge_identity(
        &self,
        identity: &Identity<'_>,
        salt: Option<&str>,
    ) -> Result<bool, ConditionError> {
        // A percentage of identities (the usual rollout) is answered from
        // the id's bucket directly: the same `crc32 % 100` that
        // `Operator::apply` compares, without making it a `Value` first.
        let held = identity.with_text(|text| self.operator.apply(&Value::from(text), salt))?;
        Ok(held != self.negative)
    }

    /// Checks the kind, the attribute and the operator (its fields are
    /// public, so they may have been changed since it was built).
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if let Argument::Kind(kind) = &self.argument {
            check_kind(kind)?;
            if self.attribute.is_empty() {
                return Err(Error::InvalidAttribute {
                    argument: self.argument.to_string(),
                });
            }
        }
        check_attribute(&self.attribute)?;
        self.operator.validate()
    }
}

/// The JSON form of a condition, validated when turned into a
/// [`Condition`].
#[derive(Deserialize)]
pub(crate) struct RawCondition {
    argument: String,
    #[serde(default)]
    attribute: String,
    operator: RawOperator,
    #[serde(default)]
    negative: bool,
}

impl TryFrom<RawCondition> for Condition {
    type Error = Error;

    fn try_from(raw: RawCondition) -> Result<Self, Error> {
        let condition = Condition {
            argument: Argument::try_from(raw.argument)?,
            attribute: raw.attribute,
            operator: Operator::try_from(raw.operator)?,
            negative: raw.negative,
        };
        condition.validate()?;
        Ok(condition)
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negative {
            f.write_str("not ")?;
        }
        match self.argument {
            Argument::Identity => f.write_str("id")?,
            Argument::Kind(ref k) => write!(f, "{k}.{}", self.attribute)?,
        }
        let op = serde_json::to_value(&self.operator).unwrap_or_default();
        match op {
            serde_json::Value::Object(map) => {
                for (name, arg) in map {
                    write!(f, " {name} {arg}")?;
                }
                Ok(())
            }
            other => write!(f, " {}", other.as_str().unwrap_or_default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The common cases answer exactly what `Operator::apply` answers.
    #[test]
    fn the_common_cases_agree_with_apply() {
        let operators = [
            Operator::one_of(["oslo", "berlin", "paris"]),
            Operator::one_of([1i64, 18, 30]),
            Operator::one_of([1.5f64, 30.0]),
            Operator::equals("berlin"),
            Operator::equals(30i64),
            Operator::equals(30.0f64),
            Operator::more_than(18i64),
            Operator::more_than(18.5f64),
            Operator::more_than_or_equal_to(30i64),
            Operator::less_than(30i64),
            Operator::less_than_or_equal_to(30i64),
            Operator::more_than("b"),
        ];
        let values = [
            Value::from("berlin"),
            Value::from("rome"),
            Value::from("30"),
            Value::from(""),
            Value::from("a-much-longer-city-name"),
            Value::from(30i64),
            Value::from(18i64),
            Value::from(-5i64),
            Value::from(30.0f64),
            Value::from(true),
        ];
        let mut answered = 0;
        for operator in operators {
            let operator = operator.unwrap();
            for negative in [false, true] {
                let mut condition = Condition::new("User", "x", operator.clone()).unwrap();
                condition.negative = negative;
                for value in &values {
                    if condition.common_case(value).is_some() {
                        answered += 1;
                    }
                    assert_eq!(
                        condition.judge_attribute(Some(value.clone()), None),
                        operator.apply(value, None).map(|held| held != negative),
                        "{operator:?} {value:?} negative {negative}"
                    );
                }
            }
        }
        assert!(answered > 40, "the common cases answered {answered}");
    }
}
