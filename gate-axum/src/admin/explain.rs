//! `POST /switches/{name}/explain`: why a switch is on or off for the
//! inputs of the request.

use axum::body::Bytes;
use axum::extract::Path;
use gate::JsonInput;
use serde::Deserialize;
use serde_json::{json, Value as JsonValue};

use super::errors::{ok, ApiResult};
use super::request::{body, IdValue, Scoped};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExplainBody {
    id: Option<IdValue>,
    #[serde(default)]
    inputs: Vec<InputBody>,
}

#[derive(Deserialize)]
struct InputBody {
    kind: String,
    #[serde(default)]
    fields: serde_json::Map<String, JsonValue>,
}

pub(super) async fn explain(
    Scoped(m): Scoped,
    Path(name): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    let request: ExplainBody = body(&bytes)?;
    let mut inputs: Vec<JsonInput> = request
        .inputs
        .into_iter()
        .map(|i| JsonInput::new(i.kind, i.fields))
        .collect();
    if let Some(id) = request.id {
        let mut fields = serde_json::Map::new();
        fields.insert("id".into(), json!(id.to_string()));
        inputs.push(JsonInput::new(gate::ID_KIND, fields));
    }
    // The request's own inputs only: the admin's context is not the user's.
    ok(m.explain_exclusive(&name, inputs.as_slice()))
}
