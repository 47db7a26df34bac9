//! Redis for the tests: the machine's server (or `GATE_REDIS_URL`) with a
//! unique key prefix per test, or a private `redis-server` on a free port
//! for tests that stop, restart or empty it.

#![allow(dead_code, unreachable_pub, missing_docs)]

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The shared server's URL; fails the test, saying how to get one, when
/// nothing answers there.
pub async fn shared_url() -> String {
    let url = std::env::var("GATE_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into());
    if let Err(e) = ping(&url).await {
        panic!(
            "these tests need a Redis server at {url} ({e}). Start one with \
             `redis-server --port 6379 --save '' --daemonize yes`, run the tests with \
             `bash scripts/test.sh` (which installs and starts it), or set GATE_REDIS_URL."
        );
    }
    url
}

pub async fn ping(url: &str) -> redis::RedisResult<()> {
    let client = redis::Client::open(url)?;
    let mut c = tokio::time::timeout(
        Duration::from_secs(2),
        client.get_multiplexed_async_connection(),
    )
    .await
    .map_err(|_| redis::RedisError::from(std::io::Error::other("timed out")))??;
    redis::cmd("PING")
        .query_async::<String>(&mut c)
        .await
        .map(|_| ())
}

/// A key prefix no other test uses; its keys are deleted when dropped.
pub struct Prefix {
    pub name: String,
    url: String,
}

impl Prefix {
    pub async fn new(url: &str, test: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "gate-test:{test}:{}:{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        delete_keys(url, &name).await;
        Prefix {
            name,
            url: url.to_owned(),
        }
    }
}

impl Drop for Prefix {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(delete_keys(&url, &name));
        })
        .join();
    }
}

async fn delete_keys(url: &str, prefix: &str) {
    let mut c = connection(url).await;
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

pub async fn connection(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// A private redis-server on a free port, stopped by pid when dropped.
pub struct Server {
    pub port: u16,
    child: Option<Child>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    pub async fn start() -> Self {
        let mut server = Server {
            port: free_port(),
            child: None,
        };
        server.spawn().await;
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    async fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start redis-server ({e}): install it with `apt-get install redis-server` or run `bash scripts/test.sh`")
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while ping(&self.url()).await.is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server on port {} did not start",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Kills the server (SIGKILL, by pid) and waits until it is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Hangs the server (SIGSTOP, by pid): connections stay open, nothing
    /// answers.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused server run again (SIGCONT, by pid).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("the server runs").id();
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} {pid} failed");
    }

    /// Starts it again on the same port, empty.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits until `condition` holds, failing after `limit`.
pub async fn eventually(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
