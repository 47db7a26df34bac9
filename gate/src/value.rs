//! Values of attributes and identities of inputs.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::bucket::IntText;

/// The value of an input's attribute, as conditions see it.
///
/// Strings borrow from the input when they can, so reading an attribute
/// does not allocate. In JSON a value is written as itself: `true`, `42`,
/// `1.5`, `"text"`.
///
/// # Examples
///
/// ```
/// use gate::Value;
///
/// assert_eq!(Value::from(42u8), Value::Int(42));
/// assert_eq!(Value::from("fr"), Value::Str("fr".into()));
/// assert_eq!(serde_json::to_string(&Value::from(1.5)).unwrap(), "1.5");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value<'a> {
    /// A boolean.
    Bool(bool),
    /// An integer (every integer type up to 64 bits that fits in an `i64`).
    Int(i64),
    /// A floating point number.
    Float(f64),
    /// A string.
    Str(Cow<'a, str>),
}

impl Value<'_> {
    /// The value without borrows, to keep it in a condition.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Bool(b) => Value::Bool(b),
            Value::Int(i) => Value::Int(i),
            Value::Float(f) => Value::Float(f),
            Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
        }
    }

    /// A borrowed copy of this value (no allocation).
    pub fn borrowed(&self) -> Value<'_> {
        match self {
            Value::Bool(b) => Value::Bool(*b),
            Value::Int(i) => Value::Int(*i),
            Value::Float(f) => Value::Float(*f),
            Value::Str(s) => Value::Str(Cow::Borrowed(s)),
        }
    }

    /// The name of this value's type, for error messages: `bool`, `int`,
    /// `float` or `string`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
        }
    }
}

impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Str(s) => write!(f, "{s:?}"),
        }
    }
}

impl From<bool> for Value<'_> {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

macro_rules! small_ints {
    ($($t:ty),*) => {$(
        impl From<$t> for Value<'_> {
            fn from(n: $t) -> Self {
                Value::Int(i64::from(n))
            }
        }
    )*};
}
small_ints!(i8, i16, i32, i64, u8, u16, u32);

macro_rules! big_ints {
    ($($t:ty),*) => {$(
        /// Integers that do not fit in an `i64` become a `Float`.
        impl From<$t> for Value<'_> {
            fn from(n: $t) -> Self {
                match i64::try_from(n) {
                    Ok(i) => Value::Int(i),
                    Err(_) => Value::Float(n as f64),
                }
            }
        }
    )*};
}
big_ints!(u64, i128, u128, isize, usize);

impl From<f32> for Value<'_> {
    fn from(x: f32) -> Self {
        Value::Float(f64::from(x))
    }
}

impl From<f64> for Value<'_> {
    fn from(x: f64) -> Self {
        Value::Float(x)
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(s: &'a str) -> Self {
        Value::Str(Cow::Borrowed(s))
    }
}

impl From<String> for Value<'_> {
    fn from(s: String) -> Self {
        Value::Str(Cow::Owned(s))
    }
}

impl<'a> From<Cow<'a, str>> for Value<'a> {
    fn from(s: Cow<'a, str>) -> Self {
        Value::Str(s)
    }
}

/// Turns a field into an attribute [`Value`]; `None` means the attribute
/// is missing.
///
/// `#[derive(Arguments)]` calls it for every field that is not skipped.
/// It is implemented for `bool`, the integer and float types, `String`,
/// `str`, `Cow<str>`, references and `Option` of those; implement it for
/// your own types to use them as attributes.
///
/// # Examples
///
/// ```
/// use gate::{ToValue, Value};
///
/// enum Plan { Free, Pro }
///
/// impl ToValue for Plan {
///     fn to_value(&self) -> Option<Value<'_>> {
///         Some(Value::from(match self { Plan::Free => "free", Plan::Pro => "pro" }))
///     }
/// }
///
/// assert_eq!(Plan::Pro.to_value(), Some(Value::from("pro")));
/// assert_eq!(None::<u8>.to_value(), None);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an attribute of an input: it does not implement `gate::ToValue`",
    label = "unsupported attribute type `{Self}`",
    note = "#[derive(Arguments)] supports bool, integers, f32/f64, String, &str, Cow<str>, Option of those, and types implementing `gate::ToValue`",
    note = "mark the field #[gate(skip)], compute it with #[gate(with = path::to::fn)], or implement `gate::ToValue` for the type"
)]
pub trait ToValue {
    /// This value as an attribute, or `None` if it is missing.
    fn to_value(&self) -> Option<Value<'_>>;
}

macro_rules! copy_to_value {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Option<Value<'_>> {
                Some(Value::from(*self))
            }
        }
    )*};
}
copy_to_value!(bool, i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64);

impl ToValue for str {
    fn to_value(&self) -> Option<Value<'_>> {
        Some(Value::Str(Cow::Borrowed(self)))
    }
}

impl ToValue for String {
    fn to_value(&self) -> Option<Value<'_>> {
        Some(Value::Str(Cow::Borrowed(self)))
    }
}

