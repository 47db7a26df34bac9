//! The middleware that puts the request's inputs (its user) into gate's
//! context, and the helper that carries the context into spawned tasks.

use std::any::type_name;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::task::{Context as TaskContext, Poll};

use axum::extract::{FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use gate::IntoInputs;
use http::request::Parts;
use tower_layer::Layer;
use tower_service::Service;

use crate::future::InputsFuture;

/// A middleware that computes the request's inputs with `f` and runs the
/// rest of the request (inner layers, the handler, and whatever they await)
/// inside [`gate::scope`], so every check below sees them without being
/// passed the user: [`require`](crate::require()), the
/// [`Active`](crate::Active) extractor, `#[gate("feature")]` functions and
/// plain `manager.active(name, ())` calls.
///
/// Modeled on [`axum::middleware::from_fn`]: `f` is an async function whose
/// arguments are extractors (`FromRequestParts`: `HeaderMap`, `Method`,
/// `Uri`, your own auth extractor, …, up to 8) and which returns
/// `Result<inputs, error>`. The inputs are anything [`IntoInputs`] (a type
/// implementing `gate::Arguments`, a plain id such as a `String`, a tuple,
/// `()` for none, or a `gate::Context`). The error is any
/// [`IntoResponse`]: when `f` fails (a malformed header, an expired
/// session) — or one of its extractors rejects — that response is the
/// answer, and the handler does not run.
///
/// The context is task-local: a task started with `tokio::spawn` does not
/// inherit it. Start such tasks with [`spawn`], or wrap their future in
/// `gate::Context::current().run(..)`.
///
/// Apply it with `Router::layer` *after* (that is, outside of) the routes'
/// guards, so that it runs first: `route_layer(require(..))` then
/// `.layer(inputs_from_fn(..))`.
///
/// # Examples
///
/// ```
/// use axum::{http::{HeaderMap, StatusCode}, routing::get, Router};
///
/// /// The user is the `x-user` header; none means anonymous.
/// async fn user(headers: HeaderMap) -> Result<gate::Context, (StatusCode, &'static str)> {
///     match headers.get("x-user") {
///         None => Ok(gate::Context::default()),
///         Some(value) => match value.to_str() {
///             Ok(id) if !id.is_empty() => Ok(gate::Context::default().with(id.to_owned())),
///             _ => Err((StatusCode::BAD_REQUEST, "malformed x-user header")),
///         },
///     }
/// }
///
/// let app: Router = Router::new()
///     .route("/beta", get(|| async { "beta" }))
///     .route_layer(gate_axum::require("beta"))
///     .layer(gate_axum::inputs_from_fn(user));
/// # let _ = app;
/// ```
pub fn inputs_from_fn<F, T>(f: F) -> InputsLayer<F, (), T> {
    inputs_from_fn_with_state((), f)
}

/// [`inputs_from_fn`] for a function whose extractors need the router's
/// state (`State<AppState>`, or extractors with `S: FromRef`).
///
/// # Examples
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Arc;
/// use axum::{extract::State, http::{HeaderMap, StatusCode}, routing::get, Router};
///
/// #[derive(Clone, Default)]
/// struct AppState { sessions: Arc<HashMap<String, u64>> }
///
/// async fn user(
///     State(state): State<AppState>,
///     headers: HeaderMap,
/// ) -> Result<u64, StatusCode> {
///     let token = headers.get("x-session").and_then(|v| v.to_str().ok());
///     token.and_then(|t| state.sessions.get(t).copied()).ok_or(StatusCode::UNAUTHORIZED)
/// }
///
/// let state = AppState::default();
/// let app: Router = Router::new()
///     .route("/", get(|| async { "home" }))
///     .layer(gate_axum::inputs_from_fn_with_state(state.clone(), user))
///     .with_state(state);
/// # let _ = app;
/// ```
pub fn inputs_from_fn_with_state<F, S, T>(state: S, f: F) -> InputsLayer<F, S, T> {
    InputsLayer {
        f,
        state,
        _extractors: PhantomData,
    }
}

/// The layer built by [`inputs_from_fn`] and [`inputs_from_fn_with_state`].
#[must_use]
pub struct InputsLayer<F, S, T> {
    f: F,
    state: S,
    _extractors: PhantomData<fn() -> T>,
}

impl<F: Clone, S: Clone, T> Clone for InputsLayer<F, S, T> {
    fn clone(&self) -> Self {
        InputsLayer {
            f: self.f.clone(),
            state: self.state.clone(),
            _extractors: PhantomData,
        }
    }
}

impl<F, S: fmt::Debug, T> fmt::Debug for InputsLayer<F, S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InputsLayer")
            .field("f", &format_args!("{}", type_name::<F>()))
            .field("state", &self.state)
            .finish()
    }
}

