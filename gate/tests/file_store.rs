//! The file store: conformance, atomic writes, concurrent writers under
//! the lock, malformed files, reload and the audit trail.

use gate::SwitchKey;
use std::path::PathBuf;

use gate::storage::FileStorage;
use gate::{Error, Manager, State, Switch};

/// A fresh folder for one test, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(test: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("gate-file-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }
    fn file(&self) -> PathBuf {
        self.0.join("switches.json")
    }
    fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn manager(path: &PathBuf) -> Manager {
    Manager::builder()
        .storage(FileStorage::open(path).unwrap())
        .build()
}

// The storage conformance suite, one test per rule, each in a folder of
// its own.
gate::conformance_tests!(conformance, |rule| async move {
    let dir = Dir::new(&format!("conformance-{rule}"));
    let storage = FileStorage::open(dir.file()).unwrap();
    (storage, dir)
});

/// The whole suite in order on one file (as `gate::testing::conformance`
/// runs it for a user's storage) leaves no temporary file behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_conformance() {
    let dir = Dir::new("conformance");
    let storage = FileStorage::open(dir.file()).unwrap();
    gate::testing::conformance(&storage, "").await;
    gate::testing::conformance(&storage, "ns").await;
    assert_eq!(
        dir.entries(),
        ["switches.json", "switches.json.lock"],
        "no temporary file is left behind"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_shared_through_the_file_and_readable_json() {
    let dir = Dir::new("shared");
    let a = manager(&dir.file()).as_actor("alice");
    a.set_percentage("new_search", 20).await.unwrap();
    a.allow("beta", "bob").await.unwrap();

    let b = manager(&dir.file());
    assert!(b.active("new_search", "443301"));
    assert!(b.active("beta", "bob"));

    // A later change reaches b when it reloads.
    a.disable("beta").await.unwrap();
    assert!(b.active("beta", "bob"), "b still has what it read");
    b.reload().await.unwrap();
    assert!(!b.active("beta", "bob"));
    a.unregister("beta").await.unwrap();
    b.reload().await.unwrap();
    assert!(b.switch("beta").is_none());

    // The file is plain, pretty JSON with the history in it.
    let text = std::fs::read_to_string(dir.file()).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["switches"]["new_search"]["state"], "selective");
    assert!(text.contains("\n  \"switches\""), "{text}");
    let history = b.history(None, 10).await.unwrap();
    assert_eq!(history.len(), 4);
    assert!(history.iter().all(|e| e.actor == "alice"));
}

/// Two writers, each with its own storage on the same file (as two CLI
/// processes would be), on their own threads: the lock serializes them and
/// `modify` retries, so no increment is lost.
#[test]
fn concurrent_writers_lose_nothing() {
    let dir = Dir::new("concurrent");
    let path = dir.file();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(manager(&path).register(Switch::new("counter").description("0")))
        .unwrap();
    let writers: Vec<_> = (0..2)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                let m = manager(&path);
                rt.block_on(async {
                    for _ in 0..50 {
                        m.modify("counter", |s| {
                            let n: u32 = s.description.as_deref().unwrap().parse().unwrap();
                            s.description = Some((n + 1).to_string());
                        })
                        .await
                        .unwrap();
                    }
                });
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let m = manager(&path);
    let counter = m.switch("counter").unwrap();
    assert_eq!(counter.description.as_deref(), Some("100"));
    assert_eq!(counter.version, 101);
}

