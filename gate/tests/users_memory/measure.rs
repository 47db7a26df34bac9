//! Loading a 1,000,000-id allow-list from Redis into a fresh manager, and
//! what it costs: time, resident memory (RSS) growth, peak. Shared by the
//! `users_memory` test (dev profile) and the `users_load` bench (release).

use std::time::{Duration, Instant};

use gate::{Manager, State, Switch};

use crate::process_support::{cpu_time, reset_peak, status_kib};
use crate::redis_support::connection;

/// How many ids the allow-list holds.
pub(crate) const IDS: u32 = 1_000_000;

/// The switch holding the allow-list.
pub(crate) const SWITCH: &str = "million";

/// Ids added per script: each `EVAL` blocks the (shared) server for a few
/// milliseconds only, well within a client's timeout.
const CHUNK: u32 = 10_000;

/// What one load cost.
#[derive(Debug)]
pub(crate) struct Load {
    /// From the start of `build()` until it returned the manager.
    pub(crate) took: Duration,
    /// CPU time this process (all its threads) spent meanwhile; the rest
    /// of `took` is waiting, mostly for the server.
    pub(crate) cpu: Duration,
    /// Resident memory just before the load, KiB.
    pub(crate) rss_before_kib: u64,
    /// Resident memory just after the load, KiB.
    pub(crate) rss_after_kib: u64,
    /// The highest resident memory during the load, KiB (`VmHWM`, reset
    /// just before the load), or `None` when this kernel does not let a
    /// process reset it.
    pub(crate) peak_kib: Option<u64>,
}

impl Load {
    /// RSS growth, MiB.
    pub(crate) fn growth_mib(&self) -> f64 {
        (self.rss_after_kib as f64 - self.rss_before_kib as f64) / 1024.0
    }

    /// Peak RSS above the level before the load, MiB.
    pub(crate) fn peak_growth_mib(&self) -> Option<f64> {
        self.peak_kib
            .map(|peak| (peak as f64 - self.rss_before_kib as f64) / 1024.0)
    }
}

impl std::fmt::Display for Load {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "load {:.2?} ({:.2?} CPU in this process), RSS {:.1} → {:.1} MiB (+{:.1} MiB)",
            self.took,
            self.cpu,
            self.rss_before_kib as f64 / 1024.0,
            self.rss_after_kib as f64 / 1024.0,
            self.growth_mib()
        )?;
        match self.peak_growth_mib() {
            Some(peak) => write!(f, ", peak +{peak:.1} MiB"),
            None => write!(f, ", peak not measurable here"),
        }
    }
}

async fn manager(url: &str, prefix: &str) -> Manager {
    Manager::builder()
        .redis(url)
        .prefix(prefix)
        .build()
        .await
        .unwrap()
}

/// Writes switch [`SWITCH`] with ids `"0"` to `"999999"` under `prefix`:
/// the switch through a manager, the ids by server-side scripts, so that
/// this process holds no copy of them (a copy freed here would leave
/// memory the load could reuse, hiding part of its cost).
pub(crate) async fn write(url: &str, prefix: &str) {
    let writer = manager(url, prefix).await;
    assert!(writer.sync_status().connected, "no Redis at {url}");
    writer
        .register(Switch::new(SWITCH).state(State::Selective).allow(0))
        .await
        .unwrap();
    drop(writer);
    let mut connection = connection(url).await;
    let set = list_key(prefix);
    let script = redis::Script::new(
        "local ids = {}
         for i = tonumber(ARGV[1]), tonumber(ARGV[2]) - 1 do
           ids[#ids + 1] = i
           if #ids == 1000 then redis.call('SADD', KEYS[1], unpack(ids)); ids = {} end
         end
         if #ids > 0 then redis.call('SADD', KEYS[1], unpack(ids)) end",
    );
    for start in (0..IDS).step_by(CHUNK as usize) {
        let _: () = script
            .key(&set)
            .arg(start)
            .arg(start + CHUNK)
            .invoke_async(&mut connection)
            .await
            .unwrap();
    }
    let card: u64 = redis::cmd("SCARD")
        .arg(&set)
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(card, u64::from(IDS));
}

/// Builds a fresh manager on `prefix` (written by [`write`]) and measures
/// the load; checks that it holds the whole list.
pub(crate) async fn load(url: &str, prefix: &str) -> (Manager, Load) {
    let rss_before_kib = status_kib("VmRSS:");
    let peak = reset_peak();
    let (start, cpu) = (Instant::now(), cpu_time());
    let manager = manager(url, prefix).await;
    let took = start.elapsed();
    let load = Load {
        took,
        cpu: cpu_time() - cpu,
        rss_before_kib,
        rss_after_kib: status_kib("VmRSS:"),
        peak_kib: peak.then(|| status_kib("VmHWM:")),
    };
    let switch = manager.switch(SWITCH).expect("the switch was loaded");
    assert_eq!(switch.users.len(), IDS as usize);
    assert!(switch.users.contains("0") && switch.users.contains("999999"));
    assert!(!switch.users.contains("1000000"));
    (manager, load)
}

/// Deletes the list with `UNLINK`, which frees it off the server's main
/// thread: the `DEL` that deletes a test's keys would block the server
/// longer than a client's timeout on a busy machine.
pub(crate) async fn unlink_list(url: &str, prefix: &str) {
    let _: () = redis::cmd("UNLINK")
        .arg(list_key(prefix))
        .query_async(&mut connection(url).await)
        .await
        .unwrap();
}

/// Where the Redis storage keeps the list (see `storage/redis`).
fn list_key(prefix: &str) -> String {
    format!("{prefix}:users:{SWITCH}")
}
