#[gate::with_switches(cool_feature = 1)]
fn uses_cool_feature() {}

fn main() {
    uses_cool_feature();
}
