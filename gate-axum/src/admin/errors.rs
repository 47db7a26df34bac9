//! Error answers: [`ApiError`] (a status and a JSON body naming the field)
//! from gate's errors, and JSON bodies for axum's own rejections.

use std::fmt;

use axum::response::{IntoResponse, Response};
use axum::Json;
use gate::Error;
use http::{header, StatusCode};
use serde_json::{json, Value as JsonValue};

/// The largest error body of axum's own rejections turned into JSON.
const REJECTION_LIMIT: usize = 16 * 1024;

/// Gives every error answer a JSON body, `{"error": ...}`: also axum's
/// own (a path or query string its extractors reject, a body over the
/// limit, a method the route does not have), which are plain text or
/// empty. The status and the other headers are kept.
pub(super) async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, REJECTION_LIMIT)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let message = if status == StatusCode::METHOD_NOT_ALLOWED {
        // axum adds the Allow header outside this layer.
        "method not allowed: the Allow header lists the methods this path takes".to_owned()
    } else if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("error")
            .to_ascii_lowercase()
    } else {
        text
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    let body = json!({ "error": message }).to_string();
    Response::from_parts(parts, axum::body::Body::from(body))
}

/// An error answer: a status and `{"error": ..., "field": ...}`.
#[derive(Debug)]
pub(super) struct ApiError {
    status: StatusCode,
    body: JsonValue,
}

impl ApiError {
    pub(super) fn new(
        status: StatusCode,
        message: impl fmt::Display,
        field: Option<&str>,
    ) -> ApiError {
        let mut body = json!({ "error": message.to_string() });
        if let Some(field) = field {
            body["field"] = json!(field);
        }
        ApiError { status, body }
    }

    pub(super) fn invalid(field: &str, message: impl fmt::Display) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message, Some(field))
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> ApiError {
        match &error {
            Error::InvalidJson { .. } => ApiError::invalid("body", &error),
            // Every validation error names its field (`name`,
            // `conditions[2].operator`, …).
            _ if error.field().is_some() => {
                ApiError::invalid(error.field().unwrap_or("body"), &error)
            }
            Error::NotFound { .. } => ApiError::new(StatusCode::NOT_FOUND, &error, None),
            Error::AlreadyExists { .. } => {
                ApiError::new(StatusCode::CONFLICT, &error, Some("name"))
            }
            Error::Conflict {
                expected, found, ..
            } => {
                let mut e = ApiError::new(StatusCode::CONFLICT, &error, Some("version"));
                e.body["expected"] = json!(expected);
                e.body["found"] = json!(found);
                e
            }
            Error::Contended { .. } => ApiError::new(StatusCode::CONFLICT, &error, None),
            Error::Unreadable { reason, .. } => {
                let mut e = ApiError::new(StatusCode::CONFLICT, &error, Some("name"));
                e.body["unreadable"] = json!(true);
                e.body["reason"] = json!(reason);
                e
            }
            Error::Storage { .. } => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, &error, None),
            // Not a failure: the write may have been applied.
            Error::OutcomeUnknown { id, .. } => {
                let mut e = ApiError::new(StatusCode::GATEWAY_TIMEOUT, &error, None);
                e.body["outcome"] = json!("unknown");
                e.body["op"] = json!(id);
                e
            }
            _ => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, &error, None),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

pub(super) type ApiResult = Result<Response, ApiError>;

pub(super) fn ok(value: impl serde::Serialize) -> ApiResult {
    Ok(Json(value).into_response())
}

#[cfg(test)]
mod outcome_tests {
    use super::*;

    #[test]
    fn an_unknown_outcome_is_a_504_naming_the_operation_id() {
        let e = ApiError::from(Error::OutcomeUnknown {
            name: "beta".into(),
            operation: "allow".into(),
            id: "19a-0123".into(),
            reason: "Redis did not answer within 1s".into(),
        });
        assert_eq!(e.status, StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(e.body["outcome"], "unknown");
        assert_eq!(e.body["op"], "19a-0123");
        let message = e.body["error"].as_str().unwrap();
        assert!(
            message.contains("may or may not have been applied"),
            "{message}"
        );
    }
}
