//! The one error type of gate.

use std::sync::Arc;

/// What went wrong in a gate call. Every message names the offending value
/// and, where it helps, says what to do.
///
/// Checks (`active`, `variant`) never return errors; `try_active` returns
/// only [`Error::NotFound`]. Writes and constructors return the others, and
/// nothing already stored changes when they do, with one exception:
/// [`Error::OutcomeUnknown`], a write whose answer did not come, which may
/// or may not have been applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A switch name was empty.
    #[error("a switch name must not be empty")]
    EmptyName,
    /// A switch name was malformed.
    #[error("invalid switch name {name:?}: {reason}")]
    InvalidName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A namespace was malformed.
    #[error("invalid namespace {namespace:?}: {reason}")]
    InvalidNamespace {
        /// The namespace given.
        namespace: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A percentage outside `0..=100`.
    #[error("invalid percentage {value}: a percentage is a whole number from 0 to 100")]
    InvalidPercentage {
        /// The value given.
        value: u32,
    },
    /// A `percent_range` whose lower bound is above its upper bound.
    #[error("invalid percent range {lower}..{upper}: the lower bound must not exceed the upper")]
    InvalidRange {
        /// The lower bound given.
        lower: u8,
        /// The upper bound given.
        upper: u8,
    },
    /// A regular expression that does not compile.
    #[error("invalid regular expression {pattern:?}: {reason}")]
    InvalidRegex {
        /// The pattern given.
        pattern: String,
        /// The regex crate's explanation.
        reason: String,
    },
    /// Variants that cannot be picked from.
    #[error("invalid variants {names:?}: {reason}")]
    InvalidVariants {
        /// The variants' names.
        names: Vec<String>,
        /// What is wrong with them.
        reason: &'static str,
    },
    /// A condition's `argument` was empty or started with `@` (reserved
    /// for `@id`, the identity).
    #[error("invalid condition argument {argument:?}: use an input kind such as \"User\", or \"@id\" for the identity")]
    InvalidArgument {
        /// The argument given.
        argument: String,
    },
    /// A condition on a kind without an attribute.
    #[error("a condition on {argument:?} needs an attribute name")]
    InvalidAttribute {
        /// The condition's argument.
        argument: String,
    },
    /// A switch, or a part of it, breaks one of the rules of what can be
    /// stored (a [limit](crate::limits), a finite number, an operand that
    /// suits its operator, …). `field` names the part: `label`,
    /// `variants[1].name`, `conditions[2].operator`, ….
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The part of the switch that is wrong.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Two switches of one import have the same name. Nothing was written.
    #[error("switch {name:?} is given twice in an import (switches {first} and {position}, counted from 0): give each switch once; nothing was written")]
    DuplicateName {
        /// The name given twice.
        name: String,
        /// Where the first switch of that name is in the import.
        first: usize,
        /// Where this one is.
        position: usize,
    },
    /// No switch of that name.
    #[error("no switch named {name:?}")]
    NotFound {
        /// The name looked up.
        name: String,
    },
    /// A switch of that name already exists.
    #[error("a switch named {name:?} already exists: use update or modify to change it")]
    AlreadyExists {
        /// The name given.
        name: String,
    },
    /// The stored switch changed since it was read: read it again and retry
    /// (or use `modify`, which does).
    #[error("switch {name:?} was changed by someone else (read at version {expected}, now at {found}): read it again and retry, or use modify")]
    Conflict {
        /// The switch's name.
        name: String,
        /// The version the update was based on.
        expected: u64,
        /// The version stored now.
        found: u64,
    },
    /// A read-modify-write (`modify`) gave up: another writer changed the
    /// switch between each of its reads and writes. Nothing was written by
    /// this call.
    #[error("{operation} gave up on switch {name:?} after {attempts} attempts: other writers changed it between each read and write, and this call wrote nothing; call it again, or make the change with a rollout shortcut (allow, set_percentage, enable, …), which never conflicts")]
    Contended {
        /// The switch's name.
        name: String,
        /// What gave up (`modify`, or a shortcut on a storage that has no
        /// atomic form of it).
        operation: &'static str,
        /// How many times it read and tried to write.
        attempts: usize,
    },
    /// JSON that does not describe a valid switch or condition.
    #[error("invalid JSON for {what}: {reason}")]
    InvalidJson {
        /// What was being read.
        what: String,
        /// The parser's explanation.
        reason: String,
    },
    /// A record is stored under this key but cannot be read (malformed
    /// JSON, a version that is not a number, an allow-list that is not a
    /// set, … written by another tool). Nothing was written: repair it
    /// (`gate put`, `PUT` in the admin API, [`Manager::repair`]) or
    /// delete it.
    ///
    /// [`Manager::repair`]: crate::Manager::repair
    #[error("switch {key:?} is stored but cannot be read: {reason}; nothing was written: repair it (gate put, or PUT in the admin API) or delete it")]
    Unreadable {
        /// The storage key (a [`SwitchKey`](crate::SwitchKey) as text:
        /// `name` or `namespace.name`).
        key: String,
        /// What is wrong with the record.
        reason: String,
    },
    /// The storage failed (for Redis: unreachable, refused the write, …).
    /// A write that fails with it was not applied (its message says
    /// "nothing was written"), except in one case its message names: a
    /// Redis script stopped part way by a stored value some other tool
    /// wrote malformed, which Redis cannot roll back.
    ///
    /// Make one with [`Error::storage`] or [`Error::storage_msg`].
    #[error("storage error: {message}")]
    Storage {
        /// What failed, and what became of the write.
        message: String,
        /// The error underneath (a `redis::RedisError`, an
        /// [`std::io::Error`], …), if there is one; also what
        /// [`std::error::Error::source`] gives.
        #[source]
        source: Option<StorageSource>,
    },
    /// A write was sent but its answer did not come (for Redis: no answer
    /// within the timeout, or the connection broke while it was in
    /// flight), and checking its operation id did not tell either: the
    /// write **may or may not have been applied**, and may still be applied
    /// if the store is only hung. The storage checks the id itself first
    /// and returns the write's real result when it can; this error means
    /// it could not. Find out with
    /// [`Manager::write_outcome(id)`](crate::Manager::write_outcome) (or
    /// `gate outcome ID`) once the store answers, which also makes sure a
    /// write that has not been applied never will be; or look for the id in
    /// the audit trail (`op` of a [`HistoryEntry`](crate::history::HistoryEntry)).
    #[error("the outcome of a write ({operation} {name:?}) is unknown: {reason}. The write may or may not have been applied (it may still be applied if the store is only hung): once the store answers, find out with Manager::write_outcome({id:?}) or `gate outcome {id}` before retrying")]
    OutcomeUnknown {
        /// The switch written (the first one, for a batch).
        name: String,
        /// What was being done (`register`, `update`, `allow`, …).
        operation: String,
        /// The write's operation id, recorded with the change.
        id: String,
        /// Why the answer did not come.
        reason: String,
    },
    /// `gate::configure` was called after the default manager was set or
    /// already used.
    #[error("the default manager is already in use: call gate::configure once, before the first check or gate::default()")]
    AlreadyConfigured,
}

