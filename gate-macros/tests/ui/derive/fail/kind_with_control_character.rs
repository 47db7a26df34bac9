#[derive(gate::Arguments)]
#[gate(kind = "User\n")]
struct User {
    age: u32,
}

fn main() {}
