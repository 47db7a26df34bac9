#[derive(gate::Arguments)]
enum Plan {
    Free,
    Pro,
}

fn main() {
    let _ = Plan::Free;
    let _ = Plan::Pro;
}
