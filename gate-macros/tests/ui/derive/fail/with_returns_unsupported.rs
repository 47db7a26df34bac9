#[derive(gate::Arguments)]
struct User {
    #[gate(with = User::tags)]
    tags: Vec<String>,
}

impl User {
    fn tags(&self) -> Vec<String> {
        self.tags.clone()
    }
}

fn main() {}
