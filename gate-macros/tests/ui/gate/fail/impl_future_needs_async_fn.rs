use std::future::Future;

use gate::gate;

#[gate("beta")]
fn later() -> impl Future<Output = u8> {
    async { 1 }
}

fn main() {
    let _ = later();
}
