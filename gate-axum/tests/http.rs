//! gate-axum over real HTTP: a server on 127.0.0.1:0 (`axum::serve`) and
//! hyper-util's client.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Extension, Router};
use gate::{Arguments, Identity, Manager, Value};
use gate_axum::{Active, Rejection};
use http::request::Parts;
use http::{HeaderMap, Method, StatusCode};

use common::serve;

/// The request's user: the `x-user` header, `u-<digits>`, optionally
/// `;country=<cc>`.
#[derive(Debug, Clone)]
struct User {
    id: String,
    country: Option<String>,
}

impl Arguments for User {
    fn kind(&self) -> &str {
        "User"
    }
    fn identity(&self) -> Option<Identity<'_>> {
        Some(Identity::from(self.id.as_str()))
    }
    fn attribute(&self, name: &str) -> Option<Value<'_>> {
        match name {
            "country" => self.country.as_deref().map(Value::from),
            _ => None,
        }
    }
}

/// The context middleware's function: anonymous without the header, 400
/// when it is malformed.
async fn user(headers: HeaderMap) -> Result<gate::Context, (StatusCode, String)> {
    let Some(value) = headers.get("x-user") else {
        return Ok(gate::Context::default());
    };
    let bad = |why: &str| (StatusCode::BAD_REQUEST, format!("bad x-user header: {why}"));
    let text = value.to_str().map_err(|_| bad("not ASCII"))?;
    let (id, country) = match text.split_once(";country=") {
        Some((id, country)) => (id, Some(country.to_owned())),
        None => (text, None),
    };
    match id.strip_prefix("u-") {
        Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(gate::Context::default().with(User {
                id: id.to_owned(),
                country,
            }))
        }
        _ => Err(bad("expected u-<digits>")),
    }
}

gate_axum::feature! {
    Beta = "beta";
    Checkout = "new_checkout", redirect_to = "/checkout";
    Rollout = "rollout";
}

/// The ids the context holds, and whether `rollout` is on: what a handler
/// deep in the service sees, after an `.await` and in a spawned task.
async fn whoami(Extension(manager): Extension<Manager>) -> String {
    tokio::time::sleep(Duration::from_millis(2)).await;
    let ids: Vec<String> = gate::Context::current()
        .inputs()
        .iter()
        .filter_map(|i| i.identity().map(|id| id.with_text(str::to_owned)))
        .collect();
    let m = manager.clone();
    let in_task = gate_axum::spawn(async move {
        tokio::task::yield_now().await;
        m.active("rollout", ())
    })
    .await
    .unwrap();
    format!(
        "{} {} {}",
        ids.join(","),
        manager.active("rollout", ()),
        in_task
    )
}

/// A handler gated the way a `#[gate("beta")]` fn returning `Result` is:
/// `?` on `gate::Inactive` gives the 404.
fn beta_data(manager: &Manager) -> Result<&'static str, gate::Inactive> {
    if manager.active("beta", ()) {
        Ok("beta data")
    } else {
        Err(gate::Inactive::new("beta"))
    }
}

async fn beta_result(Extension(m): Extension<Manager>) -> Result<&'static str, Rejection> {
    Ok(beta_data(&m)?)
}

/// The `otherwise = gate_axum::not_found()` shape: a handler returning
/// `Response`.
async fn beta_otherwise(Extension(m): Extension<Manager>) -> Response {
    if !m.active("beta", ()) {
        return gate_axum::not_found();
    }
    "beta otherwise".into_response()
}

/// The same two handlers with `#[gate]`: `Result<_, Rejection>` gets the
/// 404 through `From<gate::Inactive>`, a `Response` handler through
/// `otherwise = gate_axum::not_found()`. No `arg`: the check sees the
/// context that `inputs_from_fn` set.
#[gate::gate("beta", manager = m)]
async fn beta_result_macro(Extension(m): Extension<Manager>) -> Result<&'static str, Rejection> {
    Ok("beta result (macro)")
}

#[gate::gate("beta", manager = m, otherwise = gate_axum::not_found())]
async fn beta_otherwise_macro(Extension(m): Extension<Manager>) -> Response {
    "beta otherwise (macro)".into_response()
}

async fn manager() -> Manager {
    let m = Manager::in_memory();
    m.allow("beta", "u-1").await.unwrap();
    m.allow("beta", "u-2").await.unwrap();
    m.allow("new_checkout", "u-1").await.unwrap();
    m.set_percentage("rollout", 30).await.unwrap();
    m
}

