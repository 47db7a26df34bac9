//! `Users::contains`, the allow-list lookup of the check path, for lists of
//! 1,000 and 1,000,000 ids, hit and miss: one id asked again and again (the
//! cost of the lookup itself, all in cache), and 10,000 different ids in
//! turn (with the 1,000,000-id list, mostly cache misses, as in a service
//! checking many users). Beside each, the same lookups in an
//! `Arc<FxHashSet<Box<str>>>`, what `Users` was before it kept its ids in
//! one arena, so one run compares the two.

#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use gate::Users;
use rustc_hash::FxHashSet;

/// The ids of the check bench's allow-list: multiples of 7919.
fn ids(n: u64) -> impl Iterator<Item = String> {
    (0..n).map(|i| (i * 7919).to_string())
}

/// The former representation.
type Before = Arc<FxHashSet<Box<str>>>;

fn lookups(c: &mut Criterion) {
    for (n, label) in [(1_000u64, "1,000"), (1_000_000, "1,000,000")] {
        let users: Users = ids(n).collect();
        let before: Before = Arc::new(ids(n).map(String::into_boxed_str).collect());
        let hit = ((n / 2) * 7919).to_string();
        let miss = "443301";
        assert!(users.contains(&hit) && !users.contains(miss));
        assert!(before.contains(hit.as_str()) && !before.contains(miss));
        // 10,000 different ids spread over the list, and as many absent.
        let hits: Vec<String> = (0..10_000u64)
            .map(|i| ((i * 7_777 % n) * 7919).to_string())
            .collect();
        let misses: Vec<String> = (0..10_000u64)
            .map(|i| ((i * 7_777 % n) * 7919 + 1).to_string())
            .collect();

        let mut g = c.benchmark_group(format!("allow-list of {label} ids"));
        g.bench_function("Users, hit", |b| {
            b.iter(|| black_box(&users).contains(black_box(&hit)))
        });
        g.bench_function("before, hit", |b| {
            b.iter(|| black_box(&before).contains(black_box(hit.as_str())))
        });
        g.bench_function("Users, miss", |b| {
            b.iter(|| black_box(&users).contains(black_box(miss)))
        });
        g.bench_function("before, miss", |b| {
            b.iter(|| black_box(&before).contains(black_box(miss)))
        });
        for (what, asked) in [("hits", &hits), ("misses", &misses)] {
            let mut i = 0;
            g.bench_function(format!("Users, 10,000 different {what}"), |b| {
                b.iter(|| {
                    i = (i + 1) % asked.len();
                    black_box(&users).contains(&asked[i])
                })
            });
            g.bench_function(format!("before, 10,000 different {what}"), |b| {
                b.iter(|| {
                    i = (i + 1) % asked.len();
                    black_box(&before).contains(asked[i].as_str())
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, lookups);
criterion_main!(benches);
