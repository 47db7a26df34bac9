//! The real `gate` binary on a Redis store holding records another tool
//! broke, and restoring a store that lost its data from a snapshot file.

#![allow(missing_docs)]

mod support;

use std::time::{Duration, Instant};

use support::Store;

/// Runs one Redis command against the store.
fn redis(s: &Store, args: &[&str]) {
    let client = redis::Client::open(s.store.as_str()).unwrap();
    let mut c = client.get_connection().unwrap();
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    let _: redis::Value = cmd.query(&mut c).unwrap();
}

fn key(s: &Store, rest: &str) -> String {
    format!("{}:{rest}", s.prefix)
}

#[test]
fn broken_records_are_listed_shown_repaired_and_deleted() {
    let s = Store::redis("broken");
    s.ok(&["global", "good"]);
    s.ok(&["allow", "listed", "alice"]);
    s.ok(&["global", "versioned"]);
    redis(
        &s,
        &["HSET", &key(&s, "versions"), "versioned", "not-a-number"],
    );
    redis(&s, &["DEL", &key(&s, "users:listed")]);
    redis(&s, &["SET", &key(&s, "users:listed"), "alice"]);

    // list: the good switch, and which records cannot be read and why.
    let list = s.ok(&["list"]);
    assert!(
        list.contains("2 switches are stored but cannot be read"),
        "{list}"
    );
    assert!(
        list.contains("listed") && list.contains("is not a set"),
        "{list}"
    );
    assert!(
        list.contains("versioned") && list.contains(r#""not-a-number", not a whole number"#),
        "{list}"
    );
    assert!(list.contains("good") && list.contains("global"), "{list}");
    // --json stays an array of the readable switches; stderr warns.
    let run = s.run(&["list", "--json"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1);
    assert!(
        run.stderr
            .contains("\"versioned\" is stored but cannot be read"),
        "{run:?}"
    );

    // show says why; changes refuse without writing.
    s.fails(
        &["show", "listed"],
        1,
        &[
            "\"listed\" is stored but cannot be read",
            "is not a set",
            "gate put",
        ],
    );
    s.fails(
        &["allow", "listed", "bob"],
        1,
        &["cannot be read", "nothing was written"],
    );
    s.fails(
        &["percentage", "versioned", "5"],
        1,
        &["cannot be read", "nothing was written"],
    );
    let client = redis::Client::open(s.store.as_str()).unwrap();
    let mut c = client.get_connection().unwrap();
    let raw: String = redis::cmd("GET")
        .arg(key(&s, "users:listed"))
        .query(&mut c)
        .unwrap();
    assert_eq!(raw, "alice", "nothing was written");

    // put repairs one, delete removes the other.
    let file = s.dir().join("listed.json");
    std::fs::write(
        &file,
        r#"{"name": "listed", "state": "selective", "users": ["carol"]}"#,
    )
    .unwrap();
    let put = s.ok(&["put", file.to_str().unwrap()]);
    assert!(put.contains("listed: repaired"), "{put}");
    assert_eq!(s.show("listed")["users"], serde_json::json!(["carol"]));
    s.ok(&["allow", "listed", "dave"]);
    let deleted = s.ok(&["delete", "versioned"]);
    assert!(deleted.contains("deleted versioned"), "{deleted}");
    let list = s.ok(&["list"]);
    assert!(!list.contains("cannot be read"), "{list}");
    assert_eq!(s.names(), ["good", "listed"]);
    // put also creates and replaces.
    std::fs::write(&file, r#"{"name": "fresh", "state": "global"}"#).unwrap();
    assert!(s
        .ok(&["put", file.to_str().unwrap()])
        .contains("fresh: created"));
    std::fs::write(&file, r#"{"name": "fresh", "state": "disabled"}"#).unwrap();
    assert!(s
        .ok(&["put", file.to_str().unwrap()])
        .contains("fresh: replaced"));
    assert_eq!(s.show("fresh")["state"], "disabled");
}

#[test]
fn restore_writes_a_snapshot_back() {
    let s = Store::redis("restore");
    s.ok(&["global", "written_since"]);
    let file = s.dir().join("snapshot.json");
    std::fs::write(
        &file,
        r#"{"epoch": "e1", "switches": [
            {"key": "beta", "switch": {"name": "beta", "state": "selective", "users": ["alice"], "version": 4}},
            {"key": "kill", "switch": {"name": "kill", "state": "global", "version": 2}},
            {"key": "written_since", "switch": {"name": "written_since", "state": "disabled", "version": 1}},
            {"key": "eu.beta", "switch": {"name": "beta", "state": "global", "version": 1}}
        ]}"#,
    )
    .unwrap();
    let out = s.ok(&["restore", "--from", file.to_str().unwrap()]);
    assert!(
        out.contains("restored 3 switches: beta, eu.beta, kill"),
        "{out}"
    );
    assert!(
        out.contains("kept 1 switch the store holds already: written_since"),
        "{out}"
    );
    assert_eq!(s.show("beta")["users"], serde_json::json!(["alice"]));
    assert_eq!(s.show("kill")["state"], "global");
    assert_eq!(
        s.show("written_since")["state"],
        "global",
        "left as the store has it"
    );
    assert!(s.ok(&["--namespace", "eu", "list"]).contains("beta"));
    let history = s.ok(&["history", "beta"]);
    assert!(history.contains("cli:tester"), "{history}");

    // A file that is not a snapshot: a clear error, nothing written.
    std::fs::write(&file, "{oops").unwrap();
    s.fails(
        &["restore", "--from", file.to_str().unwrap()],
        1,
        &["snapshot file", "snapshot.json"],
    );
    s.fails(
        &["restore", "--from", "/nonexistent/snap.json"],
        1,
        &["/nonexistent/snap.json"],
    );
    s.fails(&["restore"], 2, &["--from"]);
    let out = s.ok(&["restore", "--as-is"]);
    assert!(out.contains("marked restored"), "{out}");
    assert_eq!(
        s.names(),
        ["beta", "kill", "written_since"],
        "nothing written"
    );
}

/// A private redis-server on a free port, killed (by pid) when dropped.
struct Server {
    port: u16,
    child: Option<std::process::Child>,
}

impl Server {
    fn start() -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = Server { port, child: None };
        server.spawn();
        server
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn spawn(&mut self) {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (apt-get install redis-server)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        let client = redis::Client::open(self.url()).unwrap();
        while client
            .get_connection_with_timeout(Duration::from_millis(200))
            .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
            .is_err()
        {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills it and starts it again, empty, on the same port.
    fn restart(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.spawn();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Redis restarted empty: the nodes keep their switches; `gate restore
/// --from` a node's snapshot file brings the store back and the nodes
/// follow it again.
#[test]
fn gate_restore_brings_a_fleet_back_after_redis_lost_its_data() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = support::temp_dir("fleet-restore");
        let mut server = Server::start();
        let node = |snapshot: &str| {
            gate::Manager::builder()
                .redis(server.url())
                .prefix("fleet")
                .snapshot_file(dir.join(snapshot))
                .resync_interval(Duration::from_millis(50))
                .build()
        };
        let a = node("a.json").await.unwrap();
        let b = node("b.json").await.unwrap();
        a.enable_for_all("kill_switch").await.unwrap();
        a.allow("beta", "alice").await.unwrap();
        eventually("b follows and writes its snapshot", || {
            b.active("beta", "alice")
                && std::fs::read_to_string(dir.join("b.json"))
                    .is_ok_and(|s| s.contains("alice") && s.contains("kill_switch"))
        })
        .await;

        server.restart();
        eventually("the loss is seen", || {
            a.sync_status().data_loss.is_some() && b.sync_status().data_loss.is_some()
        })
        .await;
        assert!(a.active("kill_switch", ()) && b.active("beta", "alice"));

        let snapshot = dir.join("b.json");
        let out = std::process::Command::new(support::GATE)
            .args([
                "--store",
                &server.url(),
                "--prefix",
                "fleet",
                "restore",
                "--from",
            ])
            .arg(&snapshot)
            .env("USER", "tester")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{out:?}");
        assert!(
            stdout.contains("restored 2 switches: beta, kill_switch"),
            "{stdout}"
        );
        eventually("the nodes follow the store again", || {
            a.sync_status().data_loss.is_none() && b.sync_status().data_loss.is_none()
        })
        .await;
        // A new write propagates; the store holds what was restored.
        a.disable("kill_switch").await.unwrap();
        eventually("b follows", || !b.active("kill_switch", ())).await;
        let fresh = gate::Manager::builder()
            .redis(server.url())
            .prefix("fleet")
            .build()
            .await
            .unwrap();
        assert!(fresh.active("beta", "alice"));
        let _ = std::fs::remove_dir_all(&dir);
    });
}

#[test]
fn put_creates_and_replaces_in_a_file_store() {
    let s = Store::file("put");
    let file = s.dir().join("in.json");
    std::fs::write(
        &file,
        r#"{"name": "beta", "state": "global", "users": ["alice"]}"#,
    )
    .unwrap();
    assert!(s
        .ok(&["put", file.to_str().unwrap()])
        .contains("beta: created"));
    std::fs::write(&file, r#"{"name": "beta", "state": "disabled"}"#).unwrap();
    assert!(s
        .ok(&["put", file.to_str().unwrap()])
        .contains("beta: replaced"));
    let shown = s.show("beta");
    assert_eq!(shown["state"], "disabled");
    assert_eq!(shown["users"], serde_json::json!([]), "replaced whole");
    std::fs::write(&file, r#"{"name": "", "state": "disabled"}"#).unwrap();
    s.fails(&["put", file.to_str().unwrap()], 1, &["name"]);
}
