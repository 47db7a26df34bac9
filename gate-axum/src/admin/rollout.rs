//! The rollout shortcuts: enable, disable, global, toggle, percentage,
//! allow and disallow (one write and one audit entry for many ids).

use axum::body::Bytes;
use axum::extract::Path;
use gate::Manager;
use serde::Deserialize;
use serde_json::Value as JsonValue;

use super::errors::{ok, ApiError, ApiResult};
use super::request::{body, found, unreadable_error, IdValue, Scoped};

macro_rules! shortcut {
    ($($handler:ident => $method:ident),* $(,)?) => {$(
        pub(super) async fn $handler(
            Scoped(m): Scoped,
            Path(name): Path<String>,
        ) -> ApiResult {
            ok(m.$method(&name).await?)
        }
    )*};
}

shortcut! {
    enable => enable,
    disable => disable,
    global => enable_for_all,
    toggle => toggle,
}

pub(super) async fn percentage(
    Scoped(m): Scoped,
    Path(name): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    let value: JsonValue = body(&bytes)?;
    let p = value
        .get("percentage")
        .and_then(JsonValue::as_u64)
        .filter(|p| *p <= 100)
        .ok_or_else(|| {
            ApiError::invalid(
                "percentage",
                format!(
                    "percentage must be a whole number from 0 to 100, got {}",
                    value.get("percentage").unwrap_or(&JsonValue::Null)
                ),
            )
        })?;
    ok(m.set_percentage(&name, p as u32).await?)
}

#[derive(Deserialize)]
struct Ids {
    ids: Vec<IdValue>,
}

async fn change_users(m: Manager, name: String, bytes: Bytes, add: bool) -> ApiResult {
    let Ids { ids } = body(&bytes)?;
    if ids.is_empty() {
        return Err(ApiError::invalid("ids", "give at least one id"));
    }
    if let Some(e) = unreadable_error(&m, &name) {
        return Err(e);
    }
    if let Some(i) = ids
        .iter()
        .position(|id| matches!(id, IdValue::Text(t) if t.is_empty()))
    {
        return Err(ApiError::invalid(
            "ids",
            format!("ids[{i}] is empty: an id is a non-empty string or an integer"),
        ));
    }
    if !add {
        // Removing ids from a switch that does not exist is a mistake (a
        // typo in the name), not a reason to create it.
        found(&m, &name)?;
    }
    // One write and one audit entry for all the ids.
    let switch = if add {
        m.allow_all(&name, ids).await?
    } else {
        m.disallow_all(&name, ids).await?
    };
    ok(switch)
}

pub(super) async fn allow(Scoped(m): Scoped, Path(name): Path<String>, bytes: Bytes) -> ApiResult {
    change_users(m, name, bytes, true).await
}

pub(super) async fn disallow(
    Scoped(m): Scoped,
    Path(name): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    change_users(m, name, bytes, false).await
}