impl Error {
    /// An [`Error::Storage`] that keeps the error underneath as its
    /// source.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::error::Error as _;
    ///
    /// let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
    /// let err = gate::Error::storage("cannot write /etc/switches.json: denied", io);
    /// assert_eq!(err.to_string(), "storage error: cannot write /etc/switches.json: denied");
    /// let source = err.source().and_then(|s| s.downcast_ref::<std::io::Error>());
    /// assert_eq!(source.map(|e| e.kind()), Some(std::io::ErrorKind::PermissionDenied));
    /// ```
    pub fn storage(
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        Error::Storage {
            message: message.into(),
            source: Some(StorageSource(Arc::from(source.into()))),
        }
    }

    /// An [`Error::Storage`] with no error underneath.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = gate::Error::storage_msg("the store is read-only");
    /// assert_eq!(err.to_string(), "storage error: the store is read-only");
    /// assert!(matches!(err, gate::Error::Storage { source: None, .. }));
    /// ```
    pub fn storage_msg(message: impl Into<String>) -> Error {
        Error::Storage {
            message: message.into(),
            source: None,
        }
    }

    /// For an error about invalid input, the field it is about: `name`
    /// (also for [`Error::DuplicateName`]), `namespace`, `percentage`,
    /// `operator`, `variants`, `argument`, `attribute`, or the field of
    /// [`Error::Invalid`] (`conditions[2].operator`, …). `None` for the
    /// other errors.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = gate::Operator::less_than(f64::NAN).unwrap_err();
    /// assert_eq!(err.field(), Some("operator"));
    /// assert_eq!(gate::Error::EmptyName.field(), Some("name"));
    /// ```
    pub fn field(&self) -> Option<&str> {
        Some(match self {
            Error::EmptyName | Error::InvalidName { .. } | Error::DuplicateName { .. } => "name",
            Error::InvalidNamespace { .. } => "namespace",
            Error::InvalidPercentage { .. } => "percentage",
            Error::InvalidRange { .. } | Error::InvalidRegex { .. } => "operator",
            Error::InvalidVariants { .. } => "variants",
            Error::InvalidArgument { .. } => "argument",
            Error::InvalidAttribute { .. } => "attribute",
            Error::Invalid { field, .. } => field,
            _ => return None,
        })
    }

