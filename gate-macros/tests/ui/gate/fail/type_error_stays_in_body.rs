use gate::gate;

#[gate("beta")]
fn f() -> Option<u8> {
    Some("not a number")
}

fn main() {
    let _ = f();
}
