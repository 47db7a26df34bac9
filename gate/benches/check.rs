//! Check-path benchmarks (DESIGN.md targets: Global ≤ 25 ns, identity
//! percentage ≤ 60 ns, 3 attribute conditions ≤ 150 ns, allow-list of
//! 1,000,000 ids ≤ 80 ns; two threads scale ≥ 1.8×).

#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use gate::{Arguments, Condition, Identity, Manager, Operator, State, Switch, Value};

struct User {
    id: u64,
    name: String,
    age: i64,
    country: String,
}

impl Arguments for User {
    fn kind(&self) -> &str {
        "User"
    }
    fn identity(&self) -> Option<Identity<'_>> {
        Some(Identity::from(self.id))
    }
    fn attribute(&self, name: &str) -> Option<Value<'_>> {
        match name {
            "name" => Some(Value::from(self.name.as_str())),
            "age" => Some(Value::from(self.age)),
            "country" => Some(Value::from(self.country.as_str())),
            _ => None,
        }
    }
}

fn setup(rt: &tokio::runtime::Runtime) -> Manager {
    rt.block_on(fill(Manager::in_memory()))
}

/// The same switches on a Redis-backed manager (DESIGN.md: within 10% of
/// memory). Needs Redis at 127.0.0.1:6379 or GATE_REDIS_URL.
fn setup_redis(rt: &tokio::runtime::Runtime) -> Manager {
    rt.block_on(async {
        let url = std::env::var("GATE_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into());
        let prefix = format!("gate-bench-check:{}", std::process::id());
        let m = Manager::builder()
            .redis(&url)
            .prefix(&prefix)
            .build()
            .await
            .unwrap();
        assert!(
            m.sync_status().connected,
            "no Redis at {url}: start redis-server (bash scripts/test.sh does) or set GATE_REDIS_URL"
        );
        for s in m.switches() {
            m.unregister(&s.name).await.unwrap();
        }
        fill(m).await
    })
}

async fn fill(m: Manager) -> Manager {
    {
        m.enable_for_all("global").await.unwrap();
        m.set_percentage("percentage", 50).await.unwrap();
        let cond = |a: &str, op| Condition::new("User", a, op).unwrap();
        m.register(
            Switch::new("three")
                .state(State::Selective)
                .compounded(true)
                .condition(cond("age", Operator::more_than_or_equal_to(18).unwrap()))
                .condition(cond(
                    "country",
                    Operator::one_of(["fr", "de", "it"]).unwrap(),
                ))
                .condition(cond(
                    "name",
                    Operator::strip_ignorecase_equals("Jeff").unwrap(),
                )),
        )
        .await
        .unwrap();
        let mut allowed = Switch::new("allow_list").state(State::Selective);
        allowed.users = (0..1_000_000u64).map(|i| (i * 7919).to_string()).collect();
        m.register(allowed).await.unwrap();
    }
    m
}

fn user() -> User {
    User {
        id: 443301,
        name: "jeff".into(),
        age: 30,
        country: "it".into(),
    }
}

fn checks(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    checks_on(c, "check", &rt, &setup(&rt));
    let redis = setup_redis(&rt);
    checks_on(c, "check on a Redis-backed manager", &rt, &redis);
    rt.block_on(async {
        for s in redis.switches() {
            redis.unregister(&s.name).await.unwrap();
        }
    });
}

fn checks_on(c: &mut Criterion, group: &str, rt: &tokio::runtime::Runtime, m: &Manager) {
    let u = user();
    assert!(m.active("global", &u));
    assert!(m.active("three", &u));
    assert!(m.active("allow_list", "7919"));

    let mut g = c.benchmark_group(group);
    g.bench_function("global, one input", |b| {
        b.iter(|| m.active(black_box("global"), black_box(&u)))
    });
    g.bench_function("selective, identity percentage (u64 id)", |b| {
        b.iter(|| m.active(black_box("percentage"), black_box(&u)))
    });
    g.bench_function("selective, identity percentage (str id)", |b| {
        b.iter(|| m.active(black_box("percentage"), black_box("443301")))
    });
    g.bench_function("selective, 3 attribute conditions", |b| {
        b.iter(|| m.active(black_box("three"), black_box(&u)))
    });
    g.bench_function("allow-list of 1,000,000 ids, hit", |b| {
        b.iter(|| m.active(black_box("allow_list"), black_box("7919000")))
    });
    g.bench_function("allow-list of 1,000,000 ids, miss", |b| {
        b.iter(|| m.active(black_box("allow_list"), black_box(&u)))
    });
    g.bench_function("global, inside a scope", |b| {
        rt.block_on(gate::scope(user(), async {
            b.iter(|| m.active(black_box("global"), ()))
        }))
    });
    g.bench_function("selective, 3 conditions, user from a scope", |b| {
        rt.block_on(gate::scope(user(), async {
            b.iter(|| m.active(black_box("three"), ()))
        }))
    });
    g.bench_function("selective, 3 conditions, user from a scope_sync", |b| {
        gate::scope_sync(user(), || b.iter(|| m.active(black_box("three"), ())))
    });
    g.bench_function("unknown switch", |b| {
        b.iter(|| m.active(black_box("nope"), black_box(&u)))
    });
    g.finish();
}

/// Runs `iters` percentage checks on each of `threads` threads at once and
/// returns the wall time; the throughput ratio of 2 threads to 1 is the
/// scaling factor.
fn run_threads(m: &Manager, threads: usize, iters: u64) -> Duration {
    let barrier = std::sync::Barrier::new(threads + 1);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let u = user();
                barrier.wait();
                for _ in 0..iters {
                    black_box(m.active(black_box("percentage"), black_box(&u)));
                }
            });
        }
        barrier.wait();
        let start = Instant::now();
        // Joined when the scope ends.
        start
    })
    .elapsed()
}

fn scaling(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let m = setup(&rt);
    let mut g = c.benchmark_group("scaling (time per check per thread)");
    for threads in [1usize, 2] {
        g.bench_function(format!("{threads} thread(s)"), |b| {
            b.iter_custom(|iters| run_threads(&m, threads, iters))
        });
    }
    g.finish();
}

/// Checks of unknown names with autocreate while the storage is down
/// (DESIGN.md failure model, rule 1: no dearer than a known switch).
fn autocreate_while_down(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let m = rt.block_on(async {
        // Nothing listens on port 1: every insert fails at once.
        Manager::builder()
            .autocreate(true)
            .redis("redis://127.0.0.1:1/0")
            .timeout(Duration::from_millis(100))
            .build()
            .await
            .unwrap()
    });
    let names: Vec<String> = (0..1_000).map(|i| format!("unknown_{i}")).collect();
    let u = user();
    let mut g = c.benchmark_group("autocreate, storage down");
    let mut i = 0;
    g.bench_function("unknown switch (1,000 names)", |b| {
        b.iter(|| {
            i = (i + 1) % names.len();
            m.active(black_box(&names[i]), black_box(&u))
        })
    });
    g.finish();
}

criterion_group!(benches, checks, scaling, autocreate_while_down);
criterion_main!(benches);
