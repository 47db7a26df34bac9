//! The provider against gate's own checks: parity over random contexts,
//! reasons, unknown flags and type mismatches.

use std::borrow::Cow;

use gate::{Arguments, Condition, Identity, Manager, Operator, State, Switch, Value};
use gate_openfeature::{GateProvider, FLAG_OFF};
use open_feature::provider::FeatureProvider;
use open_feature::{EvaluationContext, EvaluationErrorCode, EvaluationReason};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

#[path = "../../gate/tests/common/rng.rs"]
mod rng;
use rng::Rng;

/// The gate input the parity test compares with, written independently
/// of the provider's `ContextInput`.
struct Reference {
    key: Option<String>,
    attributes: Vec<(String, Value<'static>)>,
}

impl Arguments for Reference {
    fn kind(&self) -> &str {
        "User"
    }
    fn identity(&self) -> Option<Identity<'_>> {
        self.key.as_deref().map(|k| Identity::Str(Cow::Borrowed(k)))
    }
    fn attribute(&self, name: &str) -> Option<Value<'_>> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.borrowed())
    }
}

fn user(kind: &str, attribute: &str, operator: Operator) -> Condition {
    Condition::new(kind, attribute, operator).unwrap()
}

/// Switches covering every way gate decides.
async fn fixture() -> Manager {
    let manager = Manager::in_memory();
    let switches = [
        Switch::new("global")
            .state(State::Global)
            .variants(["a", "b", "c"]),
        Switch::new("disabled")
            .state(State::Disabled)
            .variants(["x", "y"]),
        Switch::new("allowed")
            .state(State::Selective)
            .allow("u1")
            .allow("u2")
            .allow("u7")
            .allow("u30")
            .variants(["left", "right"]),
        Switch::new("any_of")
            .state(State::Selective)
            .condition(user(
                "User",
                "country",
                Operator::one_of(["fr", "de"]).unwrap(),
            ))
            .condition(user(
                "User",
                "age",
                Operator::more_than_or_equal_to(18).unwrap(),
            ))
            .weighted_variants([("small", 1), ("large", 3)]),
        Switch::new("all_of")
            .state(State::Selective)
            .compounded(true)
            .condition(user(
                "User",
                "country",
                Operator::one_of(["fr", "us"]).unwrap(),
            ))
            .condition(user("User", "premium", Operator::truthy()))
            .condition(user("User", "age", Operator::less_than(30).unwrap()).negative()),
        Switch::new("split")
            .state(State::Selective)
            .condition(Condition::identity(Operator::percent(30).unwrap()))
            .variants(["red", "green", "blue"]),
        Switch::new("mixed")
            .state(State::Selective)
            .compounded(true)
            .condition(user("User", "country", Operator::equals("fr").unwrap()))
            .condition(Condition::identity(Operator::percent(50).unwrap()))
            .salt("mixed"),
        Switch::new("other_kind")
            .state(State::Selective)
            .condition(user("Team", "plan", Operator::equals("pro").unwrap())),
        // A child consenting to its parent: off whenever `any_of` is.
        Switch::new("any_of:child")
            .state(State::Global)
            .variants(["one", "two"]),
    ];
    for switch in switches {
        manager.register(switch).await.unwrap();
    }
    manager
}

const FLAGS: [&str; 9] = [
    "global",
    "disabled",
    "allowed",
    "any_of",
    "all_of",
    "split",
    "mixed",
    "other_kind",
    "any_of:child",
];

