//! The layer: `require("feature")` guards every route it wraps.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::response::Response;
use gate::Manager;
use http::Request;
use tower_layer::Layer;
use tower_service::Service;

use crate::future::RequireFuture;
use crate::rejection::{Off, Rejection};

/// Guards routes with the switch `feature`: requests for which it is off
/// are answered 404 Not Found (or a redirect, see
/// [`redirect_to`](RequireLayer::redirect_to)) and never reach the handler;
/// the others go through.
///
/// The switch is checked for the request's context: the inputs that
/// [`inputs_from_fn`](crate::inputs_from_fn()) put there (no inputs without
/// it: then only global switches are on). The manager is the one given to
/// [`manager`](RequireLayer::manager), else a `gate::Manager` in the
/// request's extensions (`.layer(axum::Extension(manager))`), else
/// [`gate::default()`].
///
/// Use it with `Router::route_layer`, so that requests for unknown paths
/// still get the router's own 404 (and `405 Method Not Allowed` stays
/// right); `Router::layer` guards the fallback too.
///
/// # Examples
///
/// ```
/// use axum::{routing::get, Router};
///
/// let app: Router = Router::new()
///     .route("/beta", get(|| async { "beta" }))
///     .route_layer(gate_axum::require("beta"))
///     .merge(
///         Router::new()
///             .route("/new-checkout", get(|| async { "new checkout" }))
///             .route_layer(gate_axum::require("new_checkout").redirect_to("/checkout")),
///     )
///     .route("/checkout", get(|| async { "checkout" }));
/// # let _ = app;
/// ```
pub fn require(feature: impl Into<Arc<str>>) -> RequireLayer {
    RequireLayer {
        config: Arc::new(Config {
            feature: feature.into(),
            off: Off::NotFound,
            manager: None,
        }),
    }
}

#[derive(Debug, Clone)]
struct Config {
    feature: Arc<str>,
    off: Off,
    manager: Option<Manager>,
}

/// The layer built by [`require`]. Cloning it is cheap.
#[derive(Clone)]
#[must_use]
pub struct RequireLayer {
    config: Arc<Config>,
}

impl fmt::Debug for RequireLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireLayer")
            .field("feature", &self.config.feature)
            .field("off", &self.config.off)
            .field("manager", &self.config.manager)
            .finish()
    }
}

impl RequireLayer {
    fn config_mut(&mut self) -> &mut Config {
        Arc::make_mut(&mut self.config)
    }

    /// Answers a redirect to `location` instead of 404 when the switch is
    /// off: **302 Found** to `GET` and `HEAD` requests, **303 See Other**
    /// to the others (so the client follows with a `GET`; see [`Off`]).
    ///
    /// # Panics
    ///
    /// If `location` is not a valid header value.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = gate_axum::require("new_checkout").redirect_to("/checkout");
    /// # let _ = layer;
    /// ```
    pub fn redirect_to(self, location: impl AsRef<str>) -> Self {
        self.off(Off::redirect(location))
    }

    /// Answers `off` when the switch is off.
    ///
    /// # Examples
    ///
    /// ```
    /// use gate_axum::Off;
    ///
    /// let layer = gate_axum::require("beta").off(Off::NotFound);
    /// # let _ = layer;
    /// ```
    pub fn off(mut self, off: Off) -> Self {
        self.config_mut().off = off;
        self
    }

    /// Checks with `manager` instead of the request's or the default one.
    ///
    /// # Examples
    ///
    /// ```
    /// let manager = gate::Manager::in_memory();
    /// let layer = gate_axum::require("beta").manager(manager.clone());
    /// # let _ = layer;
    /// ```
    pub fn manager(mut self, manager: Manager) -> Self {
        self.config_mut().manager = Some(manager);
        self
    }

    /// The switch's name.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(gate_axum::require("beta").feature(), "beta");
    /// ```
    pub fn feature(&self) -> &str {
        &self.config.feature
    }
}

impl<S> Layer<S> for RequireLayer {
    type Service = Require<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Require {
            inner,
            config: self.config.clone(),
        }
    }
}

