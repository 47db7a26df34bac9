//! Feature switches for Rust services.
//!
//! Turn a feature on for everybody, nobody, a percentage of users, named
//! users, users whose id matches a pattern, or inputs whose attributes meet
//! conditions — and change it at run time. Checks read an in-process
//! snapshot: they take nanoseconds, never allocate, never block and never
//! fail.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use gate::{Condition, Manager, Operator, State, Switch};
//!
//! let manager = Manager::in_memory();
//! manager.set_percentage("new_search", 20).await?;
//! manager.register(
//!     Switch::new("senior_discount")
//!         .state(State::Selective)
//!         .condition(Condition::new("User", "age", Operator::more_than_or_equal_to(65)?)?),
//! ).await?;
//!
//! assert!(manager.active("new_search", "443301"));   // bucket 5 < 20
//! assert!(!manager.active("new_search", "44488"));   // bucket 88
//! # Ok::<_, gate::Error>(())
//! # }).unwrap();
//! ```
//!
//! See the README for the guide: rollouts, switches and conditions,
//! hierarchy and concent, namespaces, signals, context and testing.

mod arguments;
mod autocreate;
mod bucket;
mod condition;
#[doc(hidden)]
pub mod conformance;
mod context;
pub mod diff;
mod error;
mod eval;
pub mod explain;
pub mod history;
pub mod import;
mod json_input;
mod key;
pub mod limits;
mod manager;
mod names;
mod operator;
pub mod recovery;
mod replica;
mod retry;
pub mod signals;
pub mod storage;
mod switch;
pub mod testing;
mod text;
mod unknown;
mod users;
mod value;

use std::sync::OnceLock;

pub use arguments::{Arguments, Inputs, ID_KIND};
pub use bucket::{bucket, crc32};
pub use condition::{Argument, Condition, IntoOperator, IDENTITY_ARGUMENT};
pub use context::{scope, scope_sync, Context, IntoInputs, SharedInput};
pub use diff::SwitchDiff;
pub use error::{Error, Inactive, StorageSource};
pub use explain::Explanation;
pub use json_input::JsonInput;
pub use key::SwitchKey;
pub use manager::{Builder, Declaration, Declared, Manager, AUTOCREATE_ACTOR, DEFAULT_ACTOR};
pub use operator::{ConditionError, Operator, Pattern, Percentage};
pub use retry::RetryPolicy;
pub use signals::Signals;
pub use storage::{BatchWrite, MemoryStorage, Storage};
pub use switch::{State, Switch, Users, Variant};
pub use value::{Identity, ToIdentity, ToValue, Value};

pub use gate_macros::{gate, with_switches, Arguments};

/// Support for the macros' generated code; not a public API.
///
/// The generated code goes through the traits below rather than gate's
/// public ones, so that a mistake is reported with gate's own message and
/// without rustc's list of the types that do implement the trait (which
/// changes with every impl and every compiler): each has one blanket impl,
/// marked `do_not_recommend`, over the public trait.
#[doc(hidden)]
pub mod __private {
    pub use crate::testing::{override_switch, OverrideGuard};
    pub use crate::{default, Arguments, Identity, Inactive, Manager, ToIdentity, ToValue, Value};
    pub use std::option::Option::{self, None, Some};
    pub use std::result::Result::{self, Err, Ok};

    use crate::{Inputs, Value as V};

