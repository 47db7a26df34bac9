#[gate::with_switches(cool_feature = true, "cool_feature" = false)]
fn uses_cool_feature() {}

fn main() {
    uses_cool_feature();
}
