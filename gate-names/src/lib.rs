//! The rules of the names in [gate](https://docs.rs/gate): switch names,
//! namespaces, input kinds, and the texts stored with a switch.
//!
//! They live in this small crate so that the `gate` crate, which checks
//! every name it is given, and `gate-macros`, which checks the literal
//! names of `#[gate("...")]` and `#[with_switches(...)]` at compile time,
//! apply the very same rules: a name the manager would refuse never
//! compiles. Each check returns a [`NameError`] whose message says what is
//! wrong; the caller adds which name it was about.
//!
//! Lengths are in bytes of UTF-8.
//!
//! # Examples
//!
//! ```
//! use gate_names::{check_name, NameError};
//!
//! assert_eq!(check_name("movies:star_wars"), Ok(()));
//! assert_eq!(check_name("movies::star_wars"), Err(NameError::EmptySegment));
//! assert_eq!(
//!     check_name("a.b").unwrap_err().to_string(),
//!     "`.` is reserved for namespaces"
//! );
//! ```

#![forbid(unsafe_code)]

use std::fmt;

/// The longest switch name (the whole `parent:child` path).
pub const MAX_NAME_LEN: usize = 200;
/// The longest namespace.
pub const MAX_NAMESPACE_LEN: usize = 200;
/// The longest input kind (`User`).
pub const MAX_KIND_LEN: usize = 200;

/// What is wrong with a name or a text. Its `Display` is the reason alone
/// (`` `.` is reserved for namespaces ``), for the caller to put after the
/// name it was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameError {
    /// A switch name is empty.
    EmptyName,
    /// A namespace is empty.
    EmptyNamespace,
    /// An input kind is empty.
    EmptyKind,
    /// Longer than the most allowed.
    TooLong {
        /// The length, in bytes.
        len: usize,
        /// The most allowed, in bytes.
        max: usize,
    },
    /// A `.` in a switch name: it joins a namespace and a name.
    ReservedDot,
    /// A `.` in a namespace: nested namespaces are made one level at a
    /// time.
    NestedNamespace,
    /// An empty part between `:`s (`a::b`, `a:`, `:b`).
    EmptySegment,
    /// A `:` in a namespace: it separates a parent switch from a child.
    ColonInNamespace,
    /// An input kind starting with `@`, which is reserved for `@id`, the
    /// identity.
    ReservedKind,
    /// A control character (a newline, a NUL, …).
    Control(char),
    /// A bidirectional formatting character, which makes a text display in
    /// another order than it is stored in.
    Bidirectional(char),
    /// A zero-width or invisible character, which makes two different
    /// names look the same.
    Invisible(char),
    /// Whitespace at the start or the end of a name.
    SurroundingWhitespace,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::EmptyName => f.write_str("a switch name must not be empty"),
            NameError::EmptyNamespace => f.write_str("a namespace must not be empty"),
            NameError::EmptyKind => f.write_str("a kind must not be empty"),
            NameError::TooLong { len, max } => write!(f, "{len} bytes long, the most is {max}"),
            NameError::ReservedDot => f.write_str("`.` is reserved for namespaces"),
            NameError::NestedNamespace => {
                f.write_str("`.` joins nested namespaces; call namespaced once per level")
            }
            NameError::EmptySegment => {
                f.write_str("`:` separates parent and child, so no part may be empty")
            }
            NameError::ColonInNamespace => f.write_str("`:` separates switch names"),
            NameError::ReservedKind => {
                f.write_str("a kind must not start with `@` (reserved for \"@id\", the identity)")
            }
            NameError::Control(c) => write!(f, "control character {c:?} is not allowed"),
            NameError::Bidirectional(c) => write!(
                f,
                "bidirectional formatting character U+{:04X} is not allowed",
                u32::from(*c)
            ),
            NameError::Invisible(c) => write!(
                f,
                "invisible character U+{:04X} is not allowed",
                u32::from(*c)
            ),
            NameError::SurroundingWhitespace => {
                f.write_str("leading or trailing whitespace is not allowed")
            }
        }
    }
}

impl std::error::Error for NameError {}

/// Checks a switch name: not empty, at most [`MAX_NAME_LEN`] bytes, no `.`
/// (which joins namespaces), no empty part between `:`s, and each part a
/// [`Text::Name`].
///
/// # Errors
///
/// The first rule the name breaks, in that order.
///
/// # Examples
///
/// ```
/// use gate_names::{check_name, NameError};
///
/// assert!(check_name("checkout:new_flow").is_ok());
/// assert_eq!(check_name(""), Err(NameError::EmptyName));
/// assert_eq!(check_name("beta "), Err(NameError::SurroundingWhitespace));
/// ```
pub fn check_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::EmptyName);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong {
            len: name.len(),
            max: MAX_NAME_LEN,
        });
    }
    if name.contains('.') {
        return Err(NameError::ReservedDot);
    }
    if name.split(':').any(str::is_empty) {
        return Err(NameError::EmptySegment);
    }
    name.split(':')
        .try_for_each(|part| check_text(part, MAX_NAME_LEN, Text::Name))
}

