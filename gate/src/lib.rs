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
mod conformance;
mod context;
mod error;
pub mod explain;
pub mod history;
pub mod import;
mod json_input;
pub mod limits;
mod manager;
mod operator;
pub mod recovery;
pub mod signals;
pub mod storage;
mod switch;
pub mod testing;
mod users;
mod value;

use std::sync::OnceLock;

pub use arguments::{Arguments, Inputs, ID_KIND};
pub use bucket::{bucket, crc32};
pub use condition::{Argument, Condition, IntoOperator, IDENTITY_ARGUMENT};
pub use context::{scope, scope_sync, Context, IntoInputs, SharedInput};
pub use error::{Error, Inactive};
pub use explain::Explanation;
pub use json_input::JsonInput;
pub use manager::{Builder, Manager, AUTOCREATE_ACTOR, DEFAULT_ACTOR};
pub use operator::{ConditionError, Operator, Pattern, Percentage};
pub use signals::Signals;
pub use storage::{BatchWrite, MemoryStorage, Storage};
pub use switch::{Change, State, Switch, Users, Variant};
pub use value::{Identity, ToIdentity, ToValue, Value};

pub use gate_macros::{gate, with_switches, Arguments};

/// Support for the macros' generated code; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::testing::{override_switch, OverrideGuard};
    pub use crate::{default, Arguments, Identity, Inactive, Manager, ToIdentity, ToValue, Value};
    pub use std::option::Option::{self, None, Some};
    pub use std::result::Result::{self, Err, Ok};

    use crate::Value as V;

    /// What a `#[gate(with = path)]` function may return: a value, or an
    /// `Option` of one (`None` = the attribute is missing).
    #[diagnostic::on_unimplemented(
        message = "a `#[gate(with = ...)]` function must return a value convertible into `gate::Value`, or an `Option` of one; found `{Self}`"
    )]
    pub trait IntoAttribute<'a> {
        /// The attribute's value.
        fn into_attribute(self) -> Option<V<'a>>;
    }

    impl<'a, T: Into<V<'a>>> IntoAttribute<'a> for T {
        #[inline]
        fn into_attribute(self) -> Option<V<'a>> {
            Some(self.into())
        }
    }

    impl<'a, T: Into<V<'a>>> IntoAttribute<'a> for Option<T> {
        #[inline]
        fn into_attribute(self) -> Option<V<'a>> {
            self.map(Into::into)
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
    DEFAULT.get_or_init(Manager::in_memory)
}
