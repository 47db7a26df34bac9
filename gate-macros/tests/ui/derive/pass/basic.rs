use std::borrow::Cow;

use gate::{Arguments, Value};

#[derive(Arguments)]
#[gate(kind = "User")]
struct Customer<'a> {
    #[gate(id)]
    id: Option<String>,
    age: u32,
    ratio: f64,
    name: &'a str,
    city: Cow<'a, str>,
    nickname: Option<&'a str>,
    #[gate(rename = "country")]
    country_code: String,
    #[gate(with = Customer::adult)]
    adult: (),
    #[gate(skip)]
    password_hash: Vec<u8>,
}

impl Customer<'_> {
    fn adult(&self) -> bool {
        self.age >= 18
    }
}

#[derive(Arguments)]
struct Generic<T: Copy, const N: usize> {
    #[gate(id)]
    id: T,
    #[gate(skip)]
    values: [u8; N],
}

fn main() {
    let c = Customer {
        id: None,
        age: 20,
        ratio: 0.5,
        name: "n",
        city: "c".into(),
        nickname: None,
        country_code: "fr".into(),
        adult: (),
        password_hash: vec![],
    };
    assert_eq!(c.attribute("adult"), Some(Value::Bool(true)));
    let _ = (c.ratio, c.name, c.city, c.nickname, c.country_code, c.adult, c.password_hash);
    let g = Generic { id: 3u8, values: [0; 2] };
    let _ = (g.identity(), g.values);
}
