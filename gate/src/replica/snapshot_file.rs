//! The snapshot file a follower keeps of its replica: read when the
//! manager starts while its storage is down or has lost its data, and by
//! `gate restore --from` to write the switches back.
//!
//! Format: `{"epoch": "…", "switches": [{"key": "…", "switch": {…}}]}`,
//! sorted by key, where `epoch` is the store's marker the replica
//! followed. A bare array of records (the format before the marker) is
//! read too.
//!
//! The follower does not write the file itself: it hands the current
//! snapshot (an `Arc`, no copy) to a [`Writer`], whose own thread
//! serializes and fsyncs it, debounced: once the changes pause for
//! [`QUIET`], and at least every [`AT_MOST`] while they do not. The latest
//! state handed over is always the one written, also when the writer is
//! dropped.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::Snapshot;
use crate::key::SwitchKey;
use crate::storage::Record;
use crate::switch::Switch;

/// How long the changes must pause before the file is written.
pub(crate) const QUIET: Duration = Duration::from_millis(100);
/// How long a write waits at most for the changes to pause.
pub(crate) const AT_MOST: Duration = Duration::from_secs(1);

#[derive(Serialize)]
struct SnapshotRecord<'a> {
    key: SwitchKey,
    switch: &'a Switch,
}

#[derive(Serialize)]
struct FileOut<'a> {
    epoch: Option<&'a str>,
    switches: Vec<SnapshotRecord<'a>>,
}

/// A snapshot file's content.
#[derive(Debug, Clone)]
pub(crate) struct SnapshotFile {
    /// The store's marker the replica followed, if the file says.
    pub(crate) epoch: Option<String>,
    /// The switches, valid or not (callers check).
    pub(crate) records: Vec<Record>,
}

