use gate::gate;

#[gate("beta", timeout = 5)]
fn f() -> Option<()> {
    Some(())
}

fn main() {
    let _ = f();
}
