use gate::gate;

#[gate("beta", arg = user, args(user, request))]
fn f(user: u64, request: &str) -> Option<()> {
    let _ = (user, request);
    Some(())
}

fn main() {
    let _ = f(1, "r");
}
