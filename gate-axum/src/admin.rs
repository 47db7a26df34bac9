//! An admin HTTP API for gate's switches: list, read, create, update
//! (with optimistic concurrency), delete, the rollout shortcuts, explain,
//! export/import and the audit trail, as JSON — to mount in a service.
//!
//! ```
//! use axum::Router;
//!
//! let manager = gate::Manager::in_memory();
//! let app: Router = Router::new().nest(
//!     "/admin/gate",
//!     gate_axum::admin::router(manager, gate_axum::admin::Auth::bearer("s3cret")),
//! );
//! # let _ = app;
//! ```
//!
//! Every request needs the credentials of [`Auth`] (else **401**, and
//! nothing changes). Writes are recorded in the audit trail as the actor
//! the `Auth` names. Errors are JSON: `{"error": "...", "field": "..."}`
//! with **422** for invalid input (the field named), **404** for an
//! unknown switch, **409** for a name taken or a stale `version`, **503**
//! when the storage fails (nothing was written), **504** with
//! `"outcome": "unknown"` and the write's `"op"` id when Redis did not
//! answer a write, which may or may not have been applied (check it with
//! `Manager::write_outcome` or `gate outcome ID`); axum's own answers are
//! JSON too (**400** for a path or query string that does not parse,
//! **405** for a method a path does not take, **413** for a body over
//! axum's limit, 2 MB by default). `?namespace=germany` works on every
//! endpoint.
//!
//! A switch stored but unreadable (another tool broke its record) is
//! listed by `GET /unreadable`; `GET` and every change of it answer
//! **409** with `"unreadable": true` and the `reason`, writing nothing;
//! `PUT` repairs it (whatever its `version`), `DELETE` removes it.
//! `GET /openapi.json` describes them all.
//!
//! | method and path | does |
//! | --- | --- |
//! | `GET /switches` | every switch |
//! | `POST /switches` | create (body: a switch) → 201 |
//! | `GET /switches/{name}` | one switch |
//! | `PUT /switches/{name}` | replace, if its `version` is still the stored one (else 409); repairs an unreadable one |
//! | `DELETE /switches/{name}` | remove it and its descendants |
//! | `POST /switches/{name}/enable`, `/disable`, `/global`, `/toggle` | the rollout shortcuts |
//! | `PUT /switches/{name}/percentage` | `{"percentage": 20}` |
//! | `POST /switches/{name}/allow`, `/disallow` | `{"ids": ["alice", "bob"]}`: one write, one audit entry; `allow` creates the switch if needed, `disallow` on an unknown one is 404 |
//! | `POST /switches/{name}/explain` | `{"id": "443301"}` or `{"inputs": [{"kind": "User", "fields": {...}}]}` |
//! | `GET /export` | `{"switches": [...]}` |
//! | `POST /import` | `{"switches": [...], "dry_run": false}`: all checked first, nothing written if one is invalid |
//! | `GET /history?name=&limit=` | the audit trail, newest first |
//! | `GET /unreadable` | the stored records that cannot be read, with why |

use std::fmt;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use gate::{Error, JsonInput, Manager, Switch};
use http::request::Parts;
use http::{header, HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value as JsonValue};

/// Who may use the admin API, and as which actor their writes are
/// recorded.
///
/// # Examples
///
/// ```
/// use gate_axum::admin::Auth;
///
/// let one = Auth::bearer("s3cret"); // actor "api"
/// let named = Auth::bearer_tokens([("deploy-bot", "t0ken"), ("alice", "pa55")]); // "api:alice"
/// let custom = Auth::from_fn(|headers| {
///     headers.get("x-admin-user").and_then(|v| v.to_str().ok()).map(|u| format!("sso:{u}"))
/// });
/// # let _ = (one, named, custom);
/// ```
#[derive(Clone)]
pub struct Auth(Arc<Check>);

/// An authentication check: the actor, or `None` to refuse.
type Check = dyn Fn(&HeaderMap) -> Option<String> + Send + Sync;

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Auth(..)")
    }
}

impl Auth {
    /// `Authorization: Bearer <token>` (the scheme in any case), the token
    /// compared in constant time; writes are recorded as actor `api`.
    pub fn bearer(token: impl Into<String>) -> Auth {
        let token = token.into();
        Auth::bearer_tokens([("", token)])
    }

