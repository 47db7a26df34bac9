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
    assert_eq!(operations, 18, "every endpoint is described");
    let undocumented = call(&server, Method::GET, "/switches/beta/nothing", Value::Null).await;
    assert_eq!(json_of(&undocumented)["error"], "no such endpoint");
}

/// Allowing 1,000 ids is one write and one audit entry: it used to be
/// 1,000 writes, which evicted the whole 1,000-entry trail.
#[tokio::test]
async fn allowing_many_ids_is_one_write_and_one_audit_entry() {
    let m = Manager::in_memory();
    let server = start(&m).await;
    for i in 0..5 {
        m.enable(&format!("earlier_{i}")).await.unwrap();
    }
    let ids: Vec<String> = (0..1000).map(|i| format!("user-{i}")).collect();
    let answer = call(
        &server,
        Method::POST,
        "/switches/crowd/allow",
        json!({ "ids": ids }),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    let crowd = json_of(&answer);
    assert_eq!(crowd["version"], 1, "one write");
    assert_eq!(crowd["users"].as_array().unwrap().len(), 1000);
    let history = m.history(None, 5000).await.unwrap();
    assert_eq!(
        history.len(),
        6,
        "one entry for the 1,000 ids, and the earlier entries are still there"
    );
    assert_eq!(history[0].actor, "api:alice");
    assert_eq!(history[0].users.as_ref().unwrap().added_count, 1000);

    let answer = call(
        &server,
        Method::POST,
        "/switches/crowd/disallow",
        json!({ "ids": ids[..500] }),
    )
    .await;
    let crowd = json_of(&answer);
    assert_eq!(crowd["version"], 2);
    assert_eq!(crowd["users"].as_array().unwrap().len(), 500);
    let history = m.history(None, 5000).await.unwrap();
    assert_eq!(history.len(), 7);
    assert_eq!(history[0].users.as_ref().unwrap().removed_count, 500);
}

/// A record broken in Redis by another tool: listed, inspected, refused
/// without writing, repaired with PUT, deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_record_can_be_inspected_repaired_and_deleted() {
    let url = std::env::var("GATE_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into());
    let prefix = format!("gate-axum-test:broken:{}", std::process::id());
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let writer = Manager::builder()
        .redis(&url)
        .prefix(&prefix)
        .build()
        .await
        .unwrap();
    writer.allow("listed", "alice").await.unwrap();
    writer.enable_for_all("versioned").await.unwrap();
    let _: () = redis::cmd("DEL")
        .arg(format!("{prefix}:users:listed"))
        .query_async(&mut c)
        .await
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg(format!("{prefix}:users:listed"))
        .arg("alice")
        .query_async(&mut c)
        .await
        .unwrap();
    let _: () = redis::cmd("HSET")
        .arg(format!("{prefix}:versions"))
        .arg("versioned")
        .arg("x")
        .query_async(&mut c)
        .await
        .unwrap();

    let m = Manager::builder()
        .redis(&url)
        .prefix(&prefix)
        .build()
        .await
        .unwrap();
    let server = start(&m).await;
    let listed = call(&server, Method::GET, "/unreadable", Value::Null).await;
    assert_eq!(listed.status, StatusCode::OK);
    let listed = json_of(&listed);
    assert_eq!(listed[0]["key"], "listed");
    assert!(
        listed[0]["error"]
            .as_str()
            .unwrap()
            .contains("is not a set"),
        "{listed}"
    );
    assert_eq!(listed[1]["key"], "versioned");

    let shown = call(&server, Method::GET, "/switches/listed", Value::Null).await;
    assert_eq!(shown.status, StatusCode::CONFLICT, "{shown:?}");
    assert_eq!(json_of(&shown)["unreadable"], true);
    assert!(json_of(&shown)["reason"]
        .as_str()
        .unwrap()
        .contains("is not a set"));
    for (method, path, body) in [
        (
            Method::POST,
            "/switches/listed/allow",
            json!({"ids": ["bob"]}),
        ),
        (
            Method::POST,
            "/switches/versioned/allow",
            json!({"ids": ["bob"]}),
        ),
        (Method::POST, "/switches/versioned/enable", Value::Null),
        (Method::POST, "/switches", json!({"name": "versioned"})),
    ] {
        let answer = call(&server, method.clone(), path, body).await;
        assert_eq!(
            answer.status,
            StatusCode::CONFLICT,
            "{method} {path}: {answer:?}"
        );
        assert_eq!(
            json_of(&answer)["unreadable"],
            true,
            "{method} {path}: {answer:?}"
        );
    }
    let raw: String = redis::cmd("GET")
        .arg(format!("{prefix}:users:listed"))
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(raw, "alice", "nothing was written");
    let members: Vec<String> = redis::cmd("SMEMBERS")
        .arg(format!("{prefix}:users:versioned"))
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(members.is_empty(), "nothing was written: {members:?}");

    let repaired = call(
        &server,
        Method::PUT,
        "/switches/listed",
        json!({"name": "listed", "state": "selective", "users": ["carol"]}),
    )
    .await;
    assert_eq!(repaired.status, StatusCode::OK, "{repaired:?}");
    assert!(m.active("listed", "carol"));
    let allowed = call(
        &server,
        Method::POST,
        "/switches/listed/allow",
        json!({"ids": ["dave"]}),
    )
    .await;
    assert_eq!(allowed.status, StatusCode::OK, "{allowed:?}");
    let deleted = call(&server, Method::DELETE, "/switches/versioned", Value::Null).await;
    assert_eq!(deleted.status, StatusCode::OK, "{deleted:?}");
    assert_eq!(json_of(&deleted)["removed"], json!(["versioned"]));
    let listed = call(&server, Method::GET, "/unreadable", Value::Null).await;
    assert_eq!(json_of(&listed), json!([]));

    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut c)
        .await
        .unwrap();
    let _: () = redis::cmd("DEL")
        .arg(keys)
        .query_async(&mut c)
        .await
        .unwrap();
}

// Issue 9, item 6: the bearer scheme's case, disallow's answers, and JSON
// for every error.

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

#[tokio::test]
async fn disallow_needs_the_switch_and_ids_must_not_be_empty() {
    let m = Manager::in_memory();
    m.allow("beta", "alice").await.unwrap();
    let server = start(&m).await;
    let unknown = call(
        &server,
        Method::POST,
        "/switches/nothing/disallow",
        json!({"ids": ["alice"]}),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{unknown:?}");
    assert!(json_of(&unknown)["error"]
        .as_str()
        .unwrap()
        .contains("nothing"));
    assert!(m.switch("nothing").is_none(), "nothing created");
    for action in ["allow", "disallow"] {
        for ids in [json!([""]), json!(["bob", ""])] {
            let empty = call(
                &server,
                Method::POST,
                &format!("/switches/beta/{action}"),
                json!({ "ids": ids }),
            )
            .await;
            assert_eq!(
                empty.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{action} {ids}"
            );
            let err = json_of(&empty);
            assert_eq!(err["field"], "ids", "{err}");
            assert!(err["error"].as_str().unwrap().contains("empty"), "{err}");
        }
    }
    let beta = m.switch("beta").unwrap();
    assert_eq!(beta.users.len(), 1, "nothing changed");
    assert!(m.history(Some("nothing"), 10).await.unwrap().is_empty());
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