impl<F: Clone, S: Clone, I, T> Layer<I> for InputsLayer<F, S, T> {
    type Service = InputsService<F, S, I, T>;

    fn layer(&self, inner: I) -> Self::Service {
        InputsService {
            f: self.f.clone(),
            state: self.state.clone(),
            inner,
            _extractors: PhantomData,
        }
    }
}

/// The service built by [`InputsLayer`]: computes the inputs, then calls
/// the inner service inside [`gate::scope`].
pub struct InputsService<F, S, I, T> {
    f: F,
    state: S,
    inner: I,
    _extractors: PhantomData<fn() -> T>,
}

impl<F: Clone, S: Clone, I: Clone, T> Clone for InputsService<F, S, I, T> {
    fn clone(&self) -> Self {
        InputsService {
            f: self.f.clone(),
            state: self.state.clone(),
            inner: self.inner.clone(),
            _extractors: PhantomData,
        }
    }
}

impl<F, S: fmt::Debug, I: fmt::Debug, T> fmt::Debug for InputsService<F, S, I, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InputsService")
            .field("f", &format_args!("{}", type_name::<F>()))
            .field("state", &self.state)
            .field("inner", &self.inner)
            .finish()
    }
}

macro_rules! impl_service {
    ($($ty:ident),*) => {
        #[allow(non_snake_case, unused_mut, unused_variables)]
        impl<F, Fut, In, E, S, I, $($ty,)*> Service<Request> for InputsService<F, S, I, ($($ty,)*)>
        where
            F: Fn($($ty),*) -> Fut + Clone + Send + 'static,
            $( $ty: FromRequestParts<S> + Send, )*
            Fut: Future<Output = Result<In, E>> + Send + 'static,
            In: IntoInputs + Send + 'static,
            E: IntoResponse + 'static,
            I: Service<Request, Error = Infallible> + Clone + Send + 'static,
            I::Response: IntoResponse,
            I::Future: Send + 'static,
            S: Clone + Send + Sync + 'static,
        {
            type Response = Response;
            type Error = Infallible;
            type Future = InputsFuture;

            fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
                self.inner.poll_ready(cx)
            }

            fn call(&mut self, request: Request) -> Self::Future {
                // The clone that was polled ready is the one that is called.
                let fresh = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, fresh);
                let f = self.f.clone();
                let state = self.state.clone();
                InputsFuture::new(async move {
                    let (mut parts, body) = request.into_parts();
                    $(
                        let $ty = match $ty::from_request_parts(&mut parts, &state).await {
                            Ok(value) => value,
                            Err(rejection) => return Ok(rejection.into_response()),
                        };
                    )*
                    let inputs = match f($($ty),*).await {
                        Ok(inputs) => inputs,
                        Err(error) => return Ok(error.into_response()),
                    };
                    let request = Request::from_parts(parts, body);
                    let response = gate::scope(inputs, inner.call(request)).await;
                    match response {
                        Ok(response) => Ok(response.into_response()),
                        Err(never) => match never {},
                    }
                })
            }
        }
    };
}