/// A random context and the same inputs as a [`Reference`].
fn draw(rng: &mut Rng) -> (EvaluationContext, Reference) {
    let mut context = EvaluationContext::default();
    let key = match rng.below(20) {
        0 => None,
        1..=8 => Some(format!("u{}", rng.below(40))),
        _ => Some(rng.next().to_string()),
    };
    if let Some(key) = &key {
        context = context.with_targeting_key(key.clone());
    }
    let mut attributes = Vec::new();
    let countries = ["fr", "de", "us", "", "FR"];
    match rng.below(6) {
        0 => {}
        1 => {
            // Not a string: the condition cannot be evaluated.
            context = context.with_custom_field("country", 7);
            attributes.push(("country".to_owned(), Value::Int(7)));
        }
        _ => {
            let c = countries[rng.below(countries.len() as u64) as usize];
            context = context.with_custom_field("country", c);
            attributes.push(("country".to_owned(), Value::from(c.to_owned())));
        }
    }
    match rng.below(5) {
        0 => {}
        1 => {
            let age = rng.below(60) as f64 + 0.5;
            context = context.with_custom_field("age", age);
            attributes.push(("age".to_owned(), Value::Float(age)));
        }
        2 => {
            context = context.with_custom_field("age", "20");
            attributes.push(("age".to_owned(), Value::from("20")));
        }
        _ => {
            let age = rng.below(60) as i64;
            context = context.with_custom_field("age", age);
            attributes.push(("age".to_owned(), Value::Int(age)));
        }
    }
    match rng.below(3) {
        0 => {}
        _ => {
            let premium = rng.below(2) == 0;
            context = context.with_custom_field("premium", premium);
            attributes.push(("premium".to_owned(), Value::Bool(premium)));
        }
    }
    if rng.below(4) == 0 {
        // A field no condition reads.
        context = context.with_custom_field("plan", "pro");
        attributes.push(("plan".to_owned(), Value::from("pro")));
    }
    (context, Reference { key, attributes })
}

#[test]
fn parity_over_10000_random_contexts() {
    runtime().block_on(async {
        let manager = fixture().await;
        let provider = GateProvider::new(manager.clone()).kind("User");
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let (mut on, mut off, mut variants) = (0usize, 0usize, 0usize);
        // Per flag: how many contexts it was on and off for.
        let mut per_flag = [(0usize, 0usize); FLAGS.len()];
        for round in 0..10_000 {
            let (context, reference) = draw(&mut rng);
            for (f, flag) in FLAGS.into_iter().enumerate() {
                let expected = manager.active_exclusive(flag, &reference);
                if expected {
                    per_flag[f].0 += 1;
                } else {
                    per_flag[f].1 += 1;
                }
                let details = provider
                    .resolve_bool_value(flag, &context)
                    .await
                    .unwrap_or_else(|e| panic!("{flag} round {round}: {e:?}"));
                assert_eq!(details.value, expected, "{flag} round {round}: {context:?}");
                if expected {
                    on += 1;
                } else {
                    off += 1;
                }

                let switch = manager.switch(flag).unwrap();
                let string = provider.resolve_string_value(flag, &context).await;
                match manager.variant(flag, &reference) {
                    Some(index) => {
                        variants += 1;
                        let details = string.unwrap();
                        assert_eq!(
                            details.value, switch.variants[index].name,
                            "{flag} round {round}"
                        );
                        assert_eq!(details.variant.as_deref(), Some(details.value.as_str()));
                    }
                    None => {
                        let error = string.unwrap_err();
                        let code = if switch.variants.is_empty() {
                            EvaluationErrorCode::TypeMismatch
                        } else if expected {
                            EvaluationErrorCode::TargetingKeyMissing
                        } else {
                            EvaluationErrorCode::General(FLAG_OFF.to_owned())
                        };
                        assert_eq!(error.code, code, "{flag} round {round}: {context:?}");
                    }
                }
            }
        }
        // The draw reaches both answers and the variants.
        assert!(
            on > 10_000 && off > 10_000 && variants > 5_000,
            "{on} {off} {variants}"
        );
        // Every selective switch is seen both on and off, often.
        for (f, flag) in FLAGS.into_iter().enumerate() {
            let (on, off) = per_flag[f];
            match flag {
                "global" => assert_eq!(off, 0),
                "disabled" | "other_kind" => assert_eq!(on, 0),
                _ => assert!(on > 100 && off > 100, "{flag}: {on} on, {off} off"),
            }
        }
    });
}

