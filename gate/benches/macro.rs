//! The cost of `#[gate]`: a gated function against the same check written
//! by hand with `manager.active` (target: ratio ≤ 1.05).
//!
//! `cargo bench -p gate --bench macro`

#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::LazyLock;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use gate::{gate, Arguments, Condition, Manager, Operator, State, Switch};

static SWITCHES: LazyLock<Manager> = LazyLock::new(|| {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let m = Manager::in_memory();
        m.enable_for_all("global").await.unwrap();
        m.set_percentage("percentage", 50).await.unwrap();
        m.register(
            Switch::new("three")
                .state(State::Selective)
                .compounded(true)
                .condition(Condition::new("User", "age", Operator::more_than(18).unwrap()).unwrap())
                .condition(
                    Condition::new("User", "country", Operator::equals("fr").unwrap()).unwrap(),
                )
                .condition(
                    Condition::new("User", "name", Operator::matches("^a").unwrap()).unwrap(),
                ),
        )
        .await
        .unwrap();
        m
    })
});

#[derive(Arguments)]
struct User {
    #[gate(id)]
    id: u64,
    name: String,
    age: i64,
    country: String,
}

fn user() -> User {
    User {
        id: 443301, // bucket 5
        name: "alice".into(),
        age: 30,
        country: "fr".into(),
    }
}

#[gate("global", arg = user, manager = SWITCHES)]
fn gated_global(user: &User) -> Option<u64> {
    Some(user.id)
}

fn direct_global(user: &User) -> Option<u64> {
    if !SWITCHES.active("global", user) {
        return None;
    }
    Some(user.id)
}

#[gate("percentage", arg = user, manager = SWITCHES)]
fn gated_percentage(user: &User) -> Option<u64> {
    Some(user.id)
}

fn direct_percentage(user: &User) -> Option<u64> {
    if !SWITCHES.active("percentage", user) {
        return None;
    }
    Some(user.id)
}

#[gate("three", arg = user, manager = SWITCHES)]
fn gated_three(user: &User) -> Option<u64> {
    Some(user.id)
}

fn direct_three(user: &User) -> Option<u64> {
    if !SWITCHES.active("three", user) {
        return None;
    }
    Some(user.id)
}

fn bench(c: &mut Criterion) {
    let u = user();
    assert_eq!(gated_global(&u), Some(443301));
    assert_eq!(gated_percentage(&u), Some(443301));
    assert_eq!(gated_three(&u), Some(443301));
    assert_eq!(direct_three(&u), Some(443301));

    let mut g = c.benchmark_group("macro");
    g.bench_function("global: direct manager.active", |b| {
        b.iter(|| direct_global(black_box(&u)))
    });
    g.bench_function("global: #[gate] fn", |b| {
        b.iter(|| gated_global(black_box(&u)))
    });
    g.bench_function("percentage: direct manager.active", |b| {
        b.iter(|| direct_percentage(black_box(&u)))
    });
    g.bench_function("percentage: #[gate] fn", |b| {
        b.iter(|| gated_percentage(black_box(&u)))
    });
    g.bench_function("3 conditions: direct manager.active", |b| {
        b.iter(|| direct_three(black_box(&u)))
    });
    g.bench_function("3 conditions: #[gate] fn", |b| {
        b.iter(|| gated_three(black_box(&u)))
    });
    g.finish();
}

/// Criterion measures each function alone, minutes apart, which on a
/// busy 2-core machine swings more than the 5% being measured. This runs
/// the two side by side in alternating rounds and compares the fastest
/// round of each (the round least disturbed by other processes).
fn alternating(c: &mut Criterion) {
    let _ = c;
    const ROUNDS: usize = 40;
    const CALLS: u32 = 200_000;
    let u = user();
    type Pair = (
        &'static str,
        fn(&User) -> Option<u64>,
        fn(&User) -> Option<u64>,
    );
    let pairs: [Pair; 3] = [
        ("global", direct_global, gated_global),
        ("percentage", direct_percentage, gated_percentage),
        ("3 conditions", direct_three, gated_three),
    ];
    for (name, direct, gated) in pairs {
        let round = |f: fn(&User) -> Option<u64>| {
            let start = Instant::now();
            for _ in 0..CALLS {
                black_box(f(black_box(&u)));
            }
            start.elapsed().as_secs_f64() * 1e9 / f64::from(CALLS)
        };
        let (mut best_direct, mut best_gated) = (f64::MAX, f64::MAX);
        for _ in 0..ROUNDS {
            best_direct = best_direct.min(round(direct));
            best_gated = best_gated.min(round(gated));
        }
        println!(
            "macro/{name}, alternating rounds: direct {best_direct:.1} ns, #[gate] {best_gated:.1} ns, ratio {:.3}",
            best_gated / best_direct
        );
    }
}

criterion_group!(benches, bench, alternating);
criterion_main!(benches);
