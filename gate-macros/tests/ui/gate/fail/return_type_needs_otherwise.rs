use gate::gate;

#[gate("discount", arg = user)]
fn price(user: u64) -> u32 {
    let _ = user;
    90
}

fn main() {
    let _ = price(1);
}
