use gate::gate;

#[gate("beta", "gamma")]
fn f() -> Option<()> {
    Some(())
}

fn main() {
    let _ = f();
}