/// Checks a namespace: not empty, no `.` or `:`, and a [`Text::Name`] of
/// at most [`MAX_NAMESPACE_LEN`] bytes.
///
/// # Errors
///
/// The first rule the namespace breaks, in that order.
///
/// # Examples
///
/// ```
/// use gate_names::{check_namespace, NameError};
///
/// assert!(check_namespace("billing").is_ok());
/// assert_eq!(check_namespace("a.b"), Err(NameError::NestedNamespace));
/// ```
pub fn check_namespace(namespace: &str) -> Result<(), NameError> {
    if namespace.is_empty() {
        return Err(NameError::EmptyNamespace);
    }
    if namespace.contains('.') {
        return Err(NameError::NestedNamespace);
    }
    if namespace.contains(':') {
        return Err(NameError::ColonInNamespace);
    }
    check_text(namespace, MAX_NAMESPACE_LEN, Text::Name)
}

/// Checks an input kind (`User`, `Request`): not empty, not starting with
/// `@`, and a [`Text::Name`] of at most [`MAX_KIND_LEN`] bytes.
///
/// # Errors
///
/// The first rule the kind breaks, in that order.
///
/// # Examples
///
/// ```
/// use gate_names::{check_kind, NameError};
///
/// assert!(check_kind("User").is_ok());
/// assert_eq!(check_kind("@id"), Err(NameError::ReservedKind));
/// ```
pub fn check_kind(kind: &str) -> Result<(), NameError> {
    if kind.is_empty() {
        return Err(NameError::EmptyKind);
    }
    if kind.starts_with('@') {
        return Err(NameError::ReservedKind);
    }
    check_text(kind, MAX_KIND_LEN, Text::Name)
}

/// What kind of text a [`check_text`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    /// A name, kind or attribute: no control, zero-width or bidirectional
    /// formatting character, no leading or trailing whitespace.
    Name,
    /// A label or salt: one line, no bidirectional formatting character.
    Line,
    /// A description: lines (newline and tab allowed), no bidirectional
    /// formatting character.
    Lines,
}

/// Checks `text` against the rules of its kind and `max` bytes.
///
/// # Errors
///
/// [`NameError::TooLong`], or the first character or whitespace the kind
/// does not allow.
///
/// # Examples
///
/// ```
/// use gate_names::{check_text, NameError, Text};
///
/// assert!(check_text("two\nlines", 100, Text::Lines).is_ok());
/// assert_eq!(check_text("two\nlines", 100, Text::Line), Err(NameError::Control('\n')));
/// ```
pub fn check_text(text: &str, max: usize, kind: Text) -> Result<(), NameError> {
    if text.len() > max {
        return Err(NameError::TooLong {
            len: text.len(),
            max,
        });
    }
    for c in text.chars() {
        let control = match kind {
            Text::Name | Text::Line => c.is_control(),
            Text::Lines => c.is_control() && c != '\n' && c != '\t' && c != '\r',
        };
        if control {
            return Err(NameError::Control(c));
        }
        if is_bidi_control(c) {
            return Err(NameError::Bidirectional(c));
        }
        if kind == Text::Name && is_zero_width(c) {
            return Err(NameError::Invisible(c));
        }
    }
    if kind == Text::Name
        && (text.starts_with(char::is_whitespace) || text.ends_with(char::is_whitespace))
    {
        return Err(NameError::SurroundingWhitespace);
    }
    Ok(())
}

