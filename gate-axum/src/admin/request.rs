//! What every handler reads from a request: the manager in its
//! `?namespace=` as the authenticated actor ([`Scoped`]), a JSON body, the
//! switch named in the path.

use std::fmt;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Query};
use gate::{Error, Manager, Switch};
use http::request::Parts;
use serde::Deserialize;

use super::auth::Actor;
use super::errors::ApiError;

/// `?namespace=` on every endpoint.
#[derive(Deserialize)]
struct Scope {
    namespace: Option<String>,
}

/// The manager for a request: in its `?namespace=`, recording writes as
/// its authenticated actor.
pub(super) struct Scoped(pub(super) Manager);

impl FromRequestParts<Manager> for Scoped {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, manager: &Manager) -> Result<Self, ApiError> {
        let Query(scope) = Query::<Scope>::from_request_parts(parts, manager)
            .await
            .map_err(|e| ApiError::invalid("query", e.body_text()))?;
        let actor = parts
            .extensions
            .get::<Actor>()
            .map_or_else(|| "api".to_owned(), |a| a.0.clone());
        let base = match scope.namespace.as_deref() {
            None | Some("") => manager.clone(),
            Some(ns) => manager.namespaced(ns)?,
        };
        Ok(Scoped(base.as_actor(actor)))
    }
}

/// Parses a JSON body; a malformed one is a 422 naming `body`.
pub(super) fn body<T: serde::de::DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::invalid("body", format!("invalid JSON body: {e}")))
}

/// The 409 of a switch stored but unreadable.
pub(super) fn unreadable_error(manager: &Manager, name: &str) -> Option<ApiError> {
    let reason = manager.unreadable_reason(name)?;
    Some(ApiError::from(Error::Unreadable {
        key: name.to_owned(),
        reason,
    }))
}

pub(super) fn found(manager: &Manager, name: &str) -> Result<Switch, ApiError> {
    if let Some(e) = unreadable_error(manager, name) {
        return Err(e);
    }
    manager.switch(name).ok_or_else(|| {
        ApiError::from(Error::NotFound {
            name: name.to_owned(),
        })
    })
}

pub(super) fn parse_switch(bytes: &Bytes) -> Result<Switch, ApiError> {
    let text = std::str::from_utf8(bytes).map_err(|e| ApiError::invalid("body", e))?;
    Ok(Switch::from_json(text)?)
}

/// An id as a string or an integer.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum IdValue {
    Text(String),
    Int(i64),
}

impl fmt::Display for IdValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdValue::Text(s) => f.write_str(s),
            IdValue::Int(n) => write!(f, "{n}"),
        }
    }
}
