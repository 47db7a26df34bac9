//! The macros: `#[derive(Arguments)]` makes a struct an input, and
//! `#[gate("feature", ...)]` runs a function only when its switch is on —
//! for a user passed as an argument, or for the current user of the
//! context (`gate::scope`).
//!
//! Run with `cargo run --example macros`. The output is the same on every
//! machine: buckets are `crc32(id) % 100`.

use gate::{gate, Arguments, Condition, Inactive, Manager, Operator, State, Switch};

/// A user of the service, as gate sees it.
#[derive(Arguments)]
struct User {
    /// The identity: percentages and allow-lists look at it.
    #[gate(id)]
    id: u64,
    name: String,
    age: u32,
    #[gate(rename = "country")]
    country_code: &'static str,
    #[gate(skip)]
    #[allow(dead_code)]
    password_hash: String,
}

impl User {
    fn new(id: u64, name: &str, age: u32, country_code: &'static str) -> Self {
        User {
            id,
            name: name.to_owned(),
            age,
            country_code,
            password_hash: String::new(),
        }
    }
}

/// The application's error: a switched-off feature is one of its cases.
#[derive(Debug)]
enum ShopError {
    FeatureOff(Inactive),
}

impl From<Inactive> for ShopError {
    fn from(off: Inactive) -> Self {
        ShopError::FeatureOff(off)
    }
}

impl std::fmt::Display for ShopError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShopError::FeatureOff(off) => write!(f, "{off}"),
        }
    }
}

/// Adults in France only (conditions on the derived attributes).
#[gate("wine_shop", arg = user)]
fn wine_list(user: &User) -> Result<Vec<&'static str>, ShopError> {
    Ok(vec!["Bordeaux", "Chablis"])
}

/// 20% of the users (by `crc32(id) % 100`); the others keep the classic one.
#[gate("new_search", arg = user, otherwise = "classic search")]
fn search_engine(user: &User) -> &'static str {
    "new search"
}

/// No `arg`: the current user, from the context. Checked when the future
/// is first polled, inside the scope that polls it.
#[gate("beta_dashboard")]
async fn dashboard() -> Option<&'static str> {
    tokio::task::yield_now().await;
    Some("the beta dashboard")
}

#[tokio::main]
async fn main() -> Result<(), gate::Error> {
    // The macros use the default manager unless given `manager = expr`.
    let manager = Manager::in_memory();
    gate::configure(manager.clone())?;

    manager
        .register(
            Switch::new("wine_shop")
                .state(State::Selective)
                .compounded(true)
                .condition(Condition::new(
                    "User",
                    "age",
                    Operator::more_than_or_equal_to(18)?,
                )?)
                .condition(Condition::new("User", "country", Operator::equals("fr")?)?),
        )
        .await?;
    manager.set_percentage("new_search", 20).await?;
    manager.allow("beta_dashboard", 1007u64).await?;

    let users = [
        User::new(443301, "alice", 34, "fr"), // bucket 5
        User::new(44488, "bob", 16, "fr"),    // bucket 88
        User::new(1007, "carol", 41, "de"),   // bucket 88, on the beta list
    ];

    for user in &users {
        println!("{} ({}, {}):", user.name, user.age, user.country_code);
        match wine_list(user) {
            Ok(wines) => println!("  wine shop: {}", wines.join(", ")),
            Err(e) => println!("  wine shop: {e}"),
        }
        println!("  search:    {}", search_engine(user));
        // The current-user form: put the user in the context, call the
        // function without passing it.
        let seen = gate::scope(
            User::new(user.id, &user.name, user.age, user.country_code),
            dashboard(),
        )
        .await;
        println!("  dashboard: {}", seen.unwrap_or("the classic dashboard"));
    }
    Ok(())
}