/// The gate context (a "current user") is ignored: only the evaluation
/// context is judged.
#[test]
fn exclusive_of_gates_context() {
    runtime().block_on(async {
        let manager = fixture().await;
        let provider = GateProvider::new(manager.clone());
        let anonymous = EvaluationContext::default();
        // Outside any gate scope, `variant` judges only its inputs.
        let index = manager.variant("allowed", "u7").unwrap();
        gate::scope("u1", async {
            assert!(manager.active("allowed", ()));
            assert!(manager.variant("allowed", ()).is_some());
            let details = provider
                .resolve_bool_value("allowed", &anonymous)
                .await
                .unwrap();
            assert!(!details.value);
            let error = provider
                .resolve_string_value("allowed", &anonymous)
                .await
                .unwrap_err();
            assert_eq!(
                error.code,
                EvaluationErrorCode::General(FLAG_OFF.to_owned())
            );
            // And the evaluation context's key is the identity of variants.
            let u7 = EvaluationContext::default().with_targeting_key("u7");
            let name = provider
                .resolve_string_value("allowed", &u7)
                .await
                .unwrap()
                .value;
            assert_eq!(name, ["left", "right"][index]);
        })
        .await;
        let sync = gate::scope_sync("u1", || manager.active("allowed", ()));
        assert!(sync);
    });
}

async fn bool_reason(
    provider: &GateProvider,
    flag: &str,
    context: &EvaluationContext,
) -> (bool, EvaluationReason) {
    let details = provider.resolve_bool_value(flag, context).await.unwrap();
    (details.value, details.reason.unwrap())
}

#[test]
fn reasons() {
    use EvaluationReason::*;
    runtime().block_on(async {
        let manager = fixture().await;
        let provider = GateProvider::new(manager.clone());
        let key = |k: &str| EvaluationContext::default().with_targeting_key(k.to_owned());
        let fr = |k: &str| key(k).with_custom_field("country", "fr");

        assert_eq!(
            bool_reason(&provider, "disabled", &key("u1")).await,
            (false, Disabled)
        );
        assert_eq!(
            bool_reason(&provider, "global", &key("u1")).await,
            (true, Static)
        );
        assert_eq!(
            bool_reason(&provider, "global", &EvaluationContext::default()).await,
            (true, Static)
        );
        // Allow-list.
        assert_eq!(
            bool_reason(&provider, "allowed", &key("u1")).await,
            (true, TargetingMatch)
        );
        // Conditions, on and off.
        assert_eq!(
            bool_reason(&provider, "any_of", &fr("z")).await,
            (true, TargetingMatch)
        );
        assert_eq!(
            bool_reason(
                &provider,
                "any_of",
                &key("z").with_custom_field("country", "us")
            )
            .await,
            (false, TargetingMatch)
        );
        // Selective, nothing applies to the context: DEFAULT.
        assert_eq!(
            bool_reason(&provider, "other_kind", &fr("z")).await,
            (false, Default)
        );
        assert_eq!(
            bool_reason(&provider, "split", &EvaluationContext::default()).await,
            (false, Default)
        );
        // Percentage: SPLIT, on and off (buckets: crc32(id) % 100 < 30).
        let (mut seen_on, mut seen_off) = (false, false);
        for i in 0..50 {
            let id = format!("id{i}");
            let (value, reason) = bool_reason(&provider, "split", &key(&id)).await;
            assert_eq!(reason, Split);
            assert_eq!(value, gate::bucket(&id) < 30, "{id}");
            seen_on |= value;
            seen_off |= !value;
        }
        assert!(seen_on && seen_off);
        // Compounded: the country fails first (TARGETING_MATCH); once it
        // holds, the percentage settles it (SPLIT), on or off.
        assert_eq!(
            bool_reason(
                &provider,
                "mixed",
                &key("z").with_custom_field("country", "de")
            )
            .await,
            (false, TargetingMatch)
        );
        for i in 0..20 {
            let (_, reason) = bool_reason(&provider, "mixed", &fr(&format!("id{i}"))).await;
            assert_eq!(reason, Split);
        }
        // The parent is off: the parent's reason.
        assert_eq!(
            bool_reason(&provider, "any_of:child", &key("z")).await,
            (false, TargetingMatch)
        );
        assert_eq!(
            bool_reason(&provider, "any_of:child", &fr("z")).await,
            (true, Static)
        );
        // A test override: STATIC.
        {
            let _off = gate::testing::override_switch(&manager, "global", false);
            assert_eq!(
                bool_reason(&provider, "global", &key("u1")).await,
                (false, Static)
            );
            let _on = gate::testing::override_switch(&manager, "disabled", true);
            assert_eq!(
                bool_reason(&provider, "disabled", &key("u1")).await,
                (true, Static)
            );
        }
        // Strings carry the reason the switch is on.
        let details = provider.resolve_string_value("split", &key("id1")).await;
        match details {
            Ok(d) => assert_eq!(d.reason, Some(Split)),
            Err(e) => assert_eq!(e.code, EvaluationErrorCode::General(FLAG_OFF.to_owned())),
        }
        let details = provider
            .resolve_string_value("global", &key("u1"))
            .await
            .unwrap();
        assert_eq!(details.reason, Some(Static));
        let error = provider
            .resolve_string_value("disabled", &key("u1"))
            .await
            .unwrap_err();
        assert!(error.message.unwrap().contains("DISABLED"));
    });
}

