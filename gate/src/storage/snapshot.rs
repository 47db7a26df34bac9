//! The snapshot file a Redis-backed manager keeps of its replica: read
//! when it starts while Redis is down or has lost its data, and by `gate
//! restore --from` to write the switches back.
//!
//! Format: `{"epoch": "…", "switches": [{"key": "…", "switch": {…}}]}`,
//! where `epoch` is the store's marker the replica followed. A bare array
//! of records (the format before the marker) is read too.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Record;
use crate::switch::Switch;

#[derive(Serialize)]
struct SnapshotRecord {
    key: String,
    switch: Switch,
}

#[derive(Serialize)]
struct SnapshotFile {
    epoch: Option<String>,
    switches: Vec<SnapshotRecord>,
}

/// A snapshot file's content.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    /// The store's marker the replica followed, if the file says.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) epoch: Option<String>,
    /// The switches, valid or not (callers check).
    pub(crate) records: Vec<Record>,
}

/// Writes `records` to `path` atomically (a temporary file renamed over
/// it).
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) fn write_snapshot(
    path: &Path,
    epoch: Option<&str>,
    records: &[Record],
) -> std::io::Result<()> {
    use std::io::Write;
    let mut switches: Vec<SnapshotRecord> = records
        .iter()
        .map(|r| SnapshotRecord {
            key: r.key.clone(),
            switch: r.switch.clone(),
        })
        .collect();
    switches.sort_by(|a, b| a.key.cmp(&b.key));
    let file = SnapshotFile {
        epoch: epoch.map(str::to_owned),
        switches,
    };
    let json = serde_json::to_vec(&file).map_err(std::io::Error::other)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut out = std::fs::File::create(&tmp)?;
    out.write_all(&json)?;
    out.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// A record read on its own, so that one the rules refuse (written by an
/// older version, say) skips that switch only.
#[derive(Deserialize)]
struct RawRecord {
    key: String,
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
pub(crate) fn read_snapshot(path: &Path) -> Result<Snapshot, String> {
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
    Ok(Snapshot {
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

    #[test]
    fn both_formats_are_read_and_errors_say_why() {
        let dir = std::env::temp_dir().join(format!("gate-snapshot-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.json");
        let records = vec![Record {
            key: "ns.beta".into(),
            switch: Switch::new("beta"),
        }];
        write_snapshot(&path, Some("e1"), &records).unwrap();
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
}
