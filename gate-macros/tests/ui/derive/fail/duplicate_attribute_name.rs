#[derive(gate::Arguments)]
struct User {
    country: String,
    #[gate(rename = "country")]
    country_code: String,
}

fn main() {}
