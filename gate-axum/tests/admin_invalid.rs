//! The admin API over real HTTP on what the rules refuse: switches refused
//! with 422 naming the field, and a record another tool broke in Redis,
//! inspected, repaired and deleted.

mod common;

use common::{call, json_of, start};
use gate::Manager;
use http::{Method, StatusCode};
use serde_json::{json, Value};

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
