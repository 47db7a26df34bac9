//! Loading a 1,000,000-id allow-list from Redis into a fresh manager, in
//! release (the `users_memory` test measures the same in the dev profile):
//! time, resident memory growth and peak. Needs a Redis server at
//! 127.0.0.1:6379 or GATE_REDIS_URL. Prints its figures; run with
//! `cargo bench -p gate --bench users_load`.

#![allow(missing_docs)]

#[path = "../tests/users_memory/measure.rs"]
mod measure;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let url = std::env::var("GATE_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into());
    let prefix = format!("gate-bench-users:{}", std::process::id());
    measure::write(&url, &prefix).await;
    let (manager, load) = measure::load(&url, &prefix).await;
    println!("1,000,000 ids from Redis into a fresh manager: {load} (targets: ≤ 1 s, ≤ +48 MiB)");
    drop(manager);
    measure::clean(&url, &prefix).await;
}
