//! Running the real `gate` binary against a store: a JSON file in a
//! temporary folder, or the machine's Redis (or `GATE_REDIS_URL`) under a
//! key prefix of its own, deleted afterwards.

#![allow(dead_code, unused_macros, unreachable_pub, missing_docs)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Each named test function, run once on a file store (`file::name`) and
/// once on Redis (`redis::name`). The test file imports [`Store`].
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod file {
            $( #[test] fn $name() { super::$name(&super::Store::file(stringify!($name))); } )*
        }
        mod redis {
            $( #[test] fn $name() { super::$name(&super::Store::redis(stringify!($name))); } )*
        }
    };
}

/// The binary under test.
pub const GATE: &str = env!("CARGO_BIN_EXE_gate");

/// What a run of `gate` printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

enum Backend {
    File { dir: PathBuf },
    Redis { url: String },
}

/// A store for one test.
pub struct Store {
    /// The `--store` argument.
    pub store: String,
    /// The `--prefix` argument.
    pub prefix: String,
    backend: Backend,
}

fn unique(test: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{test}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A folder of its own under the system's temporary folder.
pub fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join("gate-cli-tests")
        .join(unique(test));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The machine's Redis: `GATE_REDIS_URL` or redis://127.0.0.1:6379/0.
/// Fails the test, saying how to start one, when it does not answer.
pub fn redis_url() -> String {
    let url = std::env::var("GATE_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into());
    if let Err(e) = connection(&url) {
        panic!(
            "these tests need a Redis server at {url} ({e}). Start one with \
             `redis-server --port 6379 --save '' --daemonize yes`, run the tests with \
             `bash scripts/test.sh` (which installs and starts it), or set GATE_REDIS_URL."
        );
    }
    url
}

fn connection(url: &str) -> redis::RedisResult<redis::Connection> {
    let client = redis::Client::open(url)?;
    let mut c = client.get_connection_with_timeout(Duration::from_secs(2))?;
    redis::cmd("PING").query::<String>(&mut c)?;
    Ok(c)
}

fn redis_keys(url: &str, prefix: &str) -> Vec<String> {
    let mut c = connection(url).unwrap();
    redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query(&mut c)
        .unwrap()
}

fn delete_keys(url: &str, prefix: &str) {
    let keys = redis_keys(url, prefix);
    if !keys.is_empty() {
        let mut c = connection(url).unwrap();
        redis::cmd("DEL").arg(keys).query::<()>(&mut c).unwrap();
    }
}

impl Store {
    /// A JSON file (not created yet) in a temporary folder.
    pub fn file(test: &str) -> Store {
        let dir = temp_dir(test);
        Store {
            store: dir.join("switches.json").display().to_string(),
            prefix: "gate".into(),
            backend: Backend::File { dir },
        }
    }

    /// The machine's Redis under a prefix of this test's.
    pub fn redis(test: &str) -> Store {
        let url = redis_url();
        let prefix = format!("gate-cli-test:{}", unique(test));
        delete_keys(&url, &prefix);
        Store {
            store: url.clone(),
            prefix,
            backend: Backend::Redis { url },
        }
    }

    pub fn is_redis(&self) -> bool {
        matches!(self.backend, Backend::Redis { .. })
    }

    /// The folder of a file store (a temporary folder for Redis stores'
    /// files, e.g. for import).
    pub fn dir(&self) -> PathBuf {
        match &self.backend {
            Backend::File { dir } => dir.clone(),
            Backend::Redis { .. } => {
                let dir = std::env::temp_dir()
                    .join("gate-cli-tests")
                    .join(self.prefix.replace(':', "_"));
                std::fs::create_dir_all(&dir).unwrap();
                dir
            }
        }
    }

    /// `gate --store .. --prefix .. ARGS`, as user `tester`, with no
    /// terminal and an empty standard input.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(GATE);
        command
            .args(["--store", &self.store, "--prefix", &self.prefix])
            .args(args)
            .env_remove("GATE_STORE")
            .env_remove("GATE_PREFIX")
            .env_remove("NO_COLOR")
            .env("USER", "tester")
            .stdin(Stdio::null());
        command
    }

    /// Runs `gate ARGS`.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().unwrap())
    }

    /// Runs `gate ARGS`, which must succeed; its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert_eq!(
            run.code,
            Some(0),
            "gate {args:?} failed: {}{}",
            run.stdout,
            run.stderr
        );
        assert!(run.stderr.is_empty(), "gate {args:?}: {}", run.stderr);
        run.stdout
    }

    /// Runs `gate ARGS`, which must fail with status `code` and a message
    /// on standard error containing every one of `needles`.
    pub fn fails(&self, args: &[&str], code: i32, needles: &[&str]) -> Run {
        let run = self.run(args);
        assert_eq!(
            run.code,
            Some(code),
            "gate {args:?} should exit with {code}: {run:?}"
        );
        for needle in needles {
            assert!(
                run.stderr.contains(needle),
                "gate {args:?}: stderr lacks {needle:?}: {}",
                run.stderr
            );
        }
        run
    }

    /// `gate show NAME` as JSON.
    pub fn show(&self, name: &str) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["show", name])).unwrap()
    }

    /// The names of the switches (`list --json`).
    pub fn names(&self) -> Vec<String> {
        let list: serde_json::Value = serde_json::from_str(&self.ok(&["list", "--json"])).unwrap();
        list.as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_owned())
            .collect()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        match &self.backend {
            Backend::File { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Backend::Redis { url } => {
                let _ = std::fs::remove_dir_all(
                    std::env::temp_dir()
                        .join("gate-cli-tests")
                        .join(self.prefix.replace(':', "_")),
                );
                delete_keys(url, &self.prefix);
                if !std::thread::panicking() {
                    assert!(redis_keys(url, &self.prefix).is_empty());
                }
            }
        }
    }
}
