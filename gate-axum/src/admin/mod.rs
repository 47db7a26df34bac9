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

mod audit;
mod auth;
mod errors;
mod explain;
mod request;
mod rollout;
mod switches;
mod transfer;

use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use gate::Manager;
use http::{header, StatusCode};

pub use auth::Auth;

use audit::{history, unreadable};
use auth::authenticate;
use errors::{json_errors, ApiError};
use explain::explain;
use rollout::{allow, disable, disallow, enable, global, percentage, toggle};
use switches::{create, delete, list, replace, show};
use transfer::{export, import};

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

/// The OpenAPI description of these endpoints.
pub const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}
