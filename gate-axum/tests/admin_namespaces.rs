//! The admin API's `?namespace=` registers nothing in the manager (issue 9,
//! item 6: +80 MB after 100,000 GETs with distinct namespaces). Alone in
//! its binary, so the resident memory it measures is its own.

use axum::Router;
use gate::Manager;
use gate_axum::admin::{self, Auth};
use http::{Method, StatusCode};
use tower::ServiceExt;

/// Resident memory of this process, in bytes (Linux).
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[tokio::test]
async fn distinct_namespaces_in_requests_do_not_grow_the_manager() {
    let m = Manager::in_memory();
    m.namespaced("germany")
        .unwrap()
        .enable_for_all("booze")
        .await
        .unwrap();
    // In process (`oneshot`), not over HTTP: only the manager's part is
    // measured, and 50,000 requests take a few seconds.
    let app: Router = Router::new().nest("/admin", admin::router(m.clone(), Auth::bearer("t")));
    let requests = std::env::var("GATE_NAMESPACE_REQUESTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(50_000usize);
    let get = |i: usize| {
        let app = app.clone();
        async move {
            let path = match i % 3 {
                0 => format!("/admin/switches?namespace=tenant-{i:08}-with-a-longish-name"),
                1 => format!("/admin/switches/booze?namespace=tenant-{i:08}-with-a-longish-name"),
                _ => format!("/admin/history?namespace=tenant-{i:08}-with-a-longish-name"),
            };
            let request = http::Request::builder()
                .method(Method::GET)
                .uri(&path)
                .header("authorization", "Bearer t")
                .body(axum::body::Body::empty())
                .unwrap();
            let answer = app.oneshot(request).await.unwrap();
            let expected = if i % 3 == 1 {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::OK
            };
            assert_eq!(answer.status(), expected, "{path}");
        }
    };
    for i in 0..2_000 {
        get(i).await;
    }
    let before = rss();
    for i in 2_000..2_000 + requests {
        get(i).await;
    }
    let grown = rss().saturating_sub(before);
    println!("RSS growth after {requests} GETs with distinct namespaces: {grown} bytes");
    assert!(grown < 2 << 20, "grew {grown} bytes");
    // The namespace that exists still answers.
    let request = http::Request::builder()
        .uri("/admin/switches/booze?namespace=germany")
        .header("authorization", "Bearer t")
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(app.oneshot(request).await.unwrap().status(), StatusCode::OK);
}
