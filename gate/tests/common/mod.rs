//! Inputs shared by the integration tests (hand-written `Arguments`, so
//! the core is tested without the derive).

#![allow(dead_code, unreachable_pub, missing_docs)]

use gate::{Arguments, Identity, Value};

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
