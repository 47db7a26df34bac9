//! axum integration of [`gate`]: switch-guarded routes and the
//! request's user in gate's context.
//!
//! - [`require("feature")`](require()) — a layer: requests for which the
//!   switch is off get 404 (or a redirect with
//!   [`.redirect_to(..)`](RequireLayer::redirect_to)) and never reach the
//!   handler.
//! - [`Active<F>`](Active) — the same as an extractor, for one handler,
//!   with the feature declared once as a type ([`feature!`]).
//! - [`inputs_from_fn(f)`](inputs_from_fn()) — a middleware that computes
//!   the request's inputs (its user) and runs the rest of the request inside
//!   [`gate::scope`], so every check below — the layer, the extractor,
//!   `#[gate("feature")]` functions — sees the user.
//!   [`inputs_from_parts(f)`](inputs_from_parts()) does the same from an
//!   `async fn(&mut Parts)`. [`spawn`] carries that context into a spawned
//!   task.
//! - [`Rejection`], [`not_found()`], [`redirect()`] — the off-answers, also
//!   for handlers of their own (`From<gate::Inactive> for Rejection`).
//!
//! Which manager: the layer's [`.manager(m)`](RequireLayer::manager) if
//! given, else a `gate::Manager` in the request's extensions (add one with
//! `.layer(axum::Extension(manager))`), else [`gate::default()`].
//!
//! # Examples
//!
//! ```
//! use axum::{http::{HeaderMap, StatusCode}, routing::get, Extension, Router};
//! use gate_axum::Active;
//!
//! gate_axum::feature!(pub Reports = "reports");
//!
//! async fn user(headers: HeaderMap) -> Result<gate::Context, StatusCode> {
//!     let user = headers.get("x-user").map(|v| v.to_str().map(str::to_owned));
//!     match user {
//!         None => Ok(gate::Context::default()),
//!         Some(Ok(id)) => Ok(gate::Context::default().with(id)),
//!         Some(Err(_)) => Err(StatusCode::BAD_REQUEST),
//!     }
//! }
//!
//! async fn reports(_: Active<Reports>) -> &'static str {
//!     "reports"
//! }
//!
//! let manager = gate::Manager::in_memory();
//! let app: Router = Router::new()
//!     .route("/beta", get(|| async { "beta" }))
//!     .route_layer(gate_axum::require("beta"))
//!     .route("/reports", get(reports))
//!     .route("/", get(|| async { "home" }))
//!     .layer(gate_axum::inputs_from_fn(user))
//!     .layer(Extension(manager));
//! # let _ = app;
//! ```

pub mod admin;
mod context;
mod extractor;
pub mod future;
mod layer;
mod rejection;

pub use context::{
    inputs_from_fn, inputs_from_fn_with_state, inputs_from_parts, spawn, FromParts, InputsLayer,
    InputsService, PartsFn,
};
pub use extractor::{Active, Feature};
pub use layer::{require, Require, RequireLayer};
pub use rejection::{not_found, redirect, Off, Rejection};

/// The manager of a request: the one in its extensions, else the default.
#[inline]
fn manager_of(extensions: &http::Extensions) -> &gate::Manager {
    match extensions.get::<gate::Manager>() {
        Some(manager) => manager,
        None => gate::default(),
    }
}
