#[gate::with_switches("movies:" = true)]
fn uses_cool_feature() {}

fn main() {
    uses_cool_feature();
}
