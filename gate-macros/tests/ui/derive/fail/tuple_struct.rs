#[derive(gate::Arguments)]
struct UserId(u64, String);

fn main() {
    let _ = UserId(1, String::new());
}
