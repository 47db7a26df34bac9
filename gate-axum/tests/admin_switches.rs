//! The admin API over real HTTP: reading and writing switches with
//! optimistic concurrency and the audit trail, the rollout shortcuts,
//! explain, allow-lists, export and import.

mod common;

use common::{call, call_as, json_of, start, TOKEN};
use gate::Manager;
use http::{Method, StatusCode};
use serde_json::{json, Value};

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
    assert_eq!(history[0].changes.users.as_ref().unwrap().added_count, 1000);

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
    assert_eq!(
        history[0].changes.users.as_ref().unwrap().removed_count,
        500
    );
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

/// A name given twice in an import is a 422 naming the second one;
/// nothing is written.
#[tokio::test]
async fn an_import_naming_a_switch_twice_is_refused() {
    let m = Manager::in_memory();
    let server = start(&m).await;
    let body =
        json!({"switches": [{"name": "a"}, {"name": "b"}, {"name": "a", "state": "global"}]});
    let refused = call(&server, Method::POST, "/import", body).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let err = json_of(&refused);
    assert_eq!(err["field"], "switches[2].name");
    assert!(
        err["error"].as_str().unwrap().contains("given twice"),
        "{err}"
    );
    assert!(m.switches().is_empty());
}
