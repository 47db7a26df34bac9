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
//! when the storage fails. `?namespace=germany` works on every endpoint.
//! `GET /openapi.json` describes them all.
//!
//! | method and path | does |
//! | --- | --- |
//! | `GET /switches` | every switch |
//! | `POST /switches` | create (body: a switch) → 201 |
//! | `GET /switches/{name}` | one switch |
//! | `PUT /switches/{name}` | replace, if its `version` is still the stored one (else 409) |
//! | `DELETE /switches/{name}` | remove it and its descendants |
//! | `POST /switches/{name}/enable`, `/disable`, `/global`, `/toggle` | the rollout shortcuts |
//! | `PUT /switches/{name}/percentage` | `{"percentage": 20}` |
//! | `POST /switches/{name}/allow`, `/disallow` | `{"ids": ["alice"]}` |
//! | `POST /switches/{name}/explain` | `{"id": "443301"}` or `{"inputs": [{"kind": "User", "fields": {...}}]}` |
//! | `GET /export` | `{"switches": [...]}` |
//! | `POST /import` | `{"switches": [...], "dry_run": false}`: all checked first, nothing written if one is invalid |
//! | `GET /history?name=&limit=` | the audit trail, newest first |

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
    /// `Authorization: Bearer <token>`, compared in constant time; writes
    /// are recorded as actor `api`.
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
            let given = headers
                .get(header::AUTHORIZATION)?
                .as_bytes()
                .strip_prefix(b"Bearer ")?;
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
        .route("/openapi.json", get(openapi))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such endpoint", None) })
        .layer(middleware::from_fn_with_state(auth, authenticate))
        .with_state(manager)
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
            Error::Storage(_) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, &error, None),
            _ => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, &error, None),
        }
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

fn found(manager: &Manager, name: &str) -> Result<Switch, ApiError> {
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
    ok(m.update(switch).await?)
}

async fn delete(Scoped(m): Scoped, Path(name): Path<String>) -> ApiResult {
    found(&m, &name)?;
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
    let mut last = None;
    for id in ids {
        last = Some(if add {
            m.allow(&name, id).await?
        } else {
            m.disallow(&name, id).await?
        });
    }
    ok(last)
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

/// The OpenAPI description of these endpoints.
pub const OPENAPI: &str = include_str!("admin/openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}
