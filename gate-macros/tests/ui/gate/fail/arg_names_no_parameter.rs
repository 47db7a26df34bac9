use gate::gate;

#[gate("beta", arg = usr)]
fn greet(user: u64, name: &str) -> Option<String> {
    Some(format!("{user} {name}"))
}

fn main() {
    let _ = greet(1, "a");
}
