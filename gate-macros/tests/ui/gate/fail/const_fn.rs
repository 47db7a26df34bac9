use gate::gate;

#[gate("beta")]
const fn f() -> Option<u8> {
    Some(1)
}

fn main() {
    let _ = f();
}
