//! An input described by JSON, for tools: the `gate` command's
//! `check --input User='{...}'` and the admin API's explain endpoint.

use serde_json::{Map, Value as Json};

use crate::arguments::Arguments;
use crate::value::{Identity, Value};

/// An input of kind `kind` whose attributes are the fields of a JSON
/// object; its `id` field (a string or an integer), if any, is its
/// identity. Booleans, numbers and strings are attributes; `null`, arrays
/// and objects count as missing.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use gate::{Condition, JsonInput, Operator, State, Switch};
///
/// let manager = gate::Manager::in_memory();
/// manager
///     .register(
///         Switch::new("senior")
///             .state(State::Selective)
///             .condition(Condition::new("User", "age", Operator::more_than(65)?)?),
///     )
///     .await?;
/// let user = JsonInput::parse("User", r#"{"id": 7, "age": 70}"#)?;
/// assert!(manager.active("senior", &user));
/// # Ok::<_, gate::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct JsonInput {
    kind: String,
    fields: Map<String, Json>,
}

impl JsonInput {
    /// An input of kind `kind` with these fields.
    pub fn new(kind: impl Into<String>, fields: Map<String, Json>) -> JsonInput {
        JsonInput {
            kind: kind.into(),
            fields,
        }
    }

    /// Parses `json`, which must be an object.
    ///
    /// # Errors
    ///
    /// [`crate::Error::InvalidJson`] naming the kind when `json` is not a
    /// JSON object.
    pub fn parse(kind: impl Into<String>, json: &str) -> Result<JsonInput, crate::Error> {
        let kind = kind.into();
        let invalid = |reason: String| crate::Error::InvalidJson {
            what: format!("the {kind} input"),
            reason,
        };
        match serde_json::from_str::<Json>(json) {
            Ok(Json::Object(fields)) => Ok(JsonInput::new(kind, fields)),
            Ok(other) => Err(invalid(format!("expected an object, found {other}"))),
            Err(e) => Err(invalid(e.to_string())),
        }
    }

    /// The fields.
    pub fn fields(&self) -> &Map<String, Json> {
        &self.fields
    }
}

impl Arguments for JsonInput {
    fn kind(&self) -> &str {
        &self.kind
    }

    fn identity(&self) -> Option<Identity<'_>> {
        match self.fields.get("id")? {
            Json::String(s) => Some(Identity::from(s.as_str())),
            Json::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => Some(Identity::from(i)),
                (None, Some(u)) => Some(Identity::from(u)),
                // A fractional id is bucketed as its text.
                _ => Some(Identity::from(n.to_string())),
            },
            _ => None,
        }
    }

    fn attribute(&self, name: &str) -> Option<Value<'_>> {
        match self.fields.get(name)? {
            Json::Bool(b) => Some(Value::Bool(*b)),
            Json::Number(n) => n
                .as_i64()
                .map(Value::Int)
                .or_else(|| n.as_f64().map(Value::Float)),
            Json::String(s) => Some(Value::from(s.as_str())),
            Json::Null | Json::Array(_) | Json::Object(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_become_values_and_id_the_identity() {
        let input = JsonInput::parse(
            "User",
            r#"{"id": 443301, "age": 70, "ratio": 0.5, "name": "jeff", "admin": true, "tags": [1], "gone": null}"#,
        )
        .unwrap();
        assert_eq!(input.kind(), "User");
        assert_eq!(input.identity(), Some(Identity::from("443301")));
        assert_eq!(input.attribute("age"), Some(Value::Int(70)));
        assert_eq!(input.attribute("ratio"), Some(Value::Float(0.5)));
        assert_eq!(input.attribute("name"), Some(Value::from("jeff")));
        assert_eq!(input.attribute("admin"), Some(Value::Bool(true)));
        assert_eq!(input.attribute("tags"), None);
        assert_eq!(input.attribute("gone"), None);
        assert_eq!(input.attribute("missing"), None);
        let text_id = JsonInput::parse("User", r#"{"id": "u-1"}"#).unwrap();
        assert_eq!(text_id.identity(), Some(Identity::from("u-1")));
        let err = JsonInput::parse("User", "[1]").unwrap_err().to_string();
        assert!(
            err.contains("User input") && err.contains("expected an object"),
            "{err}"
        );
        assert!(JsonInput::parse("User", "{").is_err());
    }
}
