//! gate behind the OpenFeature API: the README's "OpenFeature" example.
//!
//! `cargo run -p gate-openfeature --example openfeature`

use gate::{Condition, Operator, State, Switch};
use gate_openfeature::GateProvider;
use open_feature::{EvaluationContext, EvaluationReason, OpenFeature};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), gate::Error> {
    // Switches as usual (here in memory; Redis works the same way).
    let manager = gate::Manager::in_memory();
    manager
        .register(
            Switch::new("new_checkout")
                .state(State::Selective)
                .condition(Condition::new(
                    "User",
                    "country",
                    Operator::one_of(["fr", "de"])?,
                )?),
        )
        .await?;
    manager
        .register(
            Switch::new("layout")
                .state(State::Global)
                .variants(["classic", "compact"]),
        )
        .await?;

    // The provider: the evaluation context is an input of kind "User".
    let mut api = OpenFeature::singleton_mut().await;
    api.set_provider(GateProvider::new(manager).kind("User"))
        .await;
    let client = api.create_client();
    drop(api);

    // The targeting key is the identity, the fields are attributes.
    let context = EvaluationContext::default()
        .with_targeting_key("443301")
        .with_custom_field("country", "fr");

    // Boolean flags are switches.
    let details = client
        .get_bool_details("new_checkout", Some(&context), None)
        .await
        .expect("new_checkout is a switch");
    assert!(details.value);
    assert_eq!(details.reason, Some(EvaluationReason::TargetingMatch));

    // String flags are variant names (picked by the targeting key).
    let layout = client
        .get_string_value("layout", Some(&context), None)
        .await
        .unwrap_or_else(|_| "classic".to_owned());
    assert!(["classic", "compact"].contains(&layout.as_str()));

    // An unknown flag is an error (FLAG_NOT_FOUND): the caller's default.
    let unknown = client.get_bool_value("nope", Some(&context), None).await;
    assert!(!unknown.unwrap_or(false));

    println!("new_checkout: {}, layout: {layout}", details.value);
    Ok(())
}
