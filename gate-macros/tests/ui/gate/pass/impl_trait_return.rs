use std::fmt::Display;

use gate::gate;

#[gate("beta", otherwise = 0)]
fn shown() -> impl Display {
    42
}

#[gate("beta", arg = n)]
fn evens(n: u32) -> Option<impl Iterator<Item = u32>> {
    Some((0..n).filter(|i| i % 2 == 0))
}

#[gate("beta", arg = id)]
fn boxed(id: impl gate::Arguments) -> Result<Box<dyn Fn() -> u8>, gate::Inactive> {
    Ok(Box::new(|| 1))
}

fn main() {
    assert_eq!(shown().to_string(), "0");
    assert!(evens(4).is_none());
    assert!(boxed("x").is_err());
}
