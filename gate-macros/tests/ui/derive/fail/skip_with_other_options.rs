#[derive(gate::Arguments)]
struct User {
    #[gate(skip, rename = "pw")]
    password_hash: String,
}

fn main() {}
