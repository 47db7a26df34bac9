use gate::{gate, Inactive};

/// Doc comments and attributes are kept.
#[gate("beta", arg = user)]
#[inline]
pub fn result(user: u64) -> Result<u64, Inactive> {
    Ok(user)
}

#[gate("beta", arg = name)]
pub(crate) fn option(name: &str) -> Option<usize> {
    Some(name.len())
}

#[gate("beta", otherwise = 0)]
fn otherwise() -> u32 {
    1
}

#[gate("beta")]
fn unit() {}

#[gate("beta", arg = user)]
fn inner_attributes(user: u64) -> Option<u64> {
    #![allow(unused_mut)]
    let mut x = user;
    Some(x)
}

fn main() {
    assert_eq!(result(1), Err(Inactive::new("beta")));
    assert_eq!(option("x"), None);
    assert_eq!(otherwise(), 0);
    unit();
    assert_eq!(inner_attributes(1), None);
}
