use gate::gate;

#[gate("")]
fn f() -> Option<()> {
    Some(())
}

fn main() {
    let _ = f();
}