impl_service!();
impl_service!(T1);
impl_service!(T1, T2);
impl_service!(T1, T2, T3);
impl_service!(T1, T2, T3, T4);
impl_service!(T1, T2, T3, T4, T5);
impl_service!(T1, T2, T3, T4, T5, T6);
impl_service!(T1, T2, T3, T4, T5, T6, T7);
impl_service!(T1, T2, T3, T4, T5, T6, T7, T8);

/// [`inputs_from_fn`] for an `async fn(&mut Parts) -> Result<inputs,
/// error>`: the function reads the request's head directly (and may change
/// it, e.g. insert the user into the extensions for the handlers), runs
/// extractors itself with `T::from_request_parts(parts, &()).await`, and
/// fails with any [`IntoResponse`] — that response is then the answer.
///
/// Give it an `async fn` item: a closure cannot return a future that
/// borrows its argument.
///
/// # Examples
///
/// ```
/// use axum::http::{request::Parts, StatusCode};
/// use axum::{routing::get, Extension, Router};
///
/// #[derive(Clone, Debug)]
/// struct UserId(String);
///
/// async fn user(parts: &mut Parts) -> Result<String, (StatusCode, &'static str)> {
///     let id = parts
///         .headers
///         .get("x-user")
///         .ok_or((StatusCode::UNAUTHORIZED, "who are you?"))?
///         .to_str()
///         .map_err(|_| (StatusCode::BAD_REQUEST, "malformed x-user"))?
///         .to_owned();
///     parts.extensions.insert(UserId(id.clone())); // for the handlers
///     Ok(id)
/// }
///
/// let app: Router = Router::new()
///     .route("/beta", get(|Extension(UserId(id)): Extension<UserId>| async move { id }))
///     .route_layer(gate_axum::require("beta"))
///     .layer(gate_axum::inputs_from_parts(user));
/// # let _ = app;
/// ```
pub fn inputs_from_parts<F, I, E>(f: F) -> InputsLayer<F, (), FromParts<I, E>>
where
    F: for<'a> PartsFn<'a, I, E>,
{
    inputs_from_fn_with_state((), f)
}

/// The marker of an [`InputsLayer`] built by [`inputs_from_parts`].
#[derive(Debug)]
pub struct FromParts<I, E>(PhantomData<fn() -> (I, E)>);

/// An `async fn(&'a mut Parts) -> Result<I, E>`, for
/// [`inputs_from_parts`]. Implemented for every such function whose
/// future is `Send`; there is nothing to implement by hand.
pub trait PartsFn<'a, I, E> {
    /// The function's future.
    type Future: Future<Output = Result<I, E>> + Send + 'a;

    /// Calls the function.
    fn call(&self, parts: &'a mut Parts) -> Self::Future;
}

impl<'a, F, Fut, I, E> PartsFn<'a, I, E> for F
where
    F: Fn(&'a mut Parts) -> Fut,
    Fut: Future<Output = Result<I, E>> + Send + 'a,
{
    type Future = Fut;

    fn call(&self, parts: &'a mut Parts) -> Fut {
        self(parts)
    }
}

impl<F, In, E, S, I> Service<Request> for InputsService<F, S, I, FromParts<In, E>>
where
    F: for<'a> PartsFn<'a, In, E> + Clone + Send + Sync + 'static,
    In: IntoInputs + Send + 'static,
    E: IntoResponse + 'static,
    I: Service<Request, Error = Infallible> + Clone + Send + 'static,
    I::Response: IntoResponse,
    I::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = InputsFuture;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        let f = self.f.clone();
        InputsFuture::new(async move {
            let (mut parts, body) = request.into_parts();
            let inputs = match f.call(&mut parts).await {
                Ok(inputs) => inputs,
                Err(error) => return Ok(error.into_response()),
            };
            let request = Request::from_parts(parts, body);
            match gate::scope(inputs, inner.call(request)).await {
                Ok(response) => Ok(response.into_response()),
                Err(never) => match never {},
            }
        })
    }
}

