//! An [OpenFeature](https://openfeature.dev) provider for gate.
//!
//! [`GateProvider`] implements the `open-feature` crate's
//! [`FeatureProvider`]: an application written against the OpenFeature
//! API evaluates gate's switches, from the manager's in-memory replica,
//! without I/O (as every gate check).
//!
//! # Flags
//!
//! * **Boolean flags are switches**: the value is what
//!   [`Manager::active_exclusive`] answers for the evaluation context.
//! * **String flags are variant names**: the value is the name of the
//!   variant [`Manager::variant`] picks for the evaluation context.
//!   When there is no variant to answer, the evaluation fails (and the
//!   OpenFeature client's caller applies its own default, e.g.
//!   `unwrap_or("control".into())`): the switch is off for the context
//!   (`GENERAL` error `"FLAG_OFF"`, its message names the reason, e.g.
//!   `DISABLED`), it is on but the context has no targeting key
//!   (`TARGETING_KEY_MISSING`), or it has no variants at all
//!   (`TYPE_MISMATCH`: it is a boolean flag). The Rust SDK passes no
//!   default value to a provider, so answering `""` would hand callers a
//!   silent, wrong value instead of their default.
//! * **Integer, float and struct flags** answer `TYPE_MISMATCH`: gate
//!   switches have no such values.
//! * **An unknown flag** answers `FLAG_NOT_FOUND`. The provider never
//!   registers it (no autocreate), so an unknown name stays an error.
//!
//! # The evaluation context
//!
//! The context is one gate input ([`ContextInput`]) of the kind the
//! provider is configured with ([`GateProvider::kind`], `"User"` by
//! default): the **targeting key is the identity** (percentages,
//! allow-lists, variants) and the **custom fields are its attributes**
//! (conditions on that kind). Field values map to gate values as booleans,
//! integers, floats and strings; a date-time is its Unix timestamp in
//! seconds (an integer); a struct field is missing to gate.
//!
//! The provider judges **only the evaluation context**: gate's own
//! task-local context (the "current user" set by `gate::scope` or the axum
//! middleware) is ignored, exactly as [`Manager::active_exclusive`] does.
//! OpenFeature has its own way to merge contexts (global, client,
//! invocation); judging gate's context as well would add inputs the
//! OpenFeature caller cannot see, and the answer would no longer be a
//! function of the evaluation context.
//!
//! # Reasons
//!
//! The reason comes from [`Manager::explain_exclusive`] (the explanation is
//! recorded by the very evaluation that answers checks, on the in-memory
//! replica, so it costs no I/O):
//!
//! | gate                                         | OpenFeature reason |
//! |----------------------------------------------|--------------------|
//! | switch `Disabled`                            | `DISABLED`         |
//! | switch `Global`                              | `STATIC`           |
//! | identity in the allow-list                   | `TARGETING_MATCH`  |
//! | decided by conditions                        | `TARGETING_MATCH`  |
//! | decided by a percentage condition            | `SPLIT`            |
//! | selective, but no rule applied to the context| `DEFAULT`          |
//! | a test override (`gate::testing`)            | `STATIC`           |
//! | the parent is off (`concent`)                | the parent's reason|
//!
//! "Decided by a percentage": the condition that settled the answer is a
//! `percent` / `percent_range` one, or, when every condition settled it
//! together (compounded and on, or not compounded and off), one of them
//! is. The reason is the same for `true` and `false`: it says what took the
//! decision. For a string flag it says why the switch is on (the variant
//! among several is then picked by the identity's hash).
//!
//! A test override is `STATIC` because it is fixed by the test, not
//! derived from the context.
//!
//! The value is decided by the check itself ([`Manager::active_exclusive`]
//! / [`Manager::variant`], so gate's signals count OpenFeature
//! evaluations); the explanation is a second evaluation. If a write lands
//! between the two and they disagree, the reason is `UNKNOWN`.
//!
//! # Examples
//!
//! ```
//! use gate::{Condition, Operator, State, Switch};
//! use gate_openfeature::GateProvider;
//! use open_feature::provider::FeatureProvider;
//! use open_feature::{EvaluationContext, EvaluationReason};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let manager = gate::Manager::in_memory();
//! manager
//!     .register(
//!         Switch::new("new_checkout")
//!             .state(State::Selective)
//!             .condition(Condition::new("User", "country", Operator::one_of(["fr", "de"])?)?),
//!     )
//!     .await?;
//! let provider = GateProvider::new(manager).kind("User");
//!
//! let context = EvaluationContext::default()
//!     .with_targeting_key("443301")
//!     .with_custom_field("country", "fr");
//! let details = provider.resolve_bool_value("new_checkout", &context).await.unwrap();
//! assert!(details.value);
//! assert_eq!(details.reason, Some(EvaluationReason::TargetingMatch));
//! # Ok::<_, gate::Error>(())
//! # }).unwrap();
//! ```

