//! The layer's cost per request (issue 4 target: ≤ 100 ns added beyond
//! the check itself), in-process with `tower::ServiceExt::oneshot`:
//!
//! - `router/bare`: a router with one route, no guard;
//! - `router/pass_layer`: the same behind a layer that only forwards
//!   (what any `route_layer` costs in axum);
//! - `router/require_on`: the same behind `require(..)` on a global switch;
//! - `router/extractor_on`: the same guarded by the `Active<F>` extractor;
//! - `check/global`: the check alone (`manager.active(name, ())`);
//! - `router/require_off`: the guard answering 404 (no handler).
//!
//! Overhead beyond the check = require_on − bare − check/global (all of
//! it), or require_on − pass_layer − check/global (gate's share).
//! Run: `cargo bench -p gate-axum --bench layer -- --warm-up-time 1 --measurement-time 3`.

#![allow(missing_docs)]

use std::hint::black_box;

use axum::body::Body;
use axum::routing::get;
use axum::{Extension, Router};
use criterion::{criterion_group, criterion_main, Criterion};
use gate::Manager;
use gate_axum::Active;
use http::Request;
use tower::ServiceExt;

gate_axum::feature!(On = "on");

/// A layer that only forwards: what any `route_layer` costs in axum
/// (boxing the layered route, a clone per request), without gate.
#[derive(Clone)]
struct Pass;

impl<S> tower_layer::Layer<S> for Pass {
    type Service = Forward<S>;
    fn layer(&self, inner: S) -> Forward<S> {
        Forward(inner)
    }
}

#[derive(Clone)]
struct Forward<S>(S);

impl<S: tower_service::Service<R>, R> tower_service::Service<R> for Forward<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;
    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }
    fn call(&mut self, request: R) -> S::Future {
        self.0.call(request)
    }
}

fn request() -> Request<Body> {
    Request::builder().uri("/x").body(Body::empty()).unwrap()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let manager = rt.block_on(async {
        let m = Manager::in_memory();
        m.enable_for_all("on").await.unwrap();
        m.disable("off").await.unwrap();
        m
    });

    let bare: Router = Router::new().route("/x", get(|| async { "x" }));
    let pass: Router = Router::new()
        .route("/x", get(|| async { "x" }))
        .route_layer(Pass);
    let require_on: Router = Router::new()
        .route("/x", get(|| async { "x" }))
        .route_layer(gate_axum::require("on").manager(manager.clone()));
    let require_off: Router = Router::new()
        .route("/x", get(|| async { "x" }))
        .route_layer(gate_axum::require("off").manager(manager.clone()));
    let extractor_on: Router = Router::new()
        .route("/x", get(|_: Active<On>| async { "x" }))
        .layer(Extension(manager.clone()));
    let bare_extension: Router = Router::new()
        .route("/x", get(|| async { "x" }))
        .layer(Extension(manager.clone()));

    let mut group = c.benchmark_group("router");
    for (name, router) in [
        ("bare", &bare),
        ("pass_layer", &pass),
        ("require_on", &require_on),
        ("require_off", &require_off),
        ("bare_extension", &bare_extension),
        ("extractor_on", &extractor_on),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let response = rt.block_on(router.clone().oneshot(request())).unwrap();
                black_box(response.status())
            })
        });
    }
    group.finish();

    c.bench_function("check/global", |b| {
        b.iter(|| black_box(manager.active(black_box("on"), ())))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