/// The service built by [`RequireLayer`]: checks the switch, then calls
/// the inner service or answers the rejection.
#[derive(Clone)]
pub struct Require<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S: fmt::Debug> fmt::Debug for Require<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Require")
            .field("feature", &self.config.feature)
            .field("off", &self.config.off)
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<Request<B>> for Require<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = RequireFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let config = &*self.config;
        let manager = match &config.manager {
            Some(manager) => manager,
            None => crate::manager_of(request.extensions()),
        };
        if manager.active(&config.feature, ()) {
            RequireFuture::on(self.inner.call(request))
        } else {
            RequireFuture::off(Rejection::shared(
                &config.feature,
                &config.off,
                request.method(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::body::Body;
    use axum::routing::{any, get};
    use axum::{Extension, Router};
    use http::{header, Method, StatusCode};
    use tower::ServiceExt;

    use super::*;

    async fn manager() -> Manager {
        let manager = Manager::in_memory();
        manager.enable_for_all("on").await.unwrap();
        manager.disable("off").await.unwrap();
        manager.allow("alice_only", "alice").await.unwrap();
        manager
    }

    fn request(method: Method, uri: &str) -> Request<Body> {
        Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .unwrap()
    }

    /// A router whose `/x` handler counts its calls, guarded by `layer`.
    fn app(layer: RequireLayer, calls: &Arc<AtomicUsize>) -> Router {
        let calls = calls.clone();
        Router::new()
            .route(
                "/x",
                any(move || {
                    calls.fetch_add(1, Ordering::SeqCst);
                    async { "handler" }
                }),
            )
            .route_layer(layer)
    }

    #[tokio::test]
    async fn on_runs_the_handler_off_answers_404() {
        let m = manager().await;
        let calls = Arc::new(AtomicUsize::new(0));

        let on = app(require("on").manager(m.clone()), &calls);
        let response = on.oneshot(request(Method::GET, "/x")).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        let off = app(require("off").manager(m.clone()), &calls);
        let response = off.oneshot(request(Method::GET, "/x")).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert!(response.headers().get(header::LOCATION).is_none());
        assert_eq!(calls.load(Ordering::SeqCst), 1, "the handler must not run");

        // An unknown switch is off.
        let unknown = app(require("no_such_switch").manager(m), &calls);
        let response = unknown.oneshot(request(Method::GET, "/x")).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn redirect_is_302_for_get_and_head_303_otherwise() {
        let m = manager().await;
        let calls = Arc::new(AtomicUsize::new(0));
        let router = app(
            require("off").manager(m).redirect_to("/upsell?from=x"),
            &calls,
        );
        for (method, status) in [
            (Method::GET, StatusCode::FOUND),
            (Method::HEAD, StatusCode::FOUND),
            (Method::POST, StatusCode::SEE_OTHER),
            (Method::PUT, StatusCode::SEE_OTHER),
            (Method::DELETE, StatusCode::SEE_OTHER),
        ] {
            let response = router
                .clone()
                .oneshot(request(method.clone(), "/x"))
                .await
                .unwrap();
            assert_eq!(response.status(), status, "{method}");
            assert_eq!(response.headers()[header::LOCATION], "/upsell?from=x");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn checks_for_the_context_inputs() {
        let m = manager().await;
        let calls = Arc::new(AtomicUsize::new(0));
        let router = app(require("alice_only").manager(m), &calls);
        let as_alice = gate::scope("alice", router.clone().oneshot(request(Method::GET, "/x")));
        assert_eq!(as_alice.await.unwrap().status(), StatusCode::OK);
        let as_bob = gate::scope("bob", router.clone().oneshot(request(Method::GET, "/x")));
        assert_eq!(as_bob.await.unwrap().status(), StatusCode::NOT_FOUND);
        let nobody = router.oneshot(request(Method::GET, "/x"));
        assert_eq!(nobody.await.unwrap().status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn manager_from_the_extensions_else_the_default() {
        let m = Manager::in_memory();
        m.enable_for_all("gate_axum_layer_ext_only").await.unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let router = app(require("gate_axum_layer_ext_only"), &calls);
        // No extension: the default manager, which does not know the switch.
        let response = router
            .clone()
            .oneshot(request(Method::GET, "/x"))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        // The extension's manager.
        let response = router
            .layer(Extension(m.clone()))
            .oneshot(request(Method::GET, "/x"))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        // An explicit manager wins over the extension's.
        let response = app(
            require("gate_axum_layer_ext_only").manager(Manager::in_memory()),
            &calls,
        )
        .layer(Extension(m))
        .oneshot(request(Method::GET, "/x"))
        .await
        .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn route_layer_leaves_unknown_paths_and_other_routes_alone() {
        let m = manager().await;
        let router: Router = Router::new()
            .route("/guarded", get(|| async { "guarded" }))
            .route_layer(require("off").manager(m).redirect_to("/upsell"))
            .route("/open", get(|| async { "open" }));
        let open = router.clone().oneshot(request(Method::GET, "/open"));
        assert_eq!(open.await.unwrap().status(), StatusCode::OK);
        let missing = router.clone().oneshot(request(Method::GET, "/missing"));
        assert_eq!(missing.await.unwrap().status(), StatusCode::NOT_FOUND);
        let guarded = router.oneshot(request(Method::GET, "/guarded"));
        assert_eq!(guarded.await.unwrap().status(), StatusCode::FOUND);
    }

    #[test]
    fn layer_is_cheap_to_clone_and_options_do_not_leak_between_clones() {
        let base = require("beta");
        let redirecting = base.clone().redirect_to("/upsell");
        assert_eq!(base.config.off, Off::NotFound);
        assert_eq!(redirecting.config.off, Off::redirect("/upsell"));
        assert_eq!(redirecting.feature(), "beta");
        assert!(format!("{redirecting:?}").contains("beta"));
    }
}
