use gate::gate;

#[gate("beta", otherwise = 1, otherwise = 2)]
fn f() -> u8 {
    0
}

fn main() {
    let _ = f();
}
