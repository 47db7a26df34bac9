use gate::gate;

#[gate(arg = user)]
fn f(user: u64) -> Option<u64> {
    Some(user)
}

fn main() {
    let _ = f(1);
}
