//! `#[derive(Arguments)]`: the values every supported field type yields.

use std::borrow::Cow;

use gate::{Arguments, Condition, Identity, Manager, Operator, State, Switch, ToValue, Value};

/// Every supported field type.
#[derive(Arguments)]
struct Everything<'a> {
    #[gate(id)]
    id: u64,
    b: bool,
    i8_: i8,
    i16_: i16,
    i32_: i32,
    i64_: i64,
    i128_: i128,
    isize_: isize,
    u8_: u8,
    u16_: u16,
    u32_: u32,
    u64_: u64,
    u128_: u128,
    usize_: usize,
    f32_: f32,
    f64_: f64,
    string: String,
    str_: &'a str,
    cow: Cow<'a, str>,
    some: Option<u32>,
    none: Option<String>,
    none_str: Option<&'a str>,
    plan: Plan,
    #[gate(rename = "country")]
    country_code: &'static str,
    #[gate(rename = "adult", with = Everything::is_adult)]
    age: u8,
    #[gate(with = Everything::nickname)]
    nickname: Option<String>,
    #[gate(skip)]
    #[allow(dead_code)]
    secret: Vec<u8>,
}

impl Everything<'_> {
    fn is_adult(&self) -> bool {
        self.age >= 18
    }
    fn nickname(&self) -> Option<String> {
        self.nickname.as_ref().map(|n| n.to_uppercase())
    }
}

/// A user type with its own conversion.
enum Plan {
    Pro,
}

impl ToValue for Plan {
    fn to_value(&self) -> Option<Value<'_>> {
        match self {
            Plan::Pro => Some(Value::from("pro")),
        }
    }
}

fn everything() -> Everything<'static> {
    Everything {
        id: 443301,
        b: true,
        i8_: -8,
        i16_: -16,
        i32_: -32,
        i64_: -64,
        i128_: -128,
        isize_: -1,
        u8_: 8,
        u16_: 16,
        u32_: 32,
        u64_: 64,
        u128_: u128::MAX,
        usize_: 7,
        f32_: 1.5,
        f64_: 2.25,
        string: "owned".into(),
        str_: "borrowed",
        cow: Cow::Borrowed("cow"),
        some: Some(3),
        none: None,
        none_str: None,
        plan: Plan::Pro,
        country_code: "fr",
        age: 17,
        nickname: None,
        secret: vec![1],
    }
}

