#[derive(gate::Arguments)]
struct User {
    #[gate(id)]
    id: u64,
    #[gate(id)]
    login: String,
}

fn main() {}
