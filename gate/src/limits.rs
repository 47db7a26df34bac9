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
pub const MAX_NAME_LEN: usize = 200;
/// The longest namespace.
pub const MAX_NAMESPACE_LEN: usize = 200;
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
pub const MAX_KIND_LEN: usize = 200;
/// The longest attribute name of a condition (`age`).
pub const MAX_ATTRIBUTE_LEN: usize = 200;
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

/// What kind of text a check is about.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Text {
    /// A name, kind or attribute: no control, zero-width or bidirectional
    /// formatting character, no leading or trailing whitespace.
    Name,
    /// A label or salt: one line, no bidirectional formatting character.
    Line,
    /// A description: lines (newline and tab allowed), no bidirectional
    /// formatting character.
    Lines,
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

/// Checks `text` against the rules of its kind and `max` bytes; the error
/// says what is wrong.
pub(crate) fn check_text(text: &str, max: usize, kind: Text) -> Result<(), String> {
    if text.len() > max {
        return Err(format!("{} bytes long, the most is {max}", text.len()));
    }
    for c in text.chars() {
        let control = match kind {
            Text::Name | Text::Line => c.is_control(),
            Text::Lines => c.is_control() && c != '\n' && c != '\t' && c != '\r',
        };
        if control {
            return Err(format!("control character {c:?} is not allowed"));
        }
        if is_bidi_control(c) {
            return Err(format!(
                "bidirectional formatting character U+{:04X} is not allowed",
                u32::from(c)
            ));
        }
        if kind == Text::Name && is_zero_width(c) {
            return Err(format!(
                "invisible character U+{:04X} is not allowed",
                u32::from(c)
            ));
        }
    }
    if kind == Text::Name
        && (text.starts_with(char::is_whitespace) || text.ends_with(char::is_whitespace))
    {
        return Err("leading or trailing whitespace is not allowed".into());
    }
    Ok(())
}
