//! The limits every switch is checked against when it is written and when
//! it is read back, so that whatever a write path accepts can be stored,
//! read back by every node and tool, and evaluated quickly.
//!
//! Lengths are in bytes of UTF-8. A switch over a limit is refused with
//! [`Error::Invalid`](crate::Error::Invalid) (or a more specific error)
//! naming the field.
//!
//! # Examples
//!
//! ```
//! use gate::{limits, Switch};
//!
//! let long = "x".repeat(limits::MAX_NAME_LEN + 1);
//! let err = Switch::new(long).validate().unwrap_err();
//! assert_eq!(err.field(), Some("name"));
//! ```

/// The longest switch name (the whole `parent:child` path).
pub const MAX_NAME_LEN: usize = gate_names::MAX_NAME_LEN;
/// The longest namespace.
pub const MAX_NAMESPACE_LEN: usize = gate_names::MAX_NAMESPACE_LEN;
/// The longest label.
pub const MAX_LABEL_LEN: usize = 200;
/// The longest description.
pub const MAX_DESCRIPTION_LEN: usize = 4096;
/// The longest salt.
pub const MAX_SALT_LEN: usize = 200;
/// The most conditions one switch may have.
pub const MAX_CONDITIONS: usize = 100;
/// The most variants one switch may have.
pub const MAX_VARIANTS: usize = 100;
/// The longest variant name.
pub const MAX_VARIANT_NAME_LEN: usize = 200;
/// The longest input kind of a condition (`User`).
pub const MAX_KIND_LEN: usize = gate_names::MAX_KIND_LEN;
/// The longest attribute name of a condition (`age`).
pub const MAX_ATTRIBUTE_LEN: usize = 200;
/// Unknown switch names a manager remembers (and logs, once each); more
/// are counted, not listed ([`Manager::unknown_names`](crate::Manager::unknown_names)).
pub const MAX_UNKNOWN_NAMES: usize = 1024;
/// The longest string an operator compares with (`equals "fr"`, …).
pub const MAX_OPERAND_LEN: usize = 1024;
/// The most values of a `one_of`.
pub const MAX_ONE_OF_VALUES: usize = 1000;
/// The longest regular expression source.
pub const MAX_PATTERN_LEN: usize = 1024;
/// The most memory a regular expression's automaton may take once
/// compiled. A pattern is compiled into a deterministic automaton that
/// reads an id byte by byte in constant time per byte, whatever the
/// pattern, so every accepted pattern judges a 100 KB id in well under a
/// millisecond; patterns whose automaton would be larger (nested counted
/// repetitions such as `(?:a{100}){100}b`, long repetitions of Unicode
/// classes such as `\w{10}`) are refused.
pub const MAX_PATTERN_BYTES: usize = 1024 * 1024;
/// The most memory all the regular expressions of one switch may take
/// together, once compiled.
pub const MAX_SWITCH_PATTERN_BYTES: usize = 4 * 1024 * 1024;

/// What kind of text a check is about (the rules live in `gate-names`,
/// which the macros check names with too).
pub(crate) use gate_names::Text;

/// Checks `text` against the rules of its kind and `max` bytes; the error
/// says what is wrong.
pub(crate) fn check_text(text: &str, max: usize, kind: Text) -> Result<(), String> {
    gate_names::check_text(text, max, kind).map_err(|e| e.to_string())
}

/// How many times a read-modify-write (`Manager::modify`, a shortcut on a
/// storage without its own) retries after a conflict before giving up with
/// [`Error::Contended`](crate::Error::Contended).
pub(crate) const MODIFY_ATTEMPTS: usize = 64;