/// Writes `switches` (key, switch) to `path` atomically (a temporary file
/// renamed over it), sorted by key.
fn write_file(
    path: &Path,
    epoch: Option<&str>,
    mut switches: Vec<SnapshotRecord<'_>>,
) -> std::io::Result<()> {
    use std::io::Write;
    switches.sort_by(|a, b| a.key.cmp(&b.key));
    let json = serde_json::to_vec(&FileOut { epoch, switches }).map_err(std::io::Error::other)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut out = std::fs::File::create(&tmp)?;
    out.write_all(&json)?;
    out.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Writes a replica's snapshot to `path`.
fn write_snapshot(path: &Path, epoch: Option<&str>, snapshot: &Snapshot) -> std::io::Result<()> {
    let switches = snapshot
        .switches()
        .map(|(key, switch)| SnapshotRecord { key, switch })
        .collect();
    write_file(path, epoch, switches)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Writes a snapshot file on its own thread, debounced (see the module
/// docs). Dropping it writes what is pending, then ends the thread.
pub(crate) struct Writer {
    shared: Arc<WriterShared>,
    /// Joined by tests only (see `Drop`).
    #[cfg_attr(not(test), allow(dead_code))]
    thread: Option<std::thread::JoinHandle<()>>,
}

struct WriterShared {
    state: Mutex<WriterState>,
    wake: Condvar,
    /// Files written so far (for tests).
    writes: AtomicUsize,
}

#[derive(Default)]
struct WriterState {
    /// The latest snapshot handed over and not yet written, with the
    /// store's marker.
    pending: Option<(Arc<Snapshot>, Option<String>)>,
    /// When the first and the last of the pending requests came.
    first: Option<Instant>,
    last: Option<Instant>,
    closed: bool,
}

impl Writer {
    /// A writer of the file at `path`.
    pub(crate) fn new(path: PathBuf) -> Writer {
        Writer::with(path, QUIET, AT_MOST)
    }

    fn with(path: PathBuf, quiet: Duration, at_most: Duration) -> Writer {
        let shared = Arc::new(WriterShared {
            state: Mutex::default(),
            wake: Condvar::new(),
            writes: AtomicUsize::new(0),
        });
        let worker = shared.clone();
        let thread = std::thread::Builder::new()
            .name("gate-snapshot".into())
            .spawn(move || worker.run(&path, quiet, at_most));
        let thread = match thread {
            Ok(thread) => Some(thread),
            Err(error) => {
                tracing::error!(%error, "gate: could not start the snapshot file's writer; the file is not written");
                None
            }
        };
        Writer { shared, thread }
    }

    /// Asks for `snapshot` to be written, with the store's marker `epoch`;
    /// it replaces any snapshot still pending.
    pub(crate) fn request(&self, snapshot: Arc<Snapshot>, epoch: Option<String>) {
        let now = Instant::now();
        let mut state = lock(&self.shared.state);
        state.pending = Some((snapshot, epoch));
        state.first.get_or_insert(now);
        state.last = Some(now);
        drop(state);
        self.shared.wake.notify_one();
    }

    /// How many files were written so far.
    #[cfg(test)]
    fn writes(&self) -> usize {
        self.shared.writes.load(Ordering::Relaxed)
    }

    /// Writes what is pending and waits for the thread to end.
    #[cfg(test)]
    fn close(mut self) {
        self.shut();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    fn shut(&self) {
        lock(&self.shared.state).closed = true;
        self.shared.wake.notify_one();
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Not joined: the pending write finishes on its own thread, and
        // whoever drops this (a task of the runtime) does not wait for it.
        self.shut();
    }
}

impl WriterShared {
    fn run(&self, path: &Path, quiet: Duration, at_most: Duration) {
        let mut state = lock(&self.state);
        loop {
            while state.pending.is_none() {
                if state.closed {
                    return;
                }
                state = self.wake.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            // Wait for the changes to pause, or at most `at_most`.
            while !state.closed {
                let (Some(first), Some(last)) = (state.first, state.last) else {
                    break;
                };
                let due = (last + quiet).min(first + at_most);
                let now = Instant::now();
                if now >= due {
                    break;
                }
                state = self
                    .wake
                    .wait_timeout(state, due - now)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            let Some((snapshot, epoch)) = state.pending.take() else {
                continue;
            };
            state.first = None;
            state.last = None;
            drop(state);
            if let Err(e) = write_snapshot(path, epoch.as_deref(), &snapshot) {
                tracing::warn!(path = %path.display(), error = %e, "gate: could not write the snapshot file");
            }
            self.writes.fetch_add(1, Ordering::Relaxed);
            drop(snapshot);
            state = lock(&self.state);
        }
    }
}

/// A record read on its own, so that one the rules refuse (written by an
/// older version, say) skips that switch only.
#[derive(Deserialize)]
struct RawRecord {
    key: SwitchKey,
    switch: serde_json::Value,
}

#[derive(Deserialize)]
struct RawFile {
    #[serde(default)]
    epoch: Option<String>,
    switches: Vec<RawRecord>,
}

/// Reads a snapshot file; the error says why it cannot be read. A record
/// that is not a valid switch is skipped (and logged), not the file.
pub(crate) fn read_snapshot(path: &Path) -> Result<SnapshotFile, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    // A bare array is the format before the store's marker.
    let array = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let (epoch, records) = if array {
        let records: Vec<RawRecord> = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        (None, records)
    } else {
        let file: RawFile = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        (file.epoch, file.switches)
    };
    Ok(SnapshotFile {
        epoch,
        records: records
            .into_iter()
            .filter_map(|r| match Switch::deserialize(r.switch) {
                Ok(switch) => Some(Record { key: r.key, switch }),
                Err(error) => {
                    tracing::warn!(switch = %r.key, %error, path = %path.display(), "gate: skipped a switch of the snapshot file that cannot be read");
                    None
                }
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SwitchKey;

    #[test]
    fn both_formats_are_read_and_errors_say_why() {
        let dir = std::env::temp_dir().join(format!("gate-snapshot-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.json");
        let records = vec![Record {
            key: SwitchKey::parse("ns.beta"),
            switch: Switch::new("beta"),
        }];
        let switches = records
            .iter()
            .map(|r| SnapshotRecord {
                key: r.key.clone(),
                switch: &r.switch,
            })
            .collect();
        write_file(&path, Some("e1"), switches).unwrap();
        let read = read_snapshot(&path).unwrap();
        assert_eq!(read.epoch.as_deref(), Some("e1"));
        assert_eq!(read.records, records);
        // The format before the marker: a bare array.
        std::fs::write(&path, r#" [{"key": "beta", "switch": {"name": "beta"}}]"#).unwrap();
        let read = read_snapshot(&path).unwrap();
        assert_eq!(read.epoch, None);
        assert_eq!(read.records[0].key, "beta");
        std::fs::write(&path, r#"{"switches": 3}"#).unwrap();
        let error = read_snapshot(&path).unwrap_err();
        assert!(error.contains("invalid type"), "{error}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A burst of changes is written a few times, not once per change, and
    /// the file ends up holding the last state.
    #[test]
    fn a_burst_is_written_a_few_times_and_the_last_state_wins() {
        use crate::replica::{Apply, Replica};
        use crate::signals::Origin;
        use crate::storage::{ReplicaSource, SyncStatus};

        let dir = std::env::temp_dir().join(format!("gate-snapshot-burst-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.json");
        let replica = Replica::new(SyncStatus {
            connected: true,
            last_sync: None,
            source: ReplicaSource::Storage,
            last_error: None,
            data_loss: None,
            unreadable: 0,
        });
        let writer = Writer::with(
            path.clone(),
            Duration::from_millis(50),
            Duration::from_millis(300),
        );
        let started = Instant::now();
        for i in 0..2_000u64 {
            let mut switch = Switch::new(format!("s{}", i % 50));
            switch.version = i + 1;
            replica.apply(
                vec![Apply::Upsert {
                    key: SwitchKey::parse(&format!("ns.s{}", i % 50)),
                    switch,
                    authoritative: true,
                }],
                Origin::Remote,
            );
            replica.apply(
                vec![Apply::Remove {
                    key: SwitchKey::parse(&format!("ns.s{}", (i + 25) % 50)),
                }],
                Origin::Remote,
            );
            writer.request(replica.current(), Some(format!("e{i}")));
        }
        let burst = started.elapsed();
        let shared = writer.shared.clone();
        assert!(writer.writes() <= 1 + (burst.as_millis() / 300) as usize);
        writer.close();
        let writes = shared.writes.load(Ordering::Relaxed);
        // One write per `at_most` while the burst lasted, and the last one.
        assert!(
            (1..=2 + (burst.as_millis() / 300) as usize).contains(&writes),
            "{writes} writes for a burst of 2,000 changes in {burst:?}"
        );
        let read = read_snapshot(&path).unwrap();
        assert_eq!(read.epoch.as_deref(), Some("e1999"));
        let mut expected = replica.records();
        expected.sort_by(|a, b| a.key.cmp(&b.key));
        assert_eq!(expected.len(), 25);
        assert_eq!(read.records, expected, "the file holds the last state");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
