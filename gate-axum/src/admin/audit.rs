//! The audit trail and the records that cannot be read.

use axum::extract::Query;
use serde::Deserialize;
use serde_json::{json, Value as JsonValue};

use super::errors::{ok, ApiResult};
use super::request::Scoped;

#[derive(Deserialize)]
pub(super) struct HistoryQuery {
    name: Option<String>,
    limit: Option<usize>,
}

pub(super) async fn history(Scoped(m): Scoped, Query(q): Query<HistoryQuery>) -> ApiResult {
    let entries = m.history(q.name.as_deref(), q.limit.unwrap_or(100)).await?;
    ok(entries)
}

pub(super) async fn unreadable(Scoped(m): Scoped) -> ApiResult {
    let records: Vec<JsonValue> = m
        .unreadable()
        .into_iter()
        .map(|r| json!({ "key": r.key, "error": r.error }))
        .collect();
    ok(records)
}
