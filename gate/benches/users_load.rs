//! Loading a 1,000,000-id allow-list from Redis into a fresh manager, in
//! release (the `users_memory` test measures the same in the dev profile):
//! time (and how much of it was this process's CPU, how much the
//! server's), resident memory growth and peak. Needs a Redis server at
//! 127.0.0.1:6379 or GATE_REDIS_URL. Prints its figures; run with
//! `cargo bench -p gate --bench users_load`.

#![allow(missing_docs)]

#[path = "../tests/users_memory/measure.rs"]
mod measure;
#[path = "../tests/process_support/mod.rs"]
mod process_support;
#[path = "../tests/redis_support/mod.rs"]
mod redis_support;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let url = std::env::var("GATE_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into());
    let prefix = redis_support::Prefix::new(&url, "users-load").await;
    measure::write(&url, &prefix.name).await;
    let scans = sscan_micros(&url).await;
    let (manager, load) = measure::load(&url, &prefix.name).await;
    let scans = sscan_micros(&url).await - scans;
    println!("1,000,000 ids from Redis into a fresh manager: {load} (targets: ≤ 1 s, ≤ +48 MiB)");
    println!(
        "  of which the server spent {:.2?} answering SSCAN (INFO commandstats)",
        std::time::Duration::from_micros(scans)
    );
    drop(manager);
    measure::unlink_list(&url, &prefix.name).await;
}

/// The server's total time in `SSCAN` so far, µs (every client's).
async fn sscan_micros(url: &str) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut redis_support::connection(url).await)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("cmdstat_sscan:"))
        .and_then(|l| l.split(',').find_map(|f| f.strip_prefix("usec=")))
        .map_or(0, |usec| usec.parse().unwrap())
}
