#[gate::with_switches()]
fn uses_cool_feature() {}

fn main() {
    uses_cool_feature();
}
