//! Operators: how a condition judges one value.

use std::cmp::Ordering;
use std::fmt;

use std::sync::Arc;

use regex_automata::dfa::{dense, Automaton, StartKind};
use regex_automata::nfa::thompson;
use regex_automata::Input;
use serde::{Deserialize, Serialize};

use crate::bucket::{random_bucket, salted_crc32};
use crate::error::Error;
use crate::limits;
use crate::value::Value;

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

/// A whole percentage from 0 to 100: it cannot be built out of range.
///
/// # Examples
///
/// ```
/// use gate::Percentage;
///
/// assert_eq!(Percentage::new(20)?.get(), 20);
/// assert!(Percentage::new(101).is_err());
/// assert_eq!(serde_json::to_string(&Percentage::HUNDRED).unwrap(), "100");
/// assert!(serde_json::from_str::<Percentage>("200").is_err());
/// # Ok::<_, gate::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Percentage(u8);

impl Percentage {
    /// 0 %: nobody.
    pub const ZERO: Percentage = Percentage(0);
    /// 100 %: everybody.
    pub const HUNDRED: Percentage = Percentage(100);

    /// `p` percent.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPercentage`] when `p > 100`.
    pub fn new(p: u32) -> Result<Percentage, Error> {
        u8::try_from(p)
            .ok()
            .filter(|p| *p <= 100)
            .map(Percentage)
            .ok_or(Error::InvalidPercentage { value: p })
    }

    /// The percentage, from 0 to 100.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u32> for Percentage {
    type Error = Error;

    fn try_from(p: u32) -> Result<Self, Error> {
        Percentage::new(p)
    }
}

impl From<Percentage> for u32 {
    fn from(p: Percentage) -> u32 {
        u32::from(p.0)
    }
}

impl fmt::Display for Percentage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0)
    }
}

/// A compiled regular expression that compares and serializes as its
/// source.
///
/// It is compiled into a deterministic automaton that reads a text byte by
/// byte in constant time per byte and without allocating, so a match takes
/// time proportional to the text whatever the pattern. Patterns whose
/// automaton would exceed [`MAX_PATTERN_BYTES`](crate::limits::MAX_PATTERN_BYTES),
/// or longer than [`MAX_PATTERN_LEN`](crate::limits::MAX_PATTERN_LEN), are
/// refused; so are Unicode word boundaries (`\b`), which such an automaton
/// cannot decide (write `(?-u:\b)` for ASCII word boundaries). Cloning is
/// cheap: the automaton is shared.
#[derive(Clone)]
pub struct Pattern(Arc<Compiled>);

struct Compiled {
    source: Box<str>,
    dfa: dense::DFA<Vec<u32>>,
}

impl Pattern {
    /// Compiles `pattern`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRegex`] naming the pattern and saying what is wrong
    /// (its syntax, its length, the size of its automaton).
    ///
    /// # Examples
    ///
    /// ```
    /// let p = gate::Pattern::new(r"^user-\d+$")?;
    /// assert!(p.is_match("user-42"));
    /// assert!(gate::Pattern::new("(?:a{100}){100}b").is_err());
    /// # Ok::<_, gate::Error>(())
    /// ```
    pub fn new(pattern: &str) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidRegex {
            pattern: pattern.to_owned(),
            reason,
        };
        if pattern.len() > limits::MAX_PATTERN_LEN {
            return Err(invalid(format!(
                "{} bytes long, the most is {}",
                pattern.len(),
                limits::MAX_PATTERN_LEN
            )));
        }
        let hir =
            regex_automata::util::syntax::parse(pattern).map_err(|e| invalid(e.to_string()))?;
        let too_big = || {
            invalid(format!(
                "it is too complex: its automaton would exceed {} bytes (nested or long counted \
                 repetitions such as (?:a{{100}}){{100}}, or repeated Unicode classes such as \\w{{10}}: \
                 simplify it, or use ASCII classes such as [a-z0-9_])",
                limits::MAX_PATTERN_BYTES
            ))
        };
        let nfa = thompson::Compiler::new()
            .configure(thompson::Config::new().nfa_size_limit(Some(limits::MAX_PATTERN_BYTES / 4)))
            .build_from_hir(&hir)
            .map_err(|_| too_big())?;
        let dfa = dense::Builder::new()
            .configure(
                dense::Config::new()
                    .start_kind(StartKind::Unanchored)
                    // Acceleration speeds up some texts and slows others
                    // down; without it every byte costs the same.
                    .accelerate(false)
                    .dfa_size_limit(Some(limits::MAX_PATTERN_BYTES))
                    .determinize_size_limit(Some(2 * limits::MAX_PATTERN_BYTES)),
            )
            .build_from_nfa(&nfa)
            .map_err(|e| {
                if e.is_size_limit_exceeded() {
                    too_big()
                } else if e.to_string().contains("Unicode word boundar") {
                    invalid(
                        "Unicode word boundaries (\\b, \\B) are not supported: use (?-u:\\b) for ASCII word boundaries"
                            .into(),
                    )
                } else {
                    invalid(e.to_string())
                }
            })?;
        Ok(Pattern(Arc::new(Compiled {
            source: pattern.into(),
            dfa,
        })))
    }

    /// The source text of the expression.
    pub fn as_str(&self) -> &str {
        &self.0.source
    }

    /// Whether `text` matches (anywhere: anchor with `^` and `$`).
    #[inline]
    pub fn is_match(&self, text: &str) -> bool {
        let input = Input::new(text).earliest(true);
        matches!(self.0.dfa.try_search_fwd(&input), Ok(Some(_)))
    }

    /// The memory the compiled automaton takes, in bytes.
    pub fn memory_usage(&self) -> usize {
        self.0.dfa.memory_usage()
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