    /// Several named bearer tokens, each compared in constant time; writes
    /// are recorded as `api:<name>`.
    pub fn bearer_tokens<N: Into<String>, T: Into<String>>(
        tokens: impl IntoIterator<Item = (N, T)>,
    ) -> Auth {
        let tokens: Vec<(String, Vec<u8>)> = tokens
            .into_iter()
            .map(|(n, t)| (n.into(), t.into().into_bytes()))
            .collect();
        Auth::from_fn(move |headers| {
            let given = bearer_token(headers.get(header::AUTHORIZATION)?.as_bytes())?;
            // Every token is compared, in full, whatever matches.
            let mut found = None;
            for (name, token) in &tokens {
                if constant_time_eq(given, token) && found.is_none() {
                    found = Some(if name.is_empty() {
                        "api".to_owned()
                    } else {
                        format!("api:{name}")
                    });
                }
            }
            found
        })
    }

    /// Your own check: return the actor to record, or `None` to refuse
    /// (401).
    pub fn from_fn(check: impl Fn(&HeaderMap) -> Option<String> + Send + Sync + 'static) -> Auth {
        Auth(Arc::new(check))
    }
}

/// The token of `Bearer <token>`: the scheme in any case (RFC 9110
/// auth-schemes are case-insensitive), then one or more spaces.
fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = value.split_at_checked(6)?;
    if !scheme.eq_ignore_ascii_case(b"Bearer") || !rest.starts_with(b" ") {
        return None;
    }
    let token = rest.trim_ascii_start();
    (!token.is_empty()).then_some(token)
}

/// Compares two byte strings in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a
        .iter()
        .zip(b)
        .fold(0u8, |acc, (x, y)| acc | std::hint::black_box(x ^ y));
    diff == 0
}

/// The actor of an authenticated request.
#[derive(Clone)]
struct Actor(String);

/// The admin API's router, with its state; [`nest`](Router::nest) it
/// where you like (`/admin/gate`).
pub fn router(manager: Manager, auth: Auth) -> Router {
    Router::new()
        .route("/switches", get(list).post(create))
        .route("/switches/{name}", get(show).put(replace).delete(delete))
        .route("/switches/{name}/enable", post(enable))
        .route("/switches/{name}/disable", post(disable))
        .route("/switches/{name}/global", post(global))
        .route("/switches/{name}/toggle", post(toggle))
        .route("/switches/{name}/percentage", put(percentage))
        .route("/switches/{name}/allow", post(allow))
        .route("/switches/{name}/disallow", post(disallow))
        .route("/switches/{name}/explain", post(explain))
        .route("/export", get(export))
        .route("/import", post(import))
        .route("/history", get(history))
        .route("/unreadable", get(unreadable))
        .route("/openapi.json", get(openapi))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such endpoint", None) })
        .layer(middleware::from_fn_with_state(auth, authenticate))
        .layer(middleware::map_response(json_errors))
        .with_state(manager)
}

/// The largest error body of axum's own rejections turned into JSON.
const REJECTION_LIMIT: usize = 16 * 1024;

/// Gives every error answer a JSON body, `{"error": ...}`: also axum's
/// own (a path or query string its extractors reject, a body over the
/// limit, a method the route does not have), which are plain text or
/// empty. The status and the other headers are kept.
async fn json_errors(response: Response) -> Response {
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

async fn authenticate(State(auth): State<Auth>, mut request: Request, next: Next) -> Response {
    match (auth.0)(request.headers()) {
        Some(actor) => {
            request.extensions_mut().insert(Actor(actor));
            next.run(request).await
        }
        None => {
            tracing::debug!(path = %request.uri().path(), "gate admin: unauthenticated request refused");
            let mut response = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "authentication required: send Authorization: Bearer <token>",
                None,
            )
            .into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Bearer"),
            );
            response
        }
    }
}

/// An error answer: a status and `{"error": ..., "field": ...}`.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    body: JsonValue,
}

impl ApiError {
    fn new(status: StatusCode, message: impl fmt::Display, field: Option<&str>) -> ApiError {
        let mut body = json!({ "error": message.to_string() });
        if let Some(field) = field {
            body["field"] = json!(field);
        }
        ApiError { status, body }
    }

    fn invalid(field: &str, message: impl fmt::Display) -> ApiError {
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

type ApiResult = Result<Response, ApiError>;

fn ok(value: impl serde::Serialize) -> ApiResult {
    Ok(Json(value).into_response())
}

/// `?namespace=` on every endpoint.
#[derive(Deserialize)]
struct Scope {
    namespace: Option<String>,
}

/// The manager for a request: in its `?namespace=`, recording writes as
/// its authenticated actor.
struct Scoped(Manager);

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
fn body<T: serde::de::DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::invalid("body", format!("invalid JSON body: {e}")))
}