#[tokio::test]
async fn a_malformed_file_is_a_clear_error_and_left_untouched() {
    let dir = Dir::new("malformed");
    let path = dir.file();
    let bad = "{\n  \"switches\": {\n    \"beta\": {\"name\": \"beta\", \"state\": \"sideways\"}\n  }\n}\n";
    std::fs::write(&path, bad).unwrap();
    let err = FileStorage::open(&path).unwrap_err();
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("line 3"), "{message}");

    // A storage opened before the file went bad fails its writes the same
    // way and writes nothing.
    std::fs::write(&path, "{}").unwrap();
    let storage = FileStorage::open(&path).unwrap();
    std::fs::write(&path, "{ not json").unwrap();
    let m = Manager::builder().storage(storage).build();
    let err = m.enable_for_all("beta").await.unwrap_err();
    assert!(matches!(err, Error::InvalidJson { .. }), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{ not json");

    // A record whose name does not match its key, or an invalid switch.
    std::fs::write(&path, r#"{"switches": {"a": {"name": "b"}}}"#).unwrap();
    let message = FileStorage::open(&path).unwrap_err().to_string();
    assert!(
        message.contains(r#"stored as "a" is named "b""#),
        "{message}"
    );
    std::fs::write(
        &path,
        r#"{"switches": {"a": {"name": "a", "variants": [{"name": "x", "weight": 0}]}}}"#,
    )
    .unwrap();
    let message = FileStorage::open(&path).unwrap_err().to_string();
    assert!(message.contains("total weight is zero"), "{message}");
}

#[tokio::test]
async fn a_missing_or_empty_file_is_an_empty_store() {
    let dir = Dir::new("missing");
    let m = manager(&dir.file());
    assert!(m.switches().is_empty());
    assert_eq!(
        dir.entries(),
        Vec::<String>::new(),
        "nothing written by reading"
    );
    std::fs::write(dir.file(), "\n").unwrap();
    let m = manager(&dir.file());
    m.register(Switch::new("x").state(State::Global))
        .await
        .unwrap();
    assert!(manager(&dir.file()).active("x", ()));
}

// Issue 9, item 6: the file's mode, a symlink, crash leftovers, a file that
// is not an object of switches.

#[cfg(unix)]
#[tokio::test]
async fn a_write_keeps_the_files_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = Dir::new("mode");
    let path = dir.file();
    let m = manager(&path);
    m.enable("beta").await.unwrap();
    for mode in [0o640, 0o600, 0o664] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        m.toggle("beta").await.unwrap();
        let now = std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
        assert_eq!(now, mode, "mode {mode:o} became {now:o}");
    }
}

#[cfg(unix)]
#[tokio::test]
async fn a_symlinked_file_is_written_through_the_link() {
    let dir = Dir::new("symlink");
    let real_dir = dir.0.join("releases").join("v1");
    std::fs::create_dir_all(&real_dir).unwrap();
    let real = real_dir.join("switches.json");
    std::fs::write(&real, "{}").unwrap();
    // A relative link, as `ln -s releases/v1/switches.json current.json`.
    let link = dir.0.join("current.json");
    std::os::unix::fs::symlink("releases/v1/switches.json", &link).unwrap();
    let m = manager(&link);
    m.enable_for_all("beta").await.unwrap();
    m.allow("gamma", "alice").await.unwrap();

    let meta = std::fs::symlink_metadata(&link).unwrap();
    assert!(meta.file_type().is_symlink(), "the link stays a link");
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        PathBuf::from("releases/v1/switches.json")
    );
    let through = manager(&real);
    assert!(through.active("beta", ()), "the real file holds the change");
    assert!(through.active("gamma", "alice"));
    // The same lock serves both paths: one next to the real file, no
    // temporary file left in either folder.
    assert_eq!(dir.entries(), ["current.json", "releases"]);
    let mut in_real: Vec<String> = std::fs::read_dir(&real_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    in_real.sort();
    assert_eq!(in_real, ["switches.json", "switches.json.lock"]);
}

#[tokio::test]
async fn temporary_files_left_by_a_crash_are_removed_by_the_next_write() {
    let dir = Dir::new("leftovers");
    let m = manager(&dir.file());
    m.enable("beta").await.unwrap();
    // What a writer killed between its write and its rename leaves.
    std::fs::write(dir.0.join(".switches.json.tmp.4242"), "{\"half").unwrap();
    std::fs::write(dir.0.join(".switches.json.tmp.1"), "").unwrap();
    // Not ours: kept.
    std::fs::write(dir.0.join(".switches.json.tmp.notes"), "mine").unwrap();
    std::fs::write(dir.0.join(".other.json.tmp.4242"), "theirs").unwrap();
    m.disable("beta").await.unwrap();
    assert_eq!(
        dir.entries(),
        [
            ".other.json.tmp.4242",
            ".switches.json.tmp.notes",
            "switches.json",
            "switches.json.lock"
        ]
    );
}

#[tokio::test]
async fn a_file_that_is_not_an_object_of_switches_is_refused_and_untouched() {
    let dir = Dir::new("not_an_object");
    let path = dir.file();
    for (content, says) in [
        ("[]", "array"),
        ("[{\"name\": \"beta\"}]", "array"),
        ("null", "null"),
        ("42", "number"),
        ("\"switches\"", "string"),
        ("true", "boolean"),
        (r#"{"beta": {"name": "beta", "state": "global"}}"#, "`beta`"),
        (r#"{"switches": {}, "extra": 1}"#, "`extra`"),
    ] {
        std::fs::write(&path, content).unwrap();
        let message = FileStorage::open(&path).unwrap_err().to_string();
        assert!(
            message.contains(&path.display().to_string()),
            "{content}: {message}"
        );
        assert!(message.contains(says), "{content}: {message}");

        // A storage opened while the file was good writes nothing either.
        std::fs::write(&path, "{}").unwrap();
        let m = manager(&path);
        std::fs::write(&path, content).unwrap();
        let err = m.enable_for_all("gamma").await.unwrap_err();
        assert!(matches!(err, Error::InvalidJson { .. }), "{content}: {err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), content);
    }
}

/// A file of many regular expressions is parsed (and its patterns
/// compiled) once, not at every read: reads of an unchanged file reuse
/// what was parsed; a change made by another process is still seen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_of_an_unchanged_file_do_not_recompile_its_patterns() {
    use gate::{Condition, Operator, Storage};
    let dir = Dir::new("regex-cache");
    let writer = manager(&dir.file());
    let switches: Vec<Switch> = (0..100)
        .map(|i| {
            let mut s = Switch::new(format!("s{i}")).state(State::Selective);
            for j in 0..10 {
                let pattern = format!(r"^user-{i}-{j}-[0-9]{{1,6}}-(?:[a-z]+\.)+[a-z]{{2,}}$");
                s = s.condition(Condition::identity(Operator::matches(&pattern).unwrap()));
            }
            s
        })
        .collect();
    writer.import(switches).await.unwrap();

    let storage = FileStorage::open(dir.file()).unwrap();
    let t = std::time::Instant::now();
    const READS: u32 = 20;
    for _ in 0..READS {
        assert!(storage
            .get(&SwitchKey::parse("s7"))
            .await
            .unwrap()
            .is_some());
    }
    let per_read = t.elapsed() / READS;
    eprintln!("get() on a file of 1,000 patterns: {per_read:?} per read");

    // Another process changes the file: the next read sees it.
    let other = manager(&dir.file());
    other.set_percentage("s7", 10).await.unwrap();
    let read = storage.get(&SwitchKey::parse("s7")).await.unwrap().unwrap();
    assert_eq!(read.version, 2);
    assert_eq!(read.conditions.len(), 11);
    assert!(
        per_read < std::time::Duration::from_millis(20),
        "{per_read:?} per read of an unchanged file"
    );
}
