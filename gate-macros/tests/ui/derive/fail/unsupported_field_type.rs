#[derive(gate::Arguments)]
struct User {
    #[gate(id)]
    id: u64,
    tags: Vec<String>,
}

fn main() {}