    /// What a `#[gate(with = path)]` function may return: a value, or an
    /// `Option` of one (`None` = the attribute is missing).
    #[diagnostic::on_unimplemented(
        message = "a `#[gate(with = ...)]` function must return a value convertible into `gate::Value`, or an `Option` of one; found `{Self}`",
        label = "returns `{Self}`"
    )]
    pub trait IntoAttribute<'a> {
        /// The attribute's value.
        fn into_attribute(self) -> Option<V<'a>>;
    }

    #[diagnostic::do_not_recommend]
    impl<'a, T: Into<V<'a>>> IntoAttribute<'a> for T {
        #[inline]
        fn into_attribute(self) -> Option<V<'a>> {
            Some(self.into())
        }
    }

    #[diagnostic::do_not_recommend]
    impl<'a, T: Into<V<'a>>> IntoAttribute<'a> for Option<T> {
        #[inline]
        fn into_attribute(self) -> Option<V<'a>> {
            self.map(Into::into)
        }
    }

    /// A field of `#[derive(Arguments)]` read as an attribute.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be an attribute of an input: it does not implement `gate::ToValue`",
        label = "unsupported attribute type `{Self}`",
        note = "#[derive(Arguments)] supports bool, integers, f32/f64, String, &str, Cow<str>, Option of those, and types implementing `gate::ToValue`",
        note = "mark the field #[gate(skip)], compute it with #[gate(with = path::to::fn)], or implement `gate::ToValue` for the type"
    )]
    pub trait AttributeField {
        /// The field as an attribute.
        fn attribute_field(&self) -> Option<V<'_>>;
    }

    #[diagnostic::do_not_recommend]
    impl<T: ToValue + ?Sized> AttributeField for T {
        #[inline]
        fn attribute_field(&self) -> Option<V<'_>> {
            self.to_value()
        }
    }

    /// The `#[gate(id)]` field of `#[derive(Arguments)]`.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be the identity of an input: it does not implement `gate::ToIdentity`",
        label = "unsupported identity type `{Self}`",
        note = "an identity is an integer, String, &str, Cow<str> or an Option of those; or implement `gate::ToIdentity` for the type"
    )]
    pub trait IdentityField {
        /// The field as an identity.
        fn identity_field(&self) -> Option<Identity<'_>>;
    }

    #[diagnostic::do_not_recommend]
    impl<T: ToIdentity + ?Sized> IdentityField for T {
        #[inline]
        fn identity_field(&self) -> Option<Identity<'_>> {
            self.to_identity()
        }
    }

    /// The parameter of `#[gate("...", arg = x)]`, checked against a
    /// switch.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be the input of a check: it does not implement `gate::Arguments`",
        label = "not an input",
        note = "an input implements `gate::Arguments` (usually with #[derive(gate::Arguments)]): a derived struct, a plain id (a string or an integer), `gate::JsonInput`"
    )]
    pub trait Input {
        /// `manager.active(name, self)`.
        fn active_for(&self, manager: &Manager, name: &str) -> bool;
    }

    #[diagnostic::do_not_recommend]
    impl<T: Arguments + ?Sized> Input for T {
        #[inline]
        fn active_for(&self, manager: &Manager, name: &str) -> bool {
            manager.active(name, self)
        }
    }

    /// The parameters of `#[gate("...", args(a, b))]`, as a tuple of
    /// references, checked against a switch.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be the inputs of a check: each of `args(...)` must implement `gate::Arguments`",
        label = "not inputs",
        note = "an input implements `gate::Arguments` (usually with #[derive(gate::Arguments)]): a derived struct, a plain id (a string or an integer), `gate::JsonInput`"
    )]
    pub trait InputList {
        /// `manager.active(name, self)`.
        fn active_for(self, manager: &Manager, name: &str) -> bool;
    }

    #[diagnostic::do_not_recommend]
    impl<T: Inputs> InputList for T {
        #[inline]
        fn active_for(self, manager: &Manager, name: &str) -> bool {
            manager.active(name, self)
        }
    }

    /// The error type of a `#[gate]` function returning a `Result`, made
    /// from the switch's `Inactive` when it is off.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be the error of a #[gate] function: it does not implement `From<gate::Inactive>`",
        label = "returned as `Err(..)` when the switch is off",
        note = "implement `From<gate::Inactive>` for `{Self}`, or give `otherwise = ...`: the value to return when the switch is off"
    )]
    pub trait FromInactive: Sized {
        /// The error for a switch that is off.
        fn from_inactive(off: Inactive) -> Self;
    }

    #[diagnostic::do_not_recommend]
    impl<E: From<Inactive>> FromInactive for E {
        #[inline]
        fn from_inactive(off: Inactive) -> E {
            E::from(off)
        }
    }
}

static DEFAULT: OnceLock<Manager> = OnceLock::new();

/// Sets the process-wide default manager, used by the macros and
/// integrations unless they are given another. Call it once, before the
/// first check.
///
/// # Errors
///
/// [`Error::AlreadyConfigured`] if a default was already set, or already
/// used through [`default()`] (which then created an in-memory one).
///
/// # Examples
///
/// ```
/// let manager = gate::Manager::builder().autocreate(true).build();
/// gate::configure(manager).unwrap();
/// assert!(gate::configure(gate::Manager::in_memory()).is_err());
/// ```
pub fn configure(manager: Manager) -> Result<(), Error> {
    DEFAULT.set(manager).map_err(|_| Error::AlreadyConfigured)
}

/// The process-wide default manager: the one given to [`configure`], or
/// else an in-memory manager created on first use.
///
/// # Examples
///
/// ```
/// assert!(!gate::default().active("anything", "443301"));
/// ```
pub fn default() -> &'static Manager {
    DEFAULT.get_or_init(|| {
        let manager = Manager::builder().build_unnoted();
        IMPLICIT_DEFAULT.store(true, std::sync::atomic::Ordering::Relaxed);
        if OTHER_MANAGERS.load(std::sync::atomic::Ordering::Relaxed) {
            warn_implicit_default();
        }
        manager
    })
}

/// Whether [`default()`] created its own manager (never [`configure`]d).
static IMPLICIT_DEFAULT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// Whether a manager was built other than that one.
static OTHER_MANAGERS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// Whether [`warn_implicit_default`] said it already.
static WARNED_IMPLICIT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Notes that a manager was built (not the implicit default): if the
/// implicit default is in use too, the two may disagree.
pub(crate) fn note_manager_built() {
    OTHER_MANAGERS.store(true, std::sync::atomic::Ordering::Relaxed);
    if IMPLICIT_DEFAULT.load(std::sync::atomic::Ordering::Relaxed) {
        warn_implicit_default();
    }
}

/// Logs, once per process, that the never-configured default manager is
/// used beside another one.
#[cold]
fn warn_implicit_default() {
    if !WARNED_IMPLICIT.swap(true, std::sync::atomic::Ordering::Relaxed) {
        tracing::warn!("gate: gate::default() was never configured, so it is an empty in-memory manager of its own, and another manager is in use in this process: #[gate] functions and other users of the default answer from the former (call gate::configure(manager) at start-up, or pass manager = ...)");
    }
}