/// The error codes of `flag` asked for as an integer, a float and a
/// struct.
async fn number_and_struct_errors(
    provider: &GateProvider,
    flag: &str,
    context: &EvaluationContext,
) -> [EvaluationErrorCode; 3] {
    [
        provider
            .resolve_int_value(flag, context)
            .await
            .unwrap_err()
            .code,
        provider
            .resolve_float_value(flag, context)
            .await
            .unwrap_err()
            .code,
        provider
            .resolve_struct_value(flag, context)
            .await
            .unwrap_err()
            .code,
    ]
}

#[test]
fn unknown_flag_is_flag_not_found() {
    runtime().block_on(async {
        let manager = fixture().await;
        let provider = GateProvider::new(manager.clone());
        let context = EvaluationContext::default().with_targeting_key("u1");
        for error in [
            provider
                .resolve_bool_value("nope", &context)
                .await
                .unwrap_err(),
            provider
                .resolve_string_value("nope", &context)
                .await
                .unwrap_err(),
        ] {
            assert_eq!(error.code, EvaluationErrorCode::FlagNotFound);
        }
        assert_eq!(
            number_and_struct_errors(&provider, "nope", &context).await,
            [const { EvaluationErrorCode::FlagNotFound }; 3]
        );
        // Not registered by the provider's evaluations.
        assert!(manager.switch("nope").is_none());
    });
}

#[test]
fn other_types_are_type_mismatch() {
    runtime().block_on(async {
        let manager = fixture().await;
        let provider = GateProvider::new(manager);
        let context = EvaluationContext::default().with_targeting_key("u1");
        for flag in ["global", "any_of"] {
            assert_eq!(
                number_and_struct_errors(&provider, flag, &context).await,
                [const { EvaluationErrorCode::TypeMismatch }; 3]
            );
        }
        // A switch without variants is a boolean flag.
        assert_eq!(
            provider
                .resolve_string_value("all_of", &context)
                .await
                .unwrap_err()
                .code,
            EvaluationErrorCode::TypeMismatch
        );
        // A switch on, with variants, and no targeting key.
        assert_eq!(
            provider
                .resolve_string_value("global", &EvaluationContext::default())
                .await
                .unwrap_err()
                .code,
            EvaluationErrorCode::TargetingKeyMissing
        );
    });
}

/// Through the OpenFeature API, as an application uses it.
#[test]
fn through_the_openfeature_client() {
    runtime().block_on(async {
        let manager = fixture().await;
        let mut api = open_feature::OpenFeature::singleton_mut().await;
        api.set_provider(GateProvider::new(manager).kind("User"))
            .await;
        let client = api.create_client();
        drop(api);
        let context = EvaluationContext::default()
            .with_targeting_key("u1")
            .with_custom_field("country", "fr");
        assert!(client
            .get_bool_value("any_of", Some(&context), None)
            .await
            .unwrap());
        let details = client
            .get_bool_details("allowed", Some(&context), None)
            .await
            .unwrap();
        assert!(details.value);
        assert_eq!(details.reason, Some(EvaluationReason::TargetingMatch));
        let layout = client
            .get_string_value("disabled", Some(&context), None)
            .await
            .unwrap_or_else(|_| "control".to_owned());
        assert_eq!(layout, "control");
    });
}
