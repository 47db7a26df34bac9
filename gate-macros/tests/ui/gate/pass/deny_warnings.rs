#![deny(warnings)]
#![deny(missing_docs, unreachable_pub, unused_qualifications)]
//! Everything the macros generate compiles without a warning.

use gate::{gate, Arguments, Inactive};

/// An input.
#[derive(Arguments)]
pub struct User<'a> {
    #[gate(id)]
    id: u64,
    name: &'a str,
    #[gate(skip)]
    secret: String,
}

/// A gated function.
#[gate("beta", arg = user)]
pub fn gated(user: &User<'_>) -> Result<usize, Inactive> {
    Ok(user.secret.len())
}

/// An async gated function.
#[gate("beta")]
pub async fn gated_async() -> Option<()> {
    Some(())
}

/// A unit one.
#[gate("beta", arg = user)]
pub fn gated_unit(user: &User<'_>) {
    let _ = user.name;
}

/// Test overrides.
#[gate::with_switches(beta = true)]
pub fn with_beta() -> bool {
    gate::default().active("beta", ())
}

fn main() {
    let user = User { id: 1, name: "a", secret: String::new() };
    assert!(gated(&user).is_err());
    gated_unit(&user);
    let _ = gated_async();
    assert!(with_beta());
    let _ = user.id;
}
