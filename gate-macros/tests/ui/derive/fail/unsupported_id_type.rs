#[derive(gate::Arguments)]
struct User {
    #[gate(id)]
    id: [u8; 16],
}

fn main() {}
