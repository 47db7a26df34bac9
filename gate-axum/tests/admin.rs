//! The admin API over real HTTP: authentication (and the bearer scheme's
//! case), the routes against the OpenAPI description, and JSON for every
//! error.

mod common;

use common::{call, call_as, json_of, start, TOKEN};
use gate::Manager;
use gate_axum::admin;
use http::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn requests_without_credentials_get_401_and_change_nothing() {
    let m = Manager::in_memory();
    let server = start(&m).await;
    for (method, path) in [
        (Method::GET, "/switches"),
        (Method::POST, "/switches/beta/global"),
        (Method::DELETE, "/switches/beta"),
        (Method::GET, "/openapi.json"),
        (Method::GET, "/nowhere"),
    ] {
        let none = server
            .send(method.clone(), &format!("/admin/gate{path}"), &[])
            .await;
        assert_eq!(none.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(none.headers["www-authenticate"], "Bearer");
        let wrong = call_as(&server, "s3cret-tokeN", method.clone(), path, Value::Null).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        let basic = server
            .send(
                method.clone(),
                &format!("/admin/gate{path}"),
                &[("authorization", b"Basic czNjcmV0")],
            )
            .await;
        assert_eq!(basic.status, StatusCode::UNAUTHORIZED);
    }
    assert!(m.switches().is_empty());
    assert!(m.history(None, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let m = Manager::in_memory();
    let server = start(&m).await;
    let with = |value: String| {
        let server = &server;
        async move {
            server
                .send(
                    Method::GET,
                    "/admin/gate/switches",
                    &[("authorization", value.as_bytes())],
                )
                .await
                .status
        }
    };
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        assert_eq!(
            with(format!("{scheme} {TOKEN}")).await,
            StatusCode::OK,
            "{scheme}"
        );
    }
    assert_eq!(
        with(format!("bearer  {TOKEN}")).await,
        StatusCode::OK,
        "spaces"
    );
    for refused in [
        format!("bearer {}", TOKEN.to_uppercase()),
        format!("bearer{TOKEN}"),
        format!("Basic {TOKEN}"),
        format!("bearers {TOKEN}"),
        "bearer ".to_owned(),
        "bearer".to_owned(),
    ] {
        assert_eq!(
            with(refused.clone()).await,
            StatusCode::UNAUTHORIZED,
            "{refused}"
        );
    }
}

/// Every operation the OpenAPI description lists is a real route that
/// answers one of its documented statuses, and the routes the router has
/// are all documented.
#[tokio::test]
async fn the_openapi_description_matches_the_routes() {
    let m = Manager::in_memory();
    m.register(gate::Switch::new("beta")).await.unwrap();
    let server = start(&m).await;
    let served = call(&server, Method::GET, "/openapi.json", Value::Null).await;
    assert_eq!(served.status, StatusCode::OK);
    let doc = json_of(&served);
    assert_eq!(doc, serde_json::from_str::<Value>(admin::OPENAPI).unwrap());
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let documented: Vec<u16> = op["responses"]
                .as_object()
                .unwrap()
                .keys()
                .map(|k| k.parse().unwrap())
                .collect();
            let real_path = path.replace("{name}", "beta");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let answer = call(&server, method.clone(), &real_path, json!({})).await;
            assert!(
                documented.contains(&answer.status.as_u16()),
                "{method} {path} answered {} (documented: {documented:?}): {}",
                answer.status,
                answer.body
            );
            // A route that does not exist answers 404 with "no such
            // endpoint", one with the wrong method 405.
            assert!(
                !answer.body.contains("no such endpoint"),
                "{method} {path} is not routed"
            );
            assert_ne!(
                answer.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
            operations += 1;
        }
    }
    assert_eq!(operations, 18, "every endpoint is described");
    let undocumented = call(&server, Method::GET, "/switches/beta/nothing", Value::Null).await;
    assert_eq!(json_of(&undocumented)["error"], "no such endpoint");
}

#[tokio::test]
async fn every_error_is_json() {
    let m = Manager::in_memory();
    m.register(gate::Switch::new("beta")).await.unwrap();
    let server = start(&m).await;
    let auth: &[(&str, &[u8])] = &[("authorization", b"Bearer s3cret-token")];
    let too_big = format!(
        "{{\"name\": \"big\", \"description\": \"{}\"}}",
        "x".repeat(3 << 20)
    );
    let cases: Vec<(Method, &str, String, StatusCode)> = vec![
        // Path, query and body rejections of axum's extractors.
        (
            Method::GET,
            "/switches/%FF",
            String::new(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/history?limit=many",
            String::new(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::GET,
            "/history?limit=-1",
            String::new(),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            "/switches",
            too_big,
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        // Methods and routes the router does not have.
        (
            Method::DELETE,
            "/switches",
            String::new(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            Method::PATCH,
            "/switches/beta",
            String::new(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            Method::GET,
            "/switches/beta/allow",
            String::new(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            Method::GET,
            "/nowhere",
            String::new(),
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            "/switches/beta/deeper/still",
            String::new(),
            StatusCode::NOT_FOUND,
        ),
        // The API's own errors.
        (
            Method::POST,
            "/switches",
            "{".to_owned(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::GET,
            "/switches?namespace=a:b",
            String::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (method, path, body, status) in cases {
        let answer = server
            .send_body(method.clone(), &format!("/admin/gate{path}"), auth, &body)
            .await;
        assert_eq!(answer.status, status, "{method} {path}: {}", answer.body);
        assert_eq!(
            answer.headers["content-type"], "application/json",
            "{method} {path}"
        );
        let json: Value = serde_json::from_str(&answer.body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}: {}", answer.body));
        let error = json["error"].as_str().unwrap_or_default();
        assert!(!error.is_empty(), "{method} {path}: {json}");
        if status == StatusCode::METHOD_NOT_ALLOWED {
            assert!(answer.headers.contains_key("allow"), "{method} {path}");
        }
    }
}
