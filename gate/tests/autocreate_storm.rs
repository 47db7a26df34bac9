//! Autocreate while Redis is down (issue 9, item 1): 10,000,000 checks of
//! 1,000 unknown names, from the runtime and from plain threads, grow
//! neither memory nor threads and cost about what a known switch costs.
//! Against a private redis-server, killed. The only test of this binary,
//! so that the process's RSS and thread count are its own.

mod process_support;
mod redis_support;

use std::time::{Duration, Instant};

use gate::{Manager, State, Switch};
use redis_support::Server;

const NAMES: usize = 1_000;
const CHECKS: usize = 10_000_000;

/// A manager with autocreate whose Redis was killed after it loaded
/// `known` (global).
async fn stranded() -> (Manager, Server) {
    let mut server = Server::start().await;
    let manager = Manager::builder()
        .autocreate(true)
        .redis(server.url())
        .prefix("storm")
        .timeout(Duration::from_millis(300))
        .build()
        .await
        .unwrap();
    manager
        .register(Switch::new("known").state(State::Global))
        .await
        .unwrap();
    server.kill();
    (manager, server)
}

fn rss_kib() -> u64 {
    process_support::status_kib("VmRSS:")
}

/// Threads of this process, except the tokio runtime's own (its blocking
/// pool grows and shrinks by itself, e.g. for the DNS lookups of Redis
/// reconnect attempts).
fn threads() -> u64 {
    let mut count = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let comm = std::fs::read_to_string(task.unwrap().path().join("comm")).unwrap_or_default();
        if !comm.starts_with("tokio-r") {
            count += 1;
        }
    }
    count
}

/// `CHECKS` checks of `NAMES` unknown names, spread over two workers.
fn storm(manager: &Manager, names: &[String], worker: usize) {
    let per_worker = CHECKS / 2;
    for i in 0..per_worker {
        let name = &names[(i * 7 + worker) % names.len()];
        assert!(!manager.active(name, "someone"));
    }
}

/// Nanoseconds per check of `name`, best of several rounds.
fn ns_per_check(manager: &Manager, names: &[&str]) -> f64 {
    const ROUND: usize = 20_000;
    (0..5)
        .map(|_| {
            let start = Instant::now();
            for i in 0..ROUND {
                std::hint::black_box(manager.active(names[i % names.len()], "someone"));
            }
            start.elapsed().as_nanos() as f64 / ROUND as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn assert_bounded(manager: &Manager, rss_before: u64, threads_before: u64, how: &str) {
    let grown = rss_kib().saturating_sub(rss_before);
    assert!(
        grown < 16 * 1024,
        "{how}: RSS grew by {grown} KiB during {CHECKS} checks of {NAMES} unknown names"
    );
    // A thread that was joined may linger in /proc for a moment.
    let mut now = threads();
    for _ in 0..100 {
        if now == threads_before {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
        now = threads();
    }
    if now != threads_before {
        let names: Vec<String> = std::fs::read_dir("/proc/self/task")
            .unwrap()
            .map(|t| std::fs::read_to_string(t.unwrap().path().join("comm")).unwrap_or_default())
            .collect();
        panic!("{how}: {threads_before} threads before, {now} after: {names:?}");
    }
    let names: Vec<String> = (0..NAMES).map(|i| format!("unknown_{i}")).collect();
    let unknown: Vec<&str> = names.iter().map(String::as_str).collect();
    // Interleaved, so that both see the same machine.
    let mut known_ns = f64::INFINITY;
    let mut unknown_ns = f64::INFINITY;
    for _ in 0..3 {
        known_ns = known_ns.min(ns_per_check(manager, &["known"]));
        unknown_ns = unknown_ns.min(ns_per_check(manager, &unknown));
    }
    eprintln!(
        "{how}: known {known_ns:.1} ns, unknown {unknown_ns:.1} ns per check; RSS +{grown} KiB"
    );
    assert!(
        unknown_ns <= 2.0 * known_ns,
        "{how}: an unknown name costs {unknown_ns:.1} ns, a known switch {known_ns:.1} ns"
    );
}

/// One test, both ways in turn: the process's RSS and thread count are
/// measured, so nothing else may run beside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_autocreate_storm_is_bounded_from_the_runtime_and_from_plain_threads() {
    let (manager, _server) = stranded().await;
    let names: std::sync::Arc<Vec<String>> =
        std::sync::Arc::new((0..NAMES).map(|i| format!("unknown_{i}")).collect());
    // Warm up: the first checks queue the names.
    for name in names.iter() {
        assert!(!manager.active(name, "someone"));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    let (rss, threads_before) = (rss_kib(), threads());
    let tasks: Vec<_> = (0..2)
        .map(|worker| {
            let (manager, names) = (manager.clone(), names.clone());
            tokio::spawn(async move { storm(&manager, &names, worker) })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_bounded(&manager, rss, threads_before, "from the runtime");

    // The plain threads are the test's own: counted before they start
    // and after they end.
    let (rss, threads_before) = (rss_kib(), threads());
    std::thread::scope(|scope| {
        for worker in 0..2 {
            let (manager, names) = (&manager, &names);
            scope.spawn(move || storm(manager, names, worker));
        }
    });
    assert_bounded(&manager, rss, threads_before, "from plain threads");
    assert!(manager.active("known", ()), "the last state still answers");
}
