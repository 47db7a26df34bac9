#![deny(dead_code)]

use gate::gate;

#[gate("beta")]
fn never_called() -> Option<u8> {
    Some(1)
}

fn main() {}