    /// This validation error as one about `prefix` (`conditions[2]`): an
    /// [`Error::Invalid`] whose field is `prefix.field`.
    pub(crate) fn within(self, prefix: &str) -> Error {
        match self {
            Error::Invalid { field, reason } => Error::Invalid {
                field: format!("{prefix}.{field}"),
                reason,
            },
            other => Error::Invalid {
                field: match other.field() {
                    Some(field) => format!("{prefix}.{field}"),
                    None => prefix.to_owned(),
                },
                reason: other.to_string(),
            },
        }
    }
}

/// The error a `#[gate("feature")]` function returns (converted with
/// `.into()`) when its switch is off and it returns a `Result`.
///
/// # Examples
///
/// ```
/// let off = gate::Inactive::new("beta");
/// assert_eq!(off.name(), "beta");
/// assert_eq!(off.to_string(), "the feature \"beta\" is not active");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("the feature {name:?} is not active")]
pub struct Inactive {
    name: &'static str,
}

impl Inactive {
    /// The error for the switch `name`.
    pub const fn new(name: &'static str) -> Self {
        Inactive { name }
    }

    /// The switch's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

/// The error underneath an [`Error::Storage`] (a `redis::RedisError`, an
/// [`std::io::Error`], …). It derefs to that error, and
/// [`std::error::Error::source`] of the [`Error`] gives that error itself,
/// so it can be downcast. Shared, so that [`Error`] stays `Clone`; two
/// are equal when they read the same.
#[derive(Clone)]
pub struct StorageSource(Arc<dyn std::error::Error + Send + Sync>);

impl std::ops::Deref for StorageSource {
    type Target = dyn std::error::Error + Send + Sync;

    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl std::fmt::Debug for StorageSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

impl std::fmt::Display for StorageSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&*self.0, f)
    }
}

impl PartialEq for StorageSource {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.to_string() == other.0.to_string()
    }
}

impl Eq for StorageSource {}

#[cfg(test)]
mod tests {
    use super::Error;
    use std::error::Error as _;

    /// The source is the error underneath itself (not a wrapper), and the
    /// error stays `Send + Sync + Clone + Eq`.
    #[test]
    fn a_storage_error_keeps_its_source() {
        fn traits<T: Send + Sync + Clone + Eq + std::error::Error + 'static>() {}
        traits::<Error>();
        let io = std::io::Error::other("disk full");
        let err = Error::storage("cannot write: disk full", io);
        assert_eq!(err.to_string(), "storage error: cannot write: disk full");
        let source = err.source().expect("a source");
        assert!(
            source.downcast_ref::<std::io::Error>().is_some(),
            "{source:?}"
        );
        assert_eq!(err.clone(), err);
        assert_ne!(err, Error::storage_msg("cannot write: disk full"));
        assert!(Error::storage_msg("x").source().is_none());
    }
}
