#[derive(gate::Arguments)]
struct User {
    #[gate(id)]
    id: u64,
    #[gate(hidden)]
    password_hash: String,
}

fn main() {}
