use gate::gate;

// The manager's own rules (gate-names): whitespace around a name, an
// invisible or control character, more than 200 bytes, ...
#[gate("beta ")]
fn f() -> Option<()> {
    Some(())
}

fn main() {
    let _ = f();
}
