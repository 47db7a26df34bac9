#[derive(gate::Arguments)]
#[gate(kind = "")]
struct User {
    age: u32,
}

fn main() {}
