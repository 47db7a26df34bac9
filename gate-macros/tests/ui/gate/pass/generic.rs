use std::fmt::Display;

use gate::{gate, Arguments};

#[gate("beta", arg = input)]
fn generic<'a, I: Arguments, T>(input: &'a I, value: T) -> Option<String>
where
    T: Display + 'a,
{
    Some(value.to_string())
}

#[gate("beta", args(a, b))]
fn two<A, B>(a: A, b: B) -> Option<()>
where
    A: Arguments,
    B: Arguments,
{
    Some(())
}

fn main() {
    assert_eq!(generic(&7u64, 1.5), None);
    assert_eq!(two("a", 1u8), None);
}