fn app(manager: Manager) -> Router {
    let layered = Router::new()
        .route("/layer/beta", any(|| async { "layer beta" }))
        .route_layer(gate_axum::require("beta"))
        .merge(
            Router::new()
                .route(
                    "/layer/new-checkout",
                    any(|| async { "layer new checkout" }),
                )
                .route_layer(gate_axum::require("new_checkout").redirect_to("/checkout")),
        )
        .merge(
            Router::new()
                .route("/layer/rollout", get(|| async { "rollout" }))
                .route_layer(gate_axum::require("rollout")),
        );
    Router::new()
        .merge(layered)
        .route("/", get(|| async { "home" }))
        .route("/checkout", get(|| async { "old checkout" }))
        .route(
            "/extractor/beta",
            any(|_: Active<Beta>| async { "extractor beta" }),
        )
        .route(
            "/extractor/new-checkout",
            any(|_: Active<Checkout>| async { "extractor new checkout" }),
        )
        .route(
            "/extractor/rollout",
            get(|on: Option<Active<Rollout>>| async move {
                if on.is_some() {
                    "new"
                } else {
                    "old"
                }
            }),
        )
        .route("/result/beta", get(beta_result))
        .route("/otherwise/beta", get(beta_otherwise))
        .route("/macro/result/beta", get(beta_result_macro))
        .route("/macro/otherwise/beta", get(beta_otherwise_macro))
        .route("/whoami", get(whoami))
        .layer(gate_axum::inputs_from_fn(user))
        .layer(Extension(manager))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layer_on_off_and_redirect() {
    let server = serve(app(manager().await)).await;

    let on = server.get("/layer/beta", Some("u-1")).await;
    assert_eq!(
        (on.status, on.body.as_str()),
        (StatusCode::OK, "layer beta")
    );
    let off = server.get("/layer/beta", Some("u-3")).await;
    assert_eq!((off.status, off.body.as_str()), (StatusCode::NOT_FOUND, ""));
    let anonymous = server.get("/layer/beta", None).await;
    assert_eq!(anonymous.status, StatusCode::NOT_FOUND);

    let on = server.get("/layer/new-checkout", Some("u-1")).await;
    assert_eq!(on.status, StatusCode::OK);
    let off = server.get("/layer/new-checkout", Some("u-2")).await;
    assert_eq!(off.status, StatusCode::FOUND);
    assert_eq!(off.location(), Some("/checkout"));
    for method in [Method::POST, Method::PUT, Method::DELETE] {
        let off = server
            .send(method.clone(), "/layer/new-checkout", &[("x-user", b"u-2")])
            .await;
        assert_eq!(off.status, StatusCode::SEE_OTHER, "{method}");
        assert_eq!(off.location(), Some("/checkout"));
    }
    let head = server
        .send(Method::HEAD, "/layer/new-checkout", &[("x-user", b"u-2")])
        .await;
    assert_eq!(head.status, StatusCode::FOUND);

    // Unguarded routes and unknown paths are untouched.
    assert_eq!(server.get("/", Some("u-3")).await.body, "home");
    assert_eq!(
        server.get("/nope", Some("u-1")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extractor_on_off_and_redirect() {
    let server = serve(app(manager().await)).await;

    let on = server.get("/extractor/beta", Some("u-2")).await;
    assert_eq!(
        (on.status, on.body.as_str()),
        (StatusCode::OK, "extractor beta")
    );
    let off = server.get("/extractor/beta", Some("u-3")).await;
    assert_eq!((off.status, off.body.as_str()), (StatusCode::NOT_FOUND, ""));

    let on = server.get("/extractor/new-checkout", Some("u-1")).await;
    assert_eq!(on.body, "extractor new checkout");
    let off = server.get("/extractor/new-checkout", Some("u-2")).await;
    assert_eq!(off.status, StatusCode::FOUND);
    assert_eq!(off.location(), Some("/checkout"));
    let off = server
        .send(
            Method::POST,
            "/extractor/new-checkout",
            &[("x-user", b"u-2")],
        )
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    assert_eq!(off.location(), Some("/checkout"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejection_from_inactive_and_not_found() {
    let server = serve(app(manager().await)).await;
    for path in [
        "/result/beta",
        "/otherwise/beta",
        "/macro/result/beta",
        "/macro/otherwise/beta",
    ] {
        let on = server.get(path, Some("u-1")).await;
        assert_eq!(on.status, StatusCode::OK, "{path}");
        assert!(on.body.starts_with("beta"), "{path}: {}", on.body);
        let off = server.get(path, Some("u-9")).await;
        assert_eq!(
            (off.status, off.body.as_str()),
            (StatusCode::NOT_FOUND, ""),
            "{path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn percentage_rollout_answers_are_stable() {
    let server = serve(app(manager().await)).await;
    let ids: Vec<String> = (0..100).map(|i| format!("u-{}", 1000 + i * 7)).collect();
    let expected: HashMap<&str, bool> = ids
        .iter()
        .map(|id| (id.as_str(), gate::bucket(id) < 30))
        .collect();
    let on = expected.values().filter(|on| **on).count();
    assert!((10..=50).contains(&on), "a 30% rollout of 100 ids: {on} on");

    for round in 0..5 {
        for id in &ids {
            let layer = server.get("/layer/rollout", Some(id)).await;
            let want = if expected[id.as_str()] {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            };
            assert_eq!(layer.status, want, "round {round}, {id}");
            let extractor = server.get("/extractor/rollout", Some(id)).await;
            let want = if expected[id.as_str()] { "new" } else { "old" };
            assert_eq!(extractor.body, want, "round {round}, {id}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_users_are_never_mixed_up() {
    let server = std::sync::Arc::new(serve(app(manager().await)).await);
    let users: Vec<String> = (0..50).map(|i| format!("u-{}", 500 + i * 13)).collect();
    let decisions: Vec<bool> = users.iter().map(|id| gate::bucket(id) < 30).collect();
    assert!(decisions.iter().any(|d| *d) && decisions.iter().any(|d| !*d));

    let mut tasks = Vec::new();
    for n in 0..200 {
        let server = server.clone();
        let user = users[(n * 7) % users.len()].clone();
        let decision = decisions[(n * 7) % users.len()];
        let path = if n % 2 == 0 {
            "/whoami"
        } else {
            "/layer/rollout"
        };
        tasks.push(tokio::spawn(async move {
            let answer = server.get(path, Some(&user)).await;
            (n, path, user, decision, answer)
        }));
    }
    let mut whoami = 0;
    for task in tasks {
        let (n, path, user, decision, answer) = task.await.unwrap();
        if path == "/whoami" {
            whoami += 1;
            assert_eq!(answer.status, StatusCode::OK, "request {n}");
            assert_eq!(
                answer.body,
                format!("{user} {decision} {decision}"),
                "request {n} as {user}"
            );
        } else {
            let want = if decision {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            };
            assert_eq!(answer.status, want, "request {n} as {user}");
        }
    }
    assert_eq!(whoami, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_input_fn_gives_its_own_4xx() {
    let server = serve(app(manager().await)).await;
    for path in ["/layer/beta", "/extractor/beta", "/", "/whoami"] {
        let malformed = server.get(path, Some("alice")).await;
        assert_eq!(malformed.status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(malformed.body, "bad x-user header: expected u-<digits>");
        let binary = server
            .send(Method::GET, path, &[("x-user", b"u-1\xff")])
            .await;
        assert_eq!(binary.status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(binary.body, "bad x-user header: not ASCII");
    }
}

/// An input built from the request parts by an auth extractor of the
/// application's own, rejecting with 401.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auth_extractor_rejection_is_its_own_401() {
    struct Auth(String);
    impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Auth {
        type Rejection = (StatusCode, &'static str);
        async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
            parts
                .headers
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(|token| Auth(token.to_owned()))
                .ok_or((StatusCode::UNAUTHORIZED, "no bearer token"))
        }
    }
    async fn from_auth(Auth(token): Auth) -> Result<String, std::convert::Infallible> {
        Ok(token)
    }
    let m = Manager::in_memory();
    m.allow("beta", "tok-1").await.unwrap();
    let app = Router::new()
        .route("/beta", get(|| async { "beta" }))
        .route_layer(gate_axum::require("beta").manager(m))
        .layer(gate_axum::inputs_from_fn(from_auth));
    let server = serve(app).await;
    let on = server
        .send(Method::GET, "/beta", &[("authorization", b"Bearer tok-1")])
        .await;
    assert_eq!(on.status, StatusCode::OK);
    let off = server
        .send(Method::GET, "/beta", &[("authorization", b"Bearer tok-2")])
        .await;
    assert_eq!(off.status, StatusCode::NOT_FOUND);
    let missing = server.get("/beta", None).await;
    assert_eq!(
        (missing.status, missing.body.as_str()),
        (StatusCode::UNAUTHORIZED, "no bearer token")
    );
}