/// The 409 of a switch stored but unreadable.
fn unreadable_error(manager: &Manager, name: &str) -> Option<ApiError> {
    let reason = manager.unreadable_reason(name)?;
    Some(ApiError::from(Error::Unreadable {
        key: name.to_owned(),
        reason,
    }))
}

fn found(manager: &Manager, name: &str) -> Result<Switch, ApiError> {
    if let Some(e) = unreadable_error(manager, name) {
        return Err(e);
    }
    manager.switch(name).ok_or_else(|| {
        ApiError::from(Error::NotFound {
            name: name.to_owned(),
        })
    })
}

async fn list(Scoped(m): Scoped) -> ApiResult {
    ok(m.switches())
}

async fn show(Scoped(m): Scoped, Path(name): Path<String>) -> ApiResult {
    ok(found(&m, &name)?)
}

fn parse_switch(bytes: &Bytes) -> Result<Switch, ApiError> {
    let text = std::str::from_utf8(bytes).map_err(|e| ApiError::invalid("body", e))?;
    Ok(Switch::from_json(text)?)
}

async fn create(Scoped(m): Scoped, bytes: Bytes) -> ApiResult {
    let switch = parse_switch(&bytes)?;
    if let Some(e) = unreadable_error(&m, &switch.name) {
        return Err(e);
    }
    let stored = m.register(switch).await?;
    Ok((StatusCode::CREATED, Json(stored)).into_response())
}

async fn replace(Scoped(m): Scoped, Path(name): Path<String>, bytes: Bytes) -> ApiResult {
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

async fn delete(Scoped(m): Scoped, Path(name): Path<String>) -> ApiResult {
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

macro_rules! shortcut {
    ($($handler:ident => $method:ident),* $(,)?) => {$(
        async fn $handler(
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

async fn percentage(Scoped(m): Scoped, Path(name): Path<String>, bytes: Bytes) -> ApiResult {
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

/// An id as a string or an integer.
#[derive(Deserialize)]
#[serde(untagged)]
enum IdValue {
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

async fn allow(Scoped(m): Scoped, Path(name): Path<String>, bytes: Bytes) -> ApiResult {
    change_users(m, name, bytes, true).await
}

async fn disallow(Scoped(m): Scoped, Path(name): Path<String>, bytes: Bytes) -> ApiResult {
    change_users(m, name, bytes, false).await
}

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

async fn explain(Scoped(m): Scoped, Path(name): Path<String>, bytes: Bytes) -> ApiResult {
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

async fn export(Scoped(m): Scoped) -> ApiResult {
    ok(json!({ "switches": m.switches() }))
}

#[derive(Deserialize)]
struct ImportBody {
    switches: Vec<JsonValue>,
    #[serde(default)]
    dry_run: bool,
}

async fn import(Scoped(m): Scoped, bytes: Bytes) -> ApiResult {
    let request: ImportBody = body(&bytes)?;
    let mut switches = Vec::with_capacity(request.switches.len());
    for (i, raw) in request.switches.iter().enumerate() {
        let switch = Switch::from_json(&raw.to_string()).map_err(|e| {
            let field = match (&e, e.field()) {
                (Error::InvalidJson { .. }, _) | (_, None) => format!("switches[{i}]"),
                (_, Some(field)) => format!("switches[{i}].{field}"),
            };
            ApiError::invalid(&field, e)
        })?;
        switches.push(switch);
    }
    let plan = if request.dry_run {
        m.plan_import(&switches)?
    } else {
        m.import(switches).await?
    };
    ok(json!({ "dry_run": request.dry_run, "plan": plan }))
}

#[derive(Deserialize)]
struct HistoryQuery {
    name: Option<String>,
    limit: Option<usize>,
}

async fn history(Scoped(m): Scoped, Query(q): Query<HistoryQuery>) -> ApiResult {
    let entries = m.history(q.name.as_deref(), q.limit.unwrap_or(100)).await?;
    ok(entries)
}

async fn unreadable(Scoped(m): Scoped) -> ApiResult {
    let records: Vec<JsonValue> = m
        .unreadable()
        .into_iter()
        .map(|r| json!({ "key": r.key, "error": r.error }))
        .collect();
    ok(records)
}

/// The OpenAPI description of these endpoints.
pub const OPENAPI: &str = include_str!("admin/openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}
