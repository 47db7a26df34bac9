//! Two managers sharing one Redis, as two processes of a fleet would: one
//! writes, the other follows through pub/sub and answers from its replica.
//!
//! Run with `cargo run --example redis_fleet` (needs a Redis server at
//! 127.0.0.1:6379, or set `GATE_REDIS_URL`; `bash scripts/test.sh` starts
//! one). It uses its own key prefix and deletes it at the end.

use std::time::{Duration, Instant};

use gate::signals::Origin;
use gate::{Manager, Switch};

/// Waits until `done` holds (at most 5 s) and returns how long that took.
async fn until(mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the change never arrived"
        );
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    start.elapsed()
}

#[tokio::main]
async fn main() -> Result<(), gate::Error> {
    let url = std::env::var("GATE_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into());
    let prefix = format!("gate-example-fleet:{}", std::process::id());
    let node = || Manager::builder().redis(&url).prefix(&prefix).build();
    let (a, b) = (node().await?, node().await?);
    if !a.sync_status().connected {
        eprintln!(
            "no Redis answers at {}: start one (`bash scripts/test.sh` does) or set GATE_REDIS_URL",
            gate::storage::redact_url(&url)
        );
        std::process::exit(1);
    }

    b.signals().switch_updated.connect(|event| {
        if event.origin == Origin::Remote && event.current.name == "new_search" {
            println!("  b: {} changed on another node", event.current.name);
        }
    });

    println!("a registers new_search at 20%");
    a.set_percentage("new_search", 20).await?;
    let took = until(|| b.switch("new_search").is_some()).await;
    println!(
        "  b sees it after {took:?}: 443301 on? {}",
        b.active("new_search", "443301")
    );

    println!("a allows user 44488 (bucket 88)");
    a.allow("new_search", 44488u64).await?;
    until(|| b.active("new_search", 44488u64)).await;
    println!("  b: 44488 on? {}", b.active("new_search", 44488u64));

    println!("a and b both modify the same switch: no update is lost");
    a.register(Switch::new("counter").description("0")).await?;
    until(|| b.switch("counter").is_some()).await;
    let bump = |m: Manager| async move {
        for _ in 0..20 {
            m.modify("counter", |s| {
                let n: u32 = s.description.as_deref().unwrap_or("0").parse().unwrap_or(0);
                s.description = Some((n + 1).to_string());
            })
            .await?;
        }
        Ok::<_, gate::Error>(())
    };
    let (ra, rb) = tokio::join!(bump(a.clone()), bump(b.clone()));
    ra?;
    rb?;
    until(|| a.switch("counter").and_then(|s| s.description).as_deref() == Some("40")).await;
    println!(
        "  counter after 20 + 20 increments: {}",
        a.switch("counter").unwrap().description.unwrap()
    );

    let status = b.sync_status();
    println!(
        "b: connected {}, replica from {:?}",
        status.connected, status.source
    );

    a.unregister("new_search").await?;
    a.unregister("counter").await?;
    until(|| b.switches().is_empty()).await;
    println!("cleaned up; b has {} switches", b.switches().len());
    Ok(())
}