/// Zero-width and invisible formatting characters, which make two
/// different names look the same.
fn is_zero_width(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{180E}' | '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

/// Bidirectional formatting characters, which make text display in
/// another order than it is stored in.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_rules_in_order() {
        let long = "x".repeat(MAX_NAME_LEN + 1);
        let cases: &[(&str, Result<(), NameError>)] = &[
            ("beta", Ok(())),
            ("movies:star_wars", Ok(())),
            ("a:b:c", Ok(())),
            ("héllo wörld", Ok(())),
            ("", Err(NameError::EmptyName)),
            (
                &long,
                Err(NameError::TooLong {
                    len: MAX_NAME_LEN + 1,
                    max: MAX_NAME_LEN,
                }),
            ),
            ("a.b", Err(NameError::ReservedDot)),
            // `.` is reported before the empty part.
            ("a.:", Err(NameError::ReservedDot)),
            ("movies::star_wars", Err(NameError::EmptySegment)),
            ("movies:", Err(NameError::EmptySegment)),
            (":movies", Err(NameError::EmptySegment)),
            ("a\nb", Err(NameError::Control('\n'))),
            ("a\u{0}", Err(NameError::Control('\0'))),
            ("a\u{202E}b", Err(NameError::Bidirectional('\u{202E}'))),
            ("a\u{200B}b", Err(NameError::Invisible('\u{200B}'))),
            ("beta ", Err(NameError::SurroundingWhitespace)),
            // Whitespace around a part, not only around the whole name.
            ("movies: star_wars", Err(NameError::SurroundingWhitespace)),
        ];
        for (name, expected) in cases {
            assert_eq!(check_name(name), *expected, "{name:?}");
        }
        assert_eq!(check_name(&"x".repeat(MAX_NAME_LEN)), Ok(()));
    }

    #[test]
    fn namespaces_follow_the_rules_in_order() {
        let long = "n".repeat(MAX_NAMESPACE_LEN + 1);
        let cases: &[(&str, Result<(), NameError>)] = &[
            ("billing", Ok(())),
            ("", Err(NameError::EmptyNamespace)),
            ("a.b", Err(NameError::NestedNamespace)),
            ("a.b:c", Err(NameError::NestedNamespace)),
            ("a:b", Err(NameError::ColonInNamespace)),
            (
                &long,
                Err(NameError::TooLong {
                    len: MAX_NAMESPACE_LEN + 1,
                    max: MAX_NAMESPACE_LEN,
                }),
            ),
            ("\tbilling", Err(NameError::Control('\t'))),
            (" billing", Err(NameError::SurroundingWhitespace)),
        ];
        for (namespace, expected) in cases {
            assert_eq!(check_namespace(namespace), *expected, "{namespace:?}");
        }
    }

    #[test]
    fn kinds_follow_the_rules_in_order() {
        assert_eq!(check_kind("User"), Ok(()));
        assert_eq!(check_kind(""), Err(NameError::EmptyKind));
        assert_eq!(check_kind("@id"), Err(NameError::ReservedKind));
        assert_eq!(check_kind("@"), Err(NameError::ReservedKind));
        assert_eq!(
            check_kind("Us\u{FEFF}er"),
            Err(NameError::Invisible('\u{FEFF}'))
        );
        assert_eq!(
            check_kind(&"K".repeat(MAX_KIND_LEN + 1)),
            Err(NameError::TooLong {
                len: MAX_KIND_LEN + 1,
                max: MAX_KIND_LEN
            })
        );
    }

    #[test]
    fn lines_allow_newlines_and_tabs_but_not_other_controls() {
        assert_eq!(check_text("a\n\tb\r\n", 100, Text::Lines), Ok(()));
        assert_eq!(
            check_text("a\u{7}", 100, Text::Lines),
            Err(NameError::Control('\u{7}'))
        );
        assert_eq!(
            check_text("a\tb", 100, Text::Line),
            Err(NameError::Control('\t'))
        );
        // Lines and labels may start or end with whitespace and hold
        // invisible characters; never bidirectional ones.
        assert_eq!(check_text(" a\u{200B} ", 100, Text::Line), Ok(()));
        assert_eq!(
            check_text("a\u{2067}", 100, Text::Lines),
            Err(NameError::Bidirectional('\u{2067}'))
        );
        assert_eq!(
            check_text("abc", 2, Text::Line),
            Err(NameError::TooLong { len: 3, max: 2 })
        );
    }

    /// The messages callers show after the name; `gate` and its macros
    /// print them verbatim.
    #[test]
    fn messages() {
        let cases = [
            (NameError::EmptyName, "a switch name must not be empty"),
            (NameError::EmptyNamespace, "a namespace must not be empty"),
            (
                NameError::TooLong { len: 201, max: 200 },
                "201 bytes long, the most is 200",
            ),
            (NameError::ReservedDot, "`.` is reserved for namespaces"),
            (
                NameError::NestedNamespace,
                "`.` joins nested namespaces; call namespaced once per level",
            ),
            (
                NameError::EmptySegment,
                "`:` separates parent and child, so no part may be empty",
            ),
            (NameError::ColonInNamespace, "`:` separates switch names"),
            (
                NameError::Control('\n'),
                "control character '\\n' is not allowed",
            ),
            (
                NameError::Bidirectional('\u{202E}'),
                "bidirectional formatting character U+202E is not allowed",
            ),
            (
                NameError::Invisible('\u{AD}'),
                "invisible character U+00AD is not allowed",
            ),
            (
                NameError::SurroundingWhitespace,
                "leading or trailing whitespace is not allowed",
            ),
        ];
        for (error, message) in cases {
            assert_eq!(error.to_string(), message);
        }
    }
}