use std::borrow::Cow;

use gate::explain::{Explanation, Reason};
use gate::{Arguments, Context, Identity, Manager, Operator, Value};
use open_feature::provider::{FeatureProvider, ProviderMetadata, ResolutionDetails};
use open_feature::{
    EvaluationContext, EvaluationContextFieldValue, EvaluationError, EvaluationErrorCode,
    EvaluationReason, EvaluationResult, StructValue,
};

/// The input kind of the evaluation context unless configured otherwise
/// ([`GateProvider::kind`]).
pub const DEFAULT_KIND: &str = "User";

/// The `GENERAL` error code of a string flag whose switch is off for the
/// evaluation context (there is no variant to answer).
pub const FLAG_OFF: &str = "FLAG_OFF";

/// gate's switches as an OpenFeature provider.
///
/// Cheap to clone (a [`Manager`] is a handle). See the [crate
/// documentation](crate) for what each flag type answers.
#[derive(Debug, Clone)]
pub struct GateProvider {
    manager: Manager,
    kind: String,
    metadata: ProviderMetadata,
}

impl GateProvider {
    /// A provider answering from `manager`, the evaluation context being an
    /// input of kind [`DEFAULT_KIND`] (`"User"`).
    pub fn new(manager: Manager) -> Self {
        GateProvider {
            manager,
            kind: DEFAULT_KIND.to_owned(),
            metadata: ProviderMetadata::new("gate"),
        }
    }

