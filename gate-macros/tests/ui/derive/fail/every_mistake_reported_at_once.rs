#[derive(gate::Arguments)]
#[gate(kind = "User", kind = "Member")]
struct User {
    #[gate(id)]
    id: u64,
    #[gate(hidden)]
    password_hash: String,
    #[gate(id, renamed = "login")]
    login: String,
}

fn main() {}