/// Spawns `future` on the current tokio runtime *inside the current
/// context*: `tokio::spawn(gate::Context::current().run(future))`.
///
/// A plain `tokio::spawn` starts a task with an empty context, so checks in
/// it would not see the request's user.
///
/// # Panics
///
/// Outside a tokio runtime, as `tokio::spawn` does.
///
/// # Examples
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// gate::scope("443301", async {
///     let carried = gate_axum::spawn(async { gate::Context::current().len() });
///     let lost = tokio::spawn(async { gate::Context::current().len() });
///     assert_eq!(carried.await.unwrap(), 1);
///     assert_eq!(lost.await.unwrap(), 0);
/// })
/// .await;
/// # });
/// ```
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(gate::Context::current().run(future))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::extract::State;
    use axum::routing::get;
    use axum::{Extension, Router};
    use gate::Manager;
    use http::{HeaderMap, StatusCode};
    use tower::ServiceExt;

    use super::*;

    async fn user(headers: HeaderMap) -> Result<gate::Context, (StatusCode, &'static str)> {
        match headers.get("x-user") {
            None => Ok(gate::Context::default()),
            Some(value) => match value.to_str() {
                Ok(id) if !id.is_empty() => Ok(gate::Context::default().with(id.to_owned())),
                _ => Err((StatusCode::BAD_REQUEST, "malformed x-user header")),
            },
        }
    }

    async fn manager() -> Manager {
        let manager = Manager::in_memory();
        manager.allow("beta", "alice").await.unwrap();
        manager
    }

    fn get_as(uri: &str, user: Option<&[u8]>) -> Request {
        let mut builder = Request::builder().uri(uri);
        if let Some(user) = user {
            builder = builder.header("x-user", http::HeaderValue::from_bytes(user).unwrap());
        }
        builder.body(Body::empty()).unwrap()
    }

    async fn text(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn app(manager: Manager) -> Router {
        Router::new()
            .route("/beta", get(|| async { "beta" }))
            .route_layer(crate::require("beta"))
            .route(
                "/who",
                get(|Extension(m): Extension<Manager>| async move {
                    tokio::task::yield_now().await;
                    let ids: Vec<String> = gate::Context::current()
                        .inputs()
                        .iter()
                        .filter_map(|i| i.identity().map(|id| id.with_text(str::to_owned)))
                        .collect();
                    format!("{} {}", ids.join(","), m.active("beta", ()))
                }),
            )
            .layer(inputs_from_fn(user))
            .layer(Extension(manager))
    }

    #[tokio::test]
    async fn the_user_reaches_the_guards_and_the_handler() {
        let app = app(manager().await);
        let alice = app.clone().oneshot(get_as("/beta", Some(b"alice")));
        assert_eq!(alice.await.unwrap().status(), StatusCode::OK);
        let bob = app.clone().oneshot(get_as("/beta", Some(b"bob")));
        assert_eq!(bob.await.unwrap().status(), StatusCode::NOT_FOUND);
        let anonymous = app.clone().oneshot(get_as("/beta", None));
        assert_eq!(anonymous.await.unwrap().status(), StatusCode::NOT_FOUND);

        let who = app
            .clone()
            .oneshot(get_as("/who", Some(b"alice")))
            .await
            .unwrap();
        assert_eq!(text(who).await, "alice true");
        let who = app.oneshot(get_as("/who", None)).await.unwrap();
        assert_eq!(text(who).await, " false");
    }

    #[tokio::test]
    async fn a_failing_fn_answers_its_own_response() {
        let app = app(manager().await);
        for uri in ["/beta", "/who"] {
            let response = app
                .clone()
                .oneshot(get_as(uri, Some(b"\xffalice")))
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::BAD_REQUEST);
            assert_eq!(text(response).await, "malformed x-user header");
        }
    }

    #[tokio::test]
    async fn state_and_extractor_rejections() {
        #[derive(Clone)]
        struct AppState {
            prefix: &'static str,
        }
        async fn user(
            State(state): State<AppState>,
            axum::extract::Path(id): axum::extract::Path<u32>,
        ) -> Result<String, StatusCode> {
            Ok(format!("{}{id}", state.prefix))
        }
        let manager = manager().await;
        manager.allow("beta", "user-7").await.unwrap();
        let state = AppState { prefix: "user-" };
        let app: Router = Router::new()
            .route("/beta/{id}", get(|| async { "beta" }))
            .route_layer(crate::require("beta"))
            .route_layer(inputs_from_fn_with_state(state.clone(), user))
            .layer(Extension(manager))
            .with_state(state);
        let on = app.clone().oneshot(get_as("/beta/7", None)).await.unwrap();
        assert_eq!(on.status(), StatusCode::OK);
        let off = app.clone().oneshot(get_as("/beta/8", None)).await.unwrap();
        assert_eq!(off.status(), StatusCode::NOT_FOUND);
        // The Path extractor rejects: its 400, not a 500.
        let bad = app.oneshot(get_as("/beta/x", None)).await.unwrap();
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    }

    #[derive(Clone, Debug, PartialEq)]
    struct UserId(String);

    async fn from_parts(parts: &mut Parts) -> Result<String, (StatusCode, &'static str)> {
        tokio::task::yield_now().await;
        let id = parts
            .headers
            .get("x-user")
            .ok_or((StatusCode::UNAUTHORIZED, "who are you?"))?
            .to_str()
            .map_err(|_| (StatusCode::BAD_REQUEST, "malformed x-user"))?
            .to_owned();
        parts.extensions.insert(UserId(id.clone()));
        Ok(id)
    }

    #[tokio::test]
    async fn from_parts_scopes_the_user_and_may_change_the_parts() {
        let app: Router = Router::new()
            .route(
                "/beta",
                get(|Extension(UserId(id)): Extension<UserId>| async move { id }),
            )
            .route_layer(crate::require("beta"))
            .layer(inputs_from_parts(from_parts))
            .layer(Extension(manager().await));
        let alice = app.clone().oneshot(get_as("/beta", Some(b"alice")));
        let alice = alice.await.unwrap();
        assert_eq!(alice.status(), StatusCode::OK);
        assert_eq!(text(alice).await, "alice");
        let bob = app.clone().oneshot(get_as("/beta", Some(b"bob")));
        assert_eq!(bob.await.unwrap().status(), StatusCode::NOT_FOUND);
        let nobody = app.clone().oneshot(get_as("/beta", None)).await.unwrap();
        assert_eq!(nobody.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(text(nobody).await, "who are you?");
        let bad = app.oneshot(get_as("/beta", Some(b"\xff"))).await.unwrap();
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn a_sync_helper_of_a_handler_sees_the_inputs_it_scoped() {
        // Issue 9: `scope_sync` inside the middleware's task scope was ignored.
        fn helper(m: &Manager) -> String {
            gate::scope_sync("alice", || {
                let ids: Vec<String> = gate::Context::current()
                    .inputs()
                    .iter()
                    .filter_map(|i| i.identity().map(|id| id.with_text(str::to_owned)))
                    .collect();
                format!("{} {}", ids.join(","), m.active("beta", ()))
            })
        }
        let app: Router = Router::new()
            .route(
                "/helper",
                get(|Extension(m): Extension<Manager>| async move { helper(&m) }),
            )
            .layer(inputs_from_fn(user))
            .layer(Extension(manager().await));
        let response = app.oneshot(get_as("/helper", Some(b"bob"))).await.unwrap();
        assert_eq!(text(response).await, "bob,alice true");
    }

    #[tokio::test]
    async fn spawn_carries_the_context() {
        let seen = gate::scope("alice", async {
            spawn(async { gate::Context::current().len() })
                .await
                .unwrap()
        })
        .await;
        assert_eq!(seen, 1);
    }
}