    /// The input kind of the evaluation context: conditions naming this
    /// kind judge the context's custom fields.
    #[must_use]
    pub fn kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = kind.into();
        self
    }

    /// The configured input kind.
    pub fn input_kind(&self) -> &str {
        &self.kind
    }

    /// The manager the provider answers from.
    pub fn manager(&self) -> &Manager {
        &self.manager
    }

    /// The gate input an evaluation context is judged as.
    pub fn input<'a>(&'a self, context: &'a EvaluationContext) -> ContextInput<'a> {
        ContextInput::new(&self.kind, context)
    }

    /// The boolean answer; to be run with gate's context empty.
    fn bool_details(
        &self,
        flag: &str,
        context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<bool>> {
        let input = self.input(context);
        let why = self.manager.explain_exclusive(flag, input);
        if why.reason == Reason::NotFound {
            return Err(not_found(flag));
        }
        let value = self.manager.active_exclusive(flag, input);
        let reason = if value == why.active {
            reason_of(&why)
        } else {
            EvaluationReason::Unknown
        };
        Ok(ResolutionDetails {
            value,
            variant: Some(if value { "on" } else { "off" }.to_owned()),
            reason: Some(reason),
            flag_metadata: None,
        })
    }

    /// The string answer; to be run with gate's context empty.
    fn string_details(
        &self,
        flag: &str,
        context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<String>> {
        let input = self.input(context);
        let why = self.manager.explain_exclusive(flag, input);
        if why.reason == Reason::NotFound {
            return Err(not_found(flag));
        }
        let Some(switch) = self.manager.switch(flag) else {
            return Err(not_found(flag));
        };
        if switch.variants.is_empty() {
            return Err(type_mismatch(
                flag,
                "a boolean flag (the switch has no variants)",
            ));
        }
        let reason = reason_of(&why);
        match self.manager.variant(flag, input) {
            Some(index) => match switch.variants.get(index) {
                Some(variant) => Ok(ResolutionDetails {
                    value: variant.name.clone(),
                    variant: Some(variant.name.clone()),
                    reason: Some(if why.active {
                        reason
                    } else {
                        EvaluationReason::Unknown
                    }),
                    flag_metadata: None,
                }),
                // The variants changed between the two reads.
                None => Err(EvaluationError {
                    code: EvaluationErrorCode::General("CHANGED".to_owned()),
                    message: Some(format!(
                        "the variants of switch `{flag}` changed during the evaluation"
                    )),
                }),
            },
            None if why.active && input.identity().is_none() => Err(EvaluationError {
                code: EvaluationErrorCode::TargetingKeyMissing,
                message: Some(format!(
                    "switch `{flag}` picks its variant by identity: the evaluation context has no targeting key"
                )),
            }),
            None => Err(EvaluationError {
                code: EvaluationErrorCode::General(FLAG_OFF.to_owned()),
                message: Some(format!(
                    "switch `{flag}` is off for this evaluation context ({reason}): no variant"
                )),
            }),
        }
    }
}

/// The OpenFeature reason of an explanation (see the [crate
/// documentation](crate)).
pub fn reason_of(why: &Explanation) -> EvaluationReason {
    match &why.reason {
        Reason::Disabled => EvaluationReason::Disabled,
        Reason::Global | Reason::Override => EvaluationReason::Static,
        Reason::ParentOff { parent } => reason_of(parent),
        Reason::AllowedId { .. } => EvaluationReason::TargetingMatch,
        Reason::NoInputs | Reason::NothingApplied { .. } => EvaluationReason::Default,
        Reason::Conditions {
            outcomes, deciding, ..
        } => {
            let split = |o: &gate::explain::Outcome| {
                matches!(
                    o.condition.operator,
                    Operator::Percent(_) | Operator::PercentRange { .. }
                )
            };
            let by_split = match deciding {
                Some(i) => outcomes.get(*i).is_some_and(split),
                None => outcomes.iter().any(split),
            };
            if by_split {
                EvaluationReason::Split
            } else {
                EvaluationReason::TargetingMatch
            }
        }
        _ => EvaluationReason::Unknown,
    }
}

fn not_found(flag: &str) -> EvaluationError {
    EvaluationError {
        code: EvaluationErrorCode::FlagNotFound,
        message: Some(format!("no switch is named `{flag}`")),
    }
}

fn type_mismatch(flag: &str, what: &str) -> EvaluationError {
    EvaluationError {
        code: EvaluationErrorCode::TypeMismatch,
        message: Some(format!("`{flag}` is {what}")),
    }
}

/// Runs `f` with gate's task-local context empty, so that checks judge
/// only the evaluation context (the `_exclusive` semantics, for
/// [`Manager::variant`] too).
async fn exclusive<R>(f: impl FnOnce() -> R + Send) -> R {
    Context::default().run(async move { f() }).await
}

#[open_feature::async_trait]
impl FeatureProvider for GateProvider {
    fn metadata(&self) -> &ProviderMetadata {
        &self.metadata
    }

    async fn resolve_bool_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<bool>> {
        exclusive(|| self.bool_details(flag_key, evaluation_context)).await
    }

    async fn resolve_int_value(
        &self,
        flag_key: &str,
        _evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<i64>> {
        Err(self.not_a(flag_key, "an integer"))
    }

    async fn resolve_float_value(
        &self,
        flag_key: &str,
        _evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<f64>> {
        Err(self.not_a(flag_key, "a float"))
    }

    async fn resolve_string_value(
        &self,
        flag_key: &str,
        evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<String>> {
        exclusive(|| self.string_details(flag_key, evaluation_context)).await
    }

    async fn resolve_struct_value(
        &self,
        flag_key: &str,
        _evaluation_context: &EvaluationContext,
    ) -> EvaluationResult<ResolutionDetails<StructValue>> {
        Err(self.not_a(flag_key, "a struct"))
    }
}

impl GateProvider {
    /// `FLAG_NOT_FOUND` for an unknown flag, else `TYPE_MISMATCH`: gate
    /// answers booleans and variant names only.
    fn not_a(&self, flag: &str, what: &str) -> EvaluationError {
        if self.manager.switch(flag).is_none() {
            return not_found(flag);
        }
        type_mismatch(
            flag,
            &format!("a gate switch: a boolean or string flag, not {what}"),
        )
    }
}

/// An evaluation context as a gate input: the targeting key is the
/// identity, the custom fields are the attributes. Reading it does not
/// allocate.
///
/// # Examples
///
/// ```
/// use gate::{Arguments, Identity, Value};
/// use open_feature::EvaluationContext;
///
/// let context = EvaluationContext::default()
///     .with_targeting_key("443301")
///     .with_custom_field("age", 30);
/// let input = gate_openfeature::ContextInput::new("User", &context);
/// assert_eq!(input.kind(), "User");
/// assert_eq!(input.identity(), Some(Identity::from("443301")));
/// assert_eq!(input.attribute("age"), Some(Value::Int(30)));
/// assert_eq!(input.attribute("country"), None);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ContextInput<'a> {
    kind: &'a str,
    context: &'a EvaluationContext,
}

impl<'a> ContextInput<'a> {
    /// `context` as an input of kind `kind`.
    pub fn new(kind: &'a str, context: &'a EvaluationContext) -> Self {
        ContextInput { kind, context }
    }
}

impl Arguments for ContextInput<'_> {
    fn kind(&self) -> &str {
        self.kind
    }

    fn identity(&self) -> Option<Identity<'_>> {
        self.context
            .targeting_key
            .as_deref()
            .map(|key| Identity::Str(Cow::Borrowed(key)))
    }

    fn attribute(&self, name: &str) -> Option<Value<'_>> {
        Some(match self.context.custom_fields.get(name)? {
            EvaluationContextFieldValue::Bool(b) => Value::Bool(*b),
            EvaluationContextFieldValue::Int(i) => Value::Int(*i),
            EvaluationContextFieldValue::Float(f) => Value::Float(*f),
            EvaluationContextFieldValue::String(s) => Value::Str(Cow::Borrowed(s)),
            EvaluationContextFieldValue::DateTime(t) => Value::Int(t.unix_timestamp()),
            EvaluationContextFieldValue::Struct(_) => return None,
        })
    }
}
