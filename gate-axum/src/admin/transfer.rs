//! Export and import: every switch out, many switches in at once (the
//! core's planner, [`gate::import`]).

use axum::body::Bytes;
use gate::import::Problem;
use gate::Error;
use serde::Deserialize;
use serde_json::{json, Value as JsonValue};

use super::errors::{ok, ApiError, ApiResult};
use super::request::{body, Scoped};

pub(super) async fn export(Scoped(m): Scoped) -> ApiResult {
    ok(json!({ "switches": m.switches() }))
}

#[derive(Deserialize)]
struct ImportBody {
    switches: Vec<JsonValue>,
    #[serde(default)]
    dry_run: bool,
}

/// Every switch is read and checked first ([`gate::import::read`]); the
/// first problem is a 422 naming `switches[i]` or `switches[i].field`.
pub(super) async fn import(Scoped(m): Scoped, bytes: Bytes) -> ApiResult {
    let request: ImportBody = body(&bytes)?;
    let switches = gate::import::read(request.switches).map_err(|problems| {
        let Some(Problem {
            position, error, ..
        }) = problems.into_iter().next()
        else {
            return ApiError::invalid("switches", "no problem was reported");
        };
        let field = match (&error, error.field()) {
            (Error::InvalidJson { .. }, _) | (_, None) => format!("switches[{position}]"),
            (_, Some(field)) => format!("switches[{position}].{field}"),
        };
        ApiError::invalid(&field, error)
    })?;
    let plan = if request.dry_run {
        m.plan_import(&switches)?
    } else {
        m.import(switches).await?
    };
    ok(json!({ "dry_run": request.dry_run, "plan": plan }))
}