#[test]
fn every_supported_field_type_yields_its_value() {
    let e = everything();
    assert_eq!(e.kind(), "Everything");
    assert_eq!(e.identity(), Some(Identity::from(443301u64)));
    let expected: &[(&str, Option<Value<'_>>)] = &[
        ("b", Some(Value::Bool(true))),
        ("i8_", Some(Value::Int(-8))),
        ("i16_", Some(Value::Int(-16))),
        ("i32_", Some(Value::Int(-32))),
        ("i64_", Some(Value::Int(-64))),
        ("i128_", Some(Value::Int(-128))),
        ("isize_", Some(Value::Int(-1))),
        ("u8_", Some(Value::Int(8))),
        ("u16_", Some(Value::Int(16))),
        ("u32_", Some(Value::Int(32))),
        ("u64_", Some(Value::Int(64))),
        ("u128_", Some(Value::Float(u128::MAX as f64))),
        ("usize_", Some(Value::Int(7))),
        ("f32_", Some(Value::Float(1.5))),
        ("f64_", Some(Value::Float(2.25))),
        ("string", Some(Value::from("owned"))),
        ("str_", Some(Value::from("borrowed"))),
        ("cow", Some(Value::from("cow"))),
        ("some", Some(Value::Int(3))),
        ("none", None),
        ("none_str", None),
        ("plan", Some(Value::from("pro"))),
        ("country", Some(Value::from("fr"))),
        ("country_code", None), // renamed
        ("adult", Some(Value::Bool(false))),
        ("nickname", None),
        ("age", None),    // renamed
        ("secret", None), // skipped
        ("id", None),     // the identity is not an attribute
        ("unknown", None),
    ];
    for (name, value) in expected {
        assert_eq!(&e.attribute(name), value, "attribute {name:?}");
    }
}

#[test]
fn computed_attributes() {
    let e = Everything {
        age: 18,
        nickname: Some("neo".into()),
        ..everything()
    };
    assert_eq!(e.attribute("adult"), Some(Value::Bool(true)));
    assert_eq!(e.attribute("nickname"), Some(Value::from("NEO")));
}

#[test]
fn strings_are_borrowed_not_copied() {
    let e = everything();
    assert!(matches!(
        e.attribute("string"),
        Some(Value::Str(Cow::Borrowed("owned")))
    ));
    assert!(matches!(
        e.attribute("cow"),
        Some(Value::Str(Cow::Borrowed("cow")))
    ));
}

#[derive(Arguments)]
#[gate(kind = "User")]
struct Customer {
    #[gate(id)]
    login: Option<String>,
    age: Option<u32>,
    country: String,
}

#[test]
fn kind_rename_and_optional_identity() {
    let c = Customer {
        login: None,
        age: None,
        country: "de".into(),
    };
    assert_eq!(c.kind(), "User");
    assert_eq!(c.identity(), None);
    let c = Customer {
        login: Some("ann".into()),
        ..c
    };
    assert_eq!(c.identity(), Some(Identity::from("ann")));
}

#[tokio::test]
async fn conditions_see_derived_attributes_and_none_is_missing() {
    let manager = Manager::in_memory();
    let errors = gate::testing::Recorder::connect(&manager.signals().condition_apply_error);
    manager
        .register(Switch::new("adults").state(State::Selective).condition(
            Condition::new("User", "age", Operator::more_than_or_equal_to(18).unwrap()).unwrap(),
        ))
        .await
        .unwrap();
    let adult = Customer {
        login: Some("a".into()),
        age: Some(30),
        country: "fr".into(),
    };
    let child = Customer {
        age: Some(10),
        ..Customer {
            login: None,
            age: None,
            country: "fr".into(),
        }
    };
    let unknown = Customer {
        login: None,
        age: None,
        country: "fr".into(),
    };
    assert!(manager.active("adults", &adult));
    assert!(!manager.active("adults", &child));
    assert!(errors.events().is_empty());
    // A missing attribute cannot be evaluated: false, and reported.
    assert!(!manager.active("adults", &unknown));
    assert_eq!(errors.events().len(), 1);

    manager.allow("adults", "a").await.unwrap();
    let only_id = Customer { age: None, ..adult };
    assert!(manager.active("adults", &only_id), "allow-list by identity");
}

/// Generic and lifetime parameters, and a where clause.
#[derive(Arguments)]
struct Wrapper<'a, T, U: Clone>
where
    T: Copy,
{
    #[gate(id)]
    key: &'a str,
    value: T,
    other: Option<U>,
    #[gate(skip)]
    #[allow(dead_code)]
    unused: std::marker::PhantomData<&'a U>,
}

#[test]
fn generic_structs() {
    let w = Wrapper {
        key: "k",
        value: 5u8,
        other: Some(String::from("s")),
        unused: std::marker::PhantomData,
    };
    assert_eq!(w.kind(), "Wrapper");
    assert_eq!(w.identity(), Some(Identity::from("k")));
    assert_eq!(w.attribute("value"), Some(Value::Int(5)));
    assert_eq!(w.attribute("other"), Some(Value::from("s")));
}

#[derive(Arguments)]
struct Empty {}

#[derive(Arguments)]
struct Request {
    r#type: &'static str,
}

#[test]
fn empty_structs_and_raw_identifiers() {
    assert_eq!(Empty {}.kind(), "Empty");
    assert_eq!(Empty {}.identity(), None);
    assert_eq!(Empty {}.attribute("x"), None);
    let r = Request { r#type: "json" };
    assert_eq!(r.attribute("type"), Some(Value::from("json")));
}

mod renamed {
    // The crate under another name.
    pub(crate) use gate as switches;
}

#[derive(Arguments)]
#[gate(crate = "renamed::switches")]
struct ViaPath {
    flag: bool,
}

#[test]
fn crate_path_override() {
    assert_eq!(
        ViaPath { flag: true }.attribute("flag"),
        Some(Value::Bool(true))
    );
}
