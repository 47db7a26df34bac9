use gate::gate;

#[gate("beta", manager = "redis://127.0.0.1")]
fn f() -> Option<()> {
    Some(())
}

fn main() {
    let _ = f();
}
