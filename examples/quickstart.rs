//! Quickstart: a few switches of each kind, and who they are on for.
//!
//! Run with `cargo run --example quickstart`. The output is the same on
//! every machine: buckets are `crc32(id) % 100`.

use gate::{Arguments, Condition, Identity, Manager, Operator, State, Switch, Value};

/// An input: a user of the service.
struct User {
    id: u64,
    name: &'static str,
    age: u32,
    country: &'static str,
}

// Usually `#[derive(gate::Arguments)]`; written out here to show the trait.
impl Arguments for User {
    fn kind(&self) -> &str {
        "User"
    }
    fn identity(&self) -> Option<Identity<'_>> {
        Some(Identity::from(self.id))
    }
    fn attribute(&self, name: &str) -> Option<Value<'_>> {
        match name {
            "name" => Some(Value::from(self.name)),
            "age" => Some(Value::from(self.age)),
            "country" => Some(Value::from(self.country)),
            _ => None,
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), gate::Error> {
    let manager = Manager::in_memory();

    // Rollout shortcuts (hanoi / rollout).
    manager.enable_for_all("dark_mode").await?; // everybody
    manager.disable("legacy_export").await?; // nobody
    manager.set_percentage("new_search", 20).await?; // 20% of ids
    manager.allow("beta_reports", 443301u64).await?; // named users
    manager.allow("beta_reports", 1007u64).await?;
    manager.allow_matching("staff_tools", r"^9\d{5}$").await?; // ids by pattern

    // Conditions on attributes (gutter).
    manager
        .register(
            Switch::new("wine_shop")
                .state(State::Selective)
                .condition(Condition::new(
                    "User",
                    "age",
                    Operator::more_than_or_equal_to(18)?,
                )?),
        )
        .await?;
    // A child switch: on only where its parent is on too (concent).
    manager
        .register(
            Switch::new("wine_shop:france")
                .state(State::Selective)
                .condition(Condition::new("User", "country", Operator::equals("fr")?)?),
        )
        .await?;
    // Every condition must hold (compounded).
    manager
        .register(
            Switch::new("teen_offer")
                .state(State::Selective)
                .compounded(true)
                .condition(Condition::new("User", "age", Operator::between(12, 20)?)?)
                .condition(Condition::new(
                    "User",
                    "country",
                    Operator::one_of(["fr", "de"])?,
                )?),
        )
        .await?;
    // An experiment with three arms.
    manager
        .register(
            Switch::new("checkout_layout")
                .state(State::Global)
                .variants(["control", "one_page", "wizard"]),
        )
        .await?;

    let users = [
        User {
            id: 443301,
            name: "ana",
            age: 34,
            country: "fr",
        },
        User {
            id: 44488,
            name: "ben",
            age: 16,
            country: "de",
        },
        User {
            id: 1007,
            name: "chloe",
            age: 17,
            country: "us",
        },
        User {
            id: 912345,
            name: "dev",
            age: 41,
            country: "us",
        },
    ];
    let switches = [
        "dark_mode",
        "legacy_export",
        "new_search",
        "beta_reports",
        "staff_tools",
        "wine_shop",
        "wine_shop:france",
        "teen_offer",
    ];

    print!("{:<18}", "");
    for user in &users {
        print!("{:>10}", user.name);
    }
    println!();
    for switch in switches {
        print!("{switch:<18}");
        for user in &users {
            print!(
                "{:>10}",
                if manager.active(switch, user) {
                    "on"
                } else {
                    "-"
                }
            );
        }
        println!();
    }
    print!("{:<18}", "checkout_layout");
    let layouts = ["control", "one_page", "wizard"];
    for user in &users {
        let variant = manager
            .variant("checkout_layout", user)
            .map_or("-", |i| layouts[i]);
        print!("{variant:>10}");
    }
    println!();
    println!();
    for user in &users {
        println!(
            "bucket of {} ({}): {}",
            user.name,
            user.id,
            gate::bucket(&user.id.to_string())
        );
    }
    Ok(())
}
