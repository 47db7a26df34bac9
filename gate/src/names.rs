//! Switch names and namespaces, checked by the rules of the `gate-names`
//! crate (which the macros check literal names with at compile time) and
//! reported as gate's [`Error`]s.

use crate::error::Error;

/// Checks a switch name: non-empty, at most
/// [`MAX_NAME_LEN`](crate::limits::MAX_NAME_LEN) bytes, no empty `:`
/// segments, no `.` (which joins namespaces), no control, invisible or
/// bidirectional characters, no whitespace around a segment.
pub(crate) fn validate_name(name: &str) -> Result<(), Error> {
    gate_names::check_name(name).map_err(|e| match e {
        gate_names::NameError::EmptyName => Error::EmptyName,
        reason => Error::InvalidName {
            name: name.to_owned(),
            reason: reason.to_string(),
        },
    })
}

/// Checks a namespace: non-empty, without `.` or `:`, within
/// [`MAX_NAMESPACE_LEN`](crate::limits::MAX_NAMESPACE_LEN) and the rules
/// of names.
pub(crate) fn validate_namespace(ns: &str) -> Result<(), Error> {
    gate_names::check_namespace(ns).map_err(|reason| Error::InvalidNamespace {
        namespace: ns.to_owned(),
        reason: reason.to_string(),
    })
}
