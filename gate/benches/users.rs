//! `Users::contains`, the allow-list lookup of the check path, for lists of
//! 1,000 and 1,000,000 ids, hit and miss; beside it the same lookups in a
//! `FxHashSet<Box<str>>` (what `Users` held before it kept its ids in one
//! arena), so one run compares the two.

#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use gate::Users;
use rustc_hash::FxHashSet;

/// The ids of the check bench's allow-list: multiples of 7919.
fn ids(n: u64) -> impl Iterator<Item = String> {
    (0..n).map(|i| (i * 7919).to_string())
}

fn lookups(c: &mut Criterion) {
    for (n, label) in [(1_000u64, "1,000"), (1_000_000, "1,000,000")] {
        let users: Users = ids(n).collect();
        let set: FxHashSet<Box<str>> = ids(n).map(String::into_boxed_str).collect();
        let hit = ((n / 2) * 7919).to_string();
        let miss = "443301";
        assert!(users.contains(&hit) && !users.contains(miss));
        assert!(set.contains(hit.as_str()) && !set.contains(miss));

        let mut g = c.benchmark_group(format!("allow-list of {label} ids"));
        g.bench_function("Users, hit", |b| {
            b.iter(|| black_box(&users).contains(black_box(&hit)))
        });
        g.bench_function("Users, miss", |b| {
            b.iter(|| black_box(&users).contains(black_box(miss)))
        });
        g.bench_function("FxHashSet<Box<str>>, hit", |b| {
            b.iter(|| black_box(&set).contains(black_box(hit.as_str())))
        });
        g.bench_function("FxHashSet<Box<str>>, miss", |b| {
            b.iter(|| black_box(&set).contains(black_box(miss)))
        });
        g.finish();
    }
}

criterion_group!(benches, lookups);
criterion_main!(benches);
