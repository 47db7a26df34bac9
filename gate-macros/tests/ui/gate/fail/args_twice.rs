use gate::gate;

#[gate("beta", args(user), args(request))]
fn f(user: u64, request: &str) -> Option<()> {
    let _ = (user, request);
    Some(())
}

fn main() {
    let _ = f(1, "r");
}
