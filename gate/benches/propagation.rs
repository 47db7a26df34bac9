//! Redis fleet figures (DESIGN.md: a write in one process seen by another,
//! p50 ≤ 5 ms, p99 ≤ 20 ms on loopback), and start-up with 10,000
//! switches and a 1,000,000-id allow-list. Needs a Redis server at
//! 127.0.0.1:6379 or GATE_REDIS_URL. Prints its figures; run with
//! `cargo bench -p gate --bench propagation`.

#![allow(missing_docs)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gate::{Manager, State, Switch};

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

async fn delete_prefix(url: &str, prefix: &str) {
    let client = redis::Client::open(url).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut c)
        .await
        .unwrap();
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL")
            .arg(keys)
            .query_async(&mut c)
            .await
            .unwrap();
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize)
        .saturating_sub(1)
        .min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let url = std::env::var("GATE_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into());
    let prefix = format!("gate-bench:{}", std::process::id());
    let build = || Manager::builder().redis(&url).prefix(&prefix).build();
    let a = build()
        .await
        .expect("Redis must answer (bash scripts/test.sh starts one)");
    assert!(
        a.sync_status().connected,
        "no Redis at {url}: start redis-server or set GATE_REDIS_URL"
    );
    let b = build().await.unwrap();

    // Propagation: 1,000 writes on A, each timed until B's replica has it.
    a.register(Switch::new("counter").state(State::Global))
        .await
        .unwrap();
    while b.switch("counter").is_none() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let seen: Arc<Mutex<Vec<(u64, Instant)>>> = Arc::default();
    let sink = seen.clone();
    b.signals().switch_updated.connect(move |e| {
        sink.lock()
            .unwrap()
            .push((e.current.version, Instant::now()));
    });
    let mut latencies = Vec::with_capacity(1000);
    for i in 0..1000u32 {
        let start = Instant::now();
        let written = a
            .modify("counter", |s| s.description = Some(i.to_string()))
            .await
            .unwrap();
        loop {
            let hit = seen
                .lock()
                .unwrap()
                .iter()
                .find(|(v, _)| *v == written.version)
                .map(|(_, t)| *t);
            if let Some(t) = hit {
                latencies.push(t - start);
                break;
            }
            tokio::task::yield_now().await;
        }
    }
    latencies.sort();
    println!(
        "propagation A→B over loopback Redis, 1,000 writes: p50 {:?}, p90 {:?}, p99 {:?}, max {:?} (targets: p50 ≤ 5 ms, p99 ≤ 20 ms)",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.90),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1],
    );

    // Start-up: 10,000 switches and one allow-list of 1,000,000 ids.
    drop((a, b));
    delete_prefix(&url, &prefix).await;
    let writer = build().await.unwrap();
    for i in 0..10_000u32 {
        let mut s = Switch::new(format!("switch_{i}")).state(State::Selective);
        if i % 10 == 0 {
            s = s.allow(i);
        }
        writer.register(s).await.unwrap();
    }
    let mut million = Switch::new("million").state(State::Selective);
    million.users = (0..1_000_000u32).map(|i| i.to_string()).collect();
    let start = Instant::now();
    writer.register(million).await.unwrap();
    println!(
        "register a switch with a 1,000,000-id allow-list: {:?}",
        start.elapsed()
    );
    let before = rss_mib();
    let start = Instant::now();
    let fresh = build().await.unwrap();
    let took = start.elapsed();
    let after = rss_mib();
    assert_eq!(fresh.switches().len(), 10_001);
    assert_eq!(fresh.switch("million").unwrap().users.len(), 1_000_000);
    println!(
        "start-up with 10,001 switches and a 1,000,000-id allow-list: {took:?}, resident memory +{:.0} MiB ({before:.0} → {after:.0} MiB)",
        after - before
    );
    drop((writer, fresh));
    delete_prefix(&url, &prefix).await;
}
