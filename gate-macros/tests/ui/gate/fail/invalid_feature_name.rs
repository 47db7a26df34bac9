use gate::gate;

#[gate("movies::star_wars")]
fn f() -> Option<()> {
    Some(())
}

fn main() {
    let _ = f();
}
