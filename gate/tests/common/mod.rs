//! Inputs shared by the integration tests (hand-written `Arguments`, so
//! the core is tested without the derive).

#![allow(dead_code, unreachable_pub, missing_docs)]

use gate::{Arguments, Condition, Identity, Manager, Operator, State, Switch, Value};

/// A drinking-age style user, as in gutter's integration tests.
#[derive(Debug, Clone)]
pub struct User {
    pub id: u64,
    pub name: String,
    pub age: i64,
    pub location: String,
    pub married: bool,
}

impl User {
    pub fn new(id: u64, name: &str, age: i64, location: &str, married: bool) -> Self {
        User {
            id,
            name: name.into(),
            age,
            location: location.into(),
            married,
        }
    }
}

impl Arguments for User {
    fn kind(&self) -> &str {
        "User"
    }
    fn identity(&self) -> Option<Identity<'_>> {
        Some(Identity::from(self.id))
    }
    fn attribute(&self, name: &str) -> Option<Value<'_>> {
        match name {
            "name" => Some(Value::from(self.name.as_str())),
            "age" => Some(Value::from(self.age)),
            "location" => Some(Value::from(self.location.as_str())),
            "married" => Some(Value::from(self.married)),
            _ => None,
        }
    }
}

/// A request-like input without identity.
#[derive(Debug, Clone)]
pub struct Request {
    pub ip: String,
    pub path: String,
    pub secure: bool,
}

impl Arguments for Request {
    fn kind(&self) -> &str {
        "Request"
    }
    fn attribute(&self, name: &str) -> Option<Value<'_>> {
        match name {
            "ip" => Some(Value::from(self.ip.as_str())),
            "path" => Some(Value::from(self.path.as_str())),
            "secure" => Some(Value::from(self.secure)),
            _ => None,
        }
    }
}

pub fn request(ip: &str) -> Request {
    Request {
        ip: ip.into(),
        path: "/".into(),
        secure: true,
    }
}

/// A user of this age, in Paris, unmarried.
pub fn user(id: u64, age: i64) -> User {
    User::new(id, "u", age, "Paris", false)
}

/// Registers a selective switch with these conditions.
pub async fn selective(
    manager: &Manager,
    name: &str,
    compounded: bool,
    conditions: Vec<Condition>,
) {
    let mut switch = Switch::new(name)
        .state(State::Selective)
        .compounded(compounded);
    switch.conditions = conditions;
    manager.register(switch).await.unwrap();
}

/// `User.age >= 21`.
pub fn adult() -> Condition {
    Condition::new("User", "age", Operator::more_than_or_equal_to(21).unwrap()).unwrap()
}

/// `Request.secure` is truthy.
pub fn secure() -> Condition {
    Condition::new("Request", "secure", Operator::truthy()).unwrap()
}