impl ToValue for Cow<'_, str> {
    fn to_value(&self) -> Option<Value<'_>> {
        Some(Value::Str(Cow::Borrowed(self)))
    }
}

impl ToValue for Value<'_> {
    fn to_value(&self) -> Option<Value<'_>> {
        Some(self.borrowed())
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Option<Value<'_>> {
        (**self).to_value()
    }
}

impl<T: ToValue + ?Sized> ToValue for Box<T> {
    fn to_value(&self) -> Option<Value<'_>> {
        (**self).to_value()
    }
}

impl<T: ToValue + ?Sized> ToValue for std::sync::Arc<T> {
    fn to_value(&self) -> Option<Value<'_>> {
        (**self).to_value()
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Option<Value<'_>> {
        self.as_ref().and_then(ToValue::to_value)
    }
}

/// The identity of an input: what percentages, allow-lists and id rules
/// look at. It is always judged as text: the integer `443301` and the
/// string `"443301"` are the same identity.
///
/// # Examples
///
/// ```
/// use gate::Identity;
///
/// assert_eq!(Identity::from(1007u64).with_text(|t| t.to_owned()), "1007");
/// assert_eq!(Identity::from(1007u64), Identity::from("1007"));
/// ```
#[derive(Debug, Clone)]
pub enum Identity<'a> {
    /// A textual id.
    Str(Cow<'a, str>),
    /// An integer id, judged as its decimal digits.
    Int(i128),
}

impl Identity<'_> {
    /// Calls `f` with the identity as text, without allocating.
    pub fn with_text<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        match self {
            Identity::Str(s) => f(s),
            Identity::Int(n) => f(IntText::new(*n).as_str()),
        }
    }
}

impl PartialEq for Identity<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.with_text(|a| other.with_text(|b| a == b))
    }
}

impl Eq for Identity<'_> {}

impl fmt::Display for Identity<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_text(|t| f.write_str(t))
    }
}

macro_rules! int_identity {
    ($($t:ty),*) => {$(
        impl From<$t> for Identity<'_> {
            fn from(n: $t) -> Self {
                Identity::Int(n as i128)
            }
        }
        impl ToIdentity for $t {
            fn to_identity(&self) -> Option<Identity<'_>> {
                Some(Identity::Int(*self as i128))
            }
        }
    )*};
}
int_identity!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, usize);

impl<'a> From<&'a str> for Identity<'a> {
    fn from(s: &'a str) -> Self {
        Identity::Str(Cow::Borrowed(s))
    }
}

impl From<String> for Identity<'_> {
    fn from(s: String) -> Self {
        Identity::Str(Cow::Owned(s))
    }
}

/// Turns a field into an [`Identity`]; `None` means the input has none.
///
/// `#[derive(Arguments)]` calls it for the field marked `#[gate(id)]`.
/// Implemented for the integer types, `String`, `str`, `Cow<str>`,
/// references and `Option` of those.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the identity of an input: it does not implement `gate::ToIdentity`",
    label = "unsupported identity type `{Self}`",
    note = "an identity is an integer, String, &str, Cow<str> or an Option of those; or implement `gate::ToIdentity` for the type"
)]
pub trait ToIdentity {
    /// This value as an identity, or `None`.
    fn to_identity(&self) -> Option<Identity<'_>>;
}

impl ToIdentity for u128 {
    fn to_identity(&self) -> Option<Identity<'_>> {
        match i128::try_from(*self) {
            Ok(n) => Some(Identity::Int(n)),
            Err(_) => Some(Identity::Str(Cow::Owned(self.to_string()))),
        }
    }
}

impl ToIdentity for str {
    fn to_identity(&self) -> Option<Identity<'_>> {
        Some(Identity::Str(Cow::Borrowed(self)))
    }
}

impl ToIdentity for String {
    fn to_identity(&self) -> Option<Identity<'_>> {
        Some(Identity::Str(Cow::Borrowed(self)))
    }
}

impl ToIdentity for Cow<'_, str> {
    fn to_identity(&self) -> Option<Identity<'_>> {
        Some(Identity::Str(Cow::Borrowed(self)))
    }
}

impl<T: ToIdentity + ?Sized> ToIdentity for &T {
    fn to_identity(&self) -> Option<Identity<'_>> {
        (**self).to_identity()
    }
}

impl<T: ToIdentity + ?Sized> ToIdentity for Box<T> {
    fn to_identity(&self) -> Option<Identity<'_>> {
        (**self).to_identity()
    }
}

impl<T: ToIdentity + ?Sized> ToIdentity for std::sync::Arc<T> {
    fn to_identity(&self) -> Option<Identity<'_>> {
        (**self).to_identity()
    }
}

impl<T: ToIdentity> ToIdentity for Option<T> {
    fn to_identity(&self) -> Option<Identity<'_>> {
        self.as_ref().and_then(ToIdentity::to_identity)
    }
}
