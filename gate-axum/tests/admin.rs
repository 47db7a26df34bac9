//! The admin API over real HTTP: authentication, every endpoint, errors,
//! optimistic concurrency, the audit trail, and the OpenAPI description
//! checked against the real routes.

mod common;

use axum::Router;
use common::{serve, Answer, Server};
use gate::Manager;
use gate_axum::admin::{self, Auth};
use http::{Method, StatusCode};
use serde_json::{json, Value};

const TOKEN: &str = "s3cret-token";

async fn start(manager: &Manager) -> Server {
    let app = Router::new().nest(
        "/admin/gate",
        admin::router(
            manager.clone(),
            Auth::bearer_tokens([("alice", TOKEN), ("bob", "bobs-token")]),
        ),
    );
    serve(app).await
}

async fn call(server: &Server, method: Method, path: &str, body: Value) -> Answer {
    call_as(server, TOKEN, method, path, body).await
}

async fn call_as(server: &Server, token: &str, method: Method, path: &str, body: Value) -> Answer {
    let auth = format!("Bearer {token}");
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    server
        .send_body(
            method,
            &format!("/admin/gate{path}"),
            &[
                ("authorization", auth.as_bytes()),
                ("content-type", b"application/json"),
            ],
            &body,
        )
        .await
}

fn json_of(answer: &Answer) -> Value {
    serde_json::from_str(&answer.body).unwrap_or_else(|e| panic!("{e}: {answer:?}"))
}

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
async fn crud_with_versions_and_history() {
    let m = Manager::in_memory();
    let server = start(&m).await;

    let created = call(
        &server,
        Method::POST,
        "/switches",
        json!({"name": "beta", "state": "selective"}),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    assert_eq!(json_of(&created)["version"], 1);
    let again = call(&server, Method::POST, "/switches", json!({"name": "beta"})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(json_of(&again)["field"], "name");

    let shown = call(&server, Method::GET, "/switches/beta", Value::Null).await;
    assert_eq!(shown.status, StatusCode::OK);
    let mut beta = json_of(&shown);
    beta["description"] = json!("edited");
    let updated = call(&server, Method::PUT, "/switches/beta", beta.clone()).await;
    assert_eq!(updated.status, StatusCode::OK, "{updated:?}");
    assert_eq!(json_of(&updated)["version"], 2);
    // The same stale body again: 409, naming both versions.
    let stale = call(&server, Method::PUT, "/switches/beta", beta).await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    let body = json_of(&stale);
    assert_eq!(
        (
            body["field"].clone(),
            body["expected"].clone(),
            body["found"].clone()
        ),
        (json!("version"), json!(1), json!(2))
    );
    assert_eq!(
        m.switch("beta").unwrap().description.as_deref(),
        Some("edited")
    );

    let missing = call(&server, Method::GET, "/switches/nope", Value::Null).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(json_of(&missing)["error"]
        .as_str()
        .unwrap()
        .contains("nope"));

    call(
        &server,
        Method::POST,
        "/switches",
        json!({"name": "beta:child"}),
    )
    .await;
    let listed = json_of(&call(&server, Method::GET, "/switches", Value::Null).await);
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let deleted = call(&server, Method::DELETE, "/switches/beta", Value::Null).await;
    assert_eq!(json_of(&deleted)["removed"], json!(["beta", "beta:child"]));
    assert!(m.switches().is_empty());
    assert_eq!(
        call(&server, Method::DELETE, "/switches/beta", Value::Null)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let history = json_of(
        &call(
            &server,
            Method::GET,
            "/history?name=beta&limit=3",
            Value::Null,
        )
        .await,
    );
    let history = history.as_array().unwrap();
    assert_eq!(history.len(), 3);
    assert!(
        history.iter().all(|e| e["actor"] == "api:alice"),
        "{history:?}"
    );
    assert_eq!(history[0]["action"], "unregistered");
}

#[tokio::test]
async fn shortcuts_explain_and_validation_errors() {
    let m = Manager::in_memory();
    let server = start(&m).await;
    let on = call_as(
        &server,
        "bobs-token",
        Method::PUT,
        "/switches/new_search/percentage",
        json!({"percentage": 80}),
    )
    .await;
    assert_eq!(on.status, StatusCode::OK, "{on:?}");
    assert!(m.active("new_search", "443301"));
    assert_eq!(m.history(None, 1).await.unwrap()[0].actor, "api:bob");

    for (body, shown) in [
        (json!({"percentage": 101}), "101"),
        (json!({"percentage": "ten"}), "\"ten\""),
        (json!({}), "null"),
    ] {
        let bad = call(
            &server,
            Method::PUT,
            "/switches/new_search/percentage",
            body,
        )
        .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        let err = json_of(&bad);
        assert_eq!(err["field"], "percentage");
        assert!(err["error"].as_str().unwrap().contains(shown), "{err}");
    }
    let malformed = call_as(
        &server,
        TOKEN,
        Method::POST,
        "/switches",
        Value::String("{not json".into()),
    )
    .await;
    assert_eq!(malformed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json_of(&malformed)["field"], "body");
    let bad_name = call(&server, Method::POST, "/switches", json!({"name": "a::b"})).await;
    assert_eq!(json_of(&bad_name)["field"], "name");
    let bad_regex = call(&server, Method::POST, "/switches", json!({"name": "r", "conditions": [{"argument": "@id", "attribute": "", "operator": {"matches": "("}}]})).await;
    assert_eq!(
        bad_regex.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{bad_regex:?}"
    );
    assert_eq!(json_of(&bad_regex)["field"], "conditions[0].operator");

    let why = json_of(
        &call(
            &server,
            Method::POST,
            "/switches/new_search/explain",
            json!({"id": "44488"}),
        )
        .await,
    );
    assert_eq!(why["active"], false);
    assert_eq!(why["reason"]["outcomes"][0]["bucket"], 88.0);
    let why = json_of(
        &call(
            &server,
            Method::POST,
            "/switches/new_search/explain",
            json!({"inputs": [{"kind": "User", "fields": {"id": 443301}}]}),
        )
        .await,
    );
    assert_eq!(why["active"], true);

    call(
        &server,
        Method::POST,
        "/switches/beta/allow",
        json!({"ids": ["alice", 42]}),
    )
    .await;
    assert!(m.active("beta", "alice") && m.active("beta", 42u64));
    call(
        &server,
        Method::POST,
        "/switches/beta/disallow",
        json!({"ids": ["alice"]}),
    )
    .await;
    assert!(!m.active("beta", "alice"));
    let empty = call(
        &server,
        Method::POST,
        "/switches/beta/allow",
        json!({"ids": []}),
    )
    .await;
    assert_eq!(json_of(&empty)["field"], "ids");

    // enable: selective with no rules, so on for no one.
    for (path, active) in [
        ("global", true),
        ("disable", false),
        ("toggle", true),
        ("enable", false),
    ] {
        let answer = call(
            &server,
            Method::POST,
            &format!("/switches/flag/{path}"),
            Value::Null,
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {answer:?}");
        assert_eq!(m.active("flag", ()), active, "{path}");
    }

    // Namespaces.
    call(
        &server,
        Method::POST,
        "/switches/booze/global?namespace=germany",
        Value::Null,
    )
    .await;
    assert!(m.namespaced("germany").unwrap().active("booze", ()));
    assert!(m.switch("booze").is_none());
    let bad_ns = call(&server, Method::GET, "/switches?namespace=a:b", Value::Null).await;
    assert_eq!(json_of(&bad_ns)["field"], "namespace");
}

#[tokio::test]
async fn export_and_import_all_or_nothing() {
    let source = Manager::in_memory();
    source.set_percentage("new_search", 20).await.unwrap();
    source.allow("beta", "alice").await.unwrap();
    let server = start(&source).await;
    let exported = json_of(&call(&server, Method::GET, "/export", Value::Null).await);

    let target = Manager::in_memory();
    let other = start(&target).await;
    let mut bad = exported.clone();
    bad["switches"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "broken", "variants": [{"name": "x", "weight": 0}]}));
    let refused = call(&other, Method::POST, "/import", bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json_of(&refused)["field"], "switches[2].variants");
    assert!(target.switches().is_empty(), "nothing written");

    let mut dry = exported.clone();
    dry["dry_run"] = json!(true);
    let plan = json_of(&call(&other, Method::POST, "/import", dry).await);
    assert_eq!(plan["plan"][0]["action"], "create");
    assert!(target.switches().is_empty());

    let done = call(&other, Method::POST, "/import", exported).await;
    assert_eq!(done.status, StatusCode::OK, "{done:?}");
    assert!(target.active("new_search", "443301"));
    assert!(target.active("beta", "alice"));
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
    assert_eq!(operations, 17, "every endpoint is described");
    let undocumented = call(&server, Method::GET, "/switches/beta/nothing", Value::Null).await;
    assert_eq!(json_of(&undocumented)["error"], "no such endpoint");
}

/// Issue 9, item 3: the admin API refuses what the rules refuse, with 422
/// naming the field, on create, replace and import; nothing is written.
#[tokio::test]
async fn switches_the_rules_refuse_get_422_naming_the_field() {
    let m = Manager::in_memory();
    m.register(gate::Switch::new("kept")).await.unwrap();
    let server = start(&m).await;
    let condition =
        |operator: Value| json!([{"argument": "User", "attribute": "age", "operator": operator}]);
    for (body, field) in [
        (
            json!({"name": "p", "conditions": [{"argument": "@id", "operator": {"percent": 200}}]}),
            "conditions[0].percentage",
        ),
        (
            json!({"name": "p", "conditions": condition(json!({"less_than": null}))}),
            "body",
        ),
        (
            json!({"name": "p", "conditions": condition(json!({"between": {"lower": 9, "upper": 1}}))}),
            "conditions[0].operator",
        ),
        (
            json!({"name": "p", "conditions": condition(json!({"less_than": true}))}),
            "conditions[0].operator",
        ),
        (
            json!({"name": "p", "conditions": condition(json!({"matches": "(?:a{100}){100}b"}))}),
            "conditions[0].operator",
        ),
        (
            json!({"name": "p", "conditions": [{"argument": "", "attribute": "a", "operator": "truthy"}]}),
            "conditions[0].argument",
        ),
        (
            json!({"name": "p", "label": "x".repeat(gate::limits::MAX_LABEL_LEN + 1)}),
            "label",
        ),
        (
            json!({"name": "p", "variants": [{"name": "a"}, {"name": "a"}]}),
            "variants[1].name",
        ),
        (json!({"name": "bidi\u{202E}"}), "name"),
    ] {
        let created = call(&server, Method::POST, "/switches", body.clone()).await;
        assert_eq!(
            created.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {created:?}"
        );
        let err = json_of(&created);
        assert_eq!(err["field"], field, "{body}: {err}");
        assert!(!err["error"].as_str().unwrap().is_empty());

        if field != "name" {
            let mut replacement = body.clone();
            replacement["name"] = json!("kept");
            replacement["version"] = json!(1);
            let replaced = call(&server, Method::PUT, "/switches/kept", replacement).await;
            assert_eq!(replaced.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            assert_eq!(json_of(&replaced)["field"], field, "{body}");
        }

        let imported = call(
            &server,
            Method::POST,
            "/import",
            json!({"switches": [body]}),
        )
        .await;
        assert_eq!(imported.status, StatusCode::UNPROCESSABLE_ENTITY);
        let expected = if field == "body" {
            "switches[0]".to_owned()
        } else {
            format!("switches[0].{field}")
        };
        assert_eq!(json_of(&imported)["field"], expected.as_str());
    }
    assert_eq!(
        m.switches().len(),
        1,
        "nothing was written: {:?}",
        m.switches()
    );
    assert_eq!(m.switch("kept").unwrap().version, 1);
}
