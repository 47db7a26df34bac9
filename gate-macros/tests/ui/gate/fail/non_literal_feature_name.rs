use gate::gate;

const BETA: &str = "beta";

#[gate(BETA)]
fn f() -> Option<()> {
    Some(())
}

fn main() {
    let _ = (f(), BETA);
}
