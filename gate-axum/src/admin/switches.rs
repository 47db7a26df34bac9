//! Reading and writing whole switches: list, show, create, replace
//! (optimistic concurrency, or a repair), delete.

use axum::body::Bytes;
use axum::extract::Path;
use axum::response::IntoResponse;
use axum::Json;
use http::StatusCode;
use serde_json::json;

use super::errors::{ok, ApiError, ApiResult};
use super::request::{found, parse_switch, unreadable_error, Scoped};

pub(super) async fn list(Scoped(m): Scoped) -> ApiResult {
    ok(m.switches())
}

pub(super) async fn show(Scoped(m): Scoped, Path(name): Path<String>) -> ApiResult {
    ok(found(&m, &name)?)
}

pub(super) async fn create(Scoped(m): Scoped, bytes: Bytes) -> ApiResult {
    let switch = parse_switch(&bytes)?;
    if let Some(e) = unreadable_error(&m, &switch.name) {
        return Err(e);
    }
    let stored = m.register(switch).await?;
    Ok((StatusCode::CREATED, Json(stored)).into_response())
}

pub(super) async fn replace(
    Scoped(m): Scoped,
    Path(name): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    let switch = parse_switch(&bytes)?;
    if switch.name != name {
        return Err(ApiError::invalid(
            "name",
            format!("the body names {:?}, the path {name:?}", switch.name),
        ));
    }
    if m.unreadable_reason(&name).is_some() {
        return ok(m.repair(switch).await?);
    }
    ok(m.update(switch).await?)
}

pub(super) async fn delete(Scoped(m): Scoped, Path(name): Path<String>) -> ApiResult {
    // An unreadable record can be deleted.
    if m.unreadable_reason(&name).is_none() {
        found(&m, &name)?;
    }
    let removed: Vec<String> = m
        .unregister(&name)
        .await?
        .into_iter()
        .map(|s| s.name)
        .collect();
    ok(json!({ "removed": removed }))
}
