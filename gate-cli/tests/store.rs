//! The real `gate` binary, run as a process. Opening a store: a malformed
//! file, the default file, an unreachable Redis, passwords never printed,
//! keys under the prefix.

#![allow(missing_docs)]

mod support;

use support::Store;

#[test]
fn a_malformed_store_file_is_an_error_naming_file_and_position() {
    let s = Store::file("malformed");
    let text = "{\"switches\": {\n  \"beta\": oops\n}}";
    std::fs::write(&s.store, text).unwrap();
    for args in [&["list"][..], &["enable", "beta"][..]] {
        s.fails(args, 1, &["invalid JSON", &s.store, "line 2 column 11"]);
    }
    assert_eq!(
        std::fs::read_to_string(&s.store).unwrap(),
        text,
        "left untouched"
    );
}

#[test]
fn the_default_store_is_gate_json_or_gate_store() {
    let dir = support::temp_dir("default_store");
    let gate = |env: Option<&str>, args: &[&str]| {
        let mut command = std::process::Command::new(support::GATE);
        command
            .current_dir(&dir)
            .args(args)
            .env_remove("GATE_STORE")
            .env_remove("GATE_PREFIX");
        if let Some(store) = env {
            command.env("GATE_STORE", store);
        }
        let output = command.output().unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    gate(None, &["create", "here"]);
    assert!(dir.join("gate.json").exists());
    gate(Some("elsewhere.json"), &["create", "there"]);
    assert!(gate(Some("elsewhere.json"), &["list"]).contains("there"));
    assert!(!gate(None, &["list"]).contains("there"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unreachable_redis_is_an_error_saying_so() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://:secret@127.0.0.1:{port}/0");
    let output = std::process::Command::new(support::GATE)
        .args(["--store", &url, "enable", "beta"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "cannot reach Redis at redis://:***@127.0.0.1:{port}/0"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("is redis-server running"), "{stderr}");
    assert!(
        !stderr.contains("secret"),
        "the password is not shown: {stderr}"
    );
}

#[test]
fn no_password_of_a_redis_url_is_printed() {
    // Issue 9: a password in the query string was printed in clear.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let socket = format!("/tmp/gate-cli-no-such-{}.sock", std::process::id());
    let urls = [
        format!("redis://127.0.0.1:{port}/0?password=s3cret"),
        format!("redis+unix://{socket}?pass=s3cret"),
        format!("unix://{socket}?db=1&password=s3cret"),
        format!("redis://:s3cret@127.0.0.1:{port}/zero"),
        format!("redis://:s3/cret@127.0.0.1:{port}/0"),
    ];
    for url in &urls {
        for args in [&["enable", "beta"][..], &["list"], &["history"]] {
            let output = std::process::Command::new(support::GATE)
                .arg("--store")
                .arg(url)
                .args(args)
                .output()
                .unwrap();
            assert_eq!(output.status.code(), Some(1), "{url} {args:?}");
            let stdout = String::from_utf8_lossy(&output.stdout);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                !stdout.contains("s3") && !stderr.contains("s3"),
                "{url} {args:?}: {stdout} {stderr}"
            );
        }
    }
    // The same through GATE_STORE.
    let output = std::process::Command::new(support::GATE)
        .args(["list"])
        .env("GATE_STORE", &urls[1])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("redis+unix://{socket}?pass=***")),
        "{stderr}"
    );
}

#[test]
fn redis_keys_live_under_the_prefix() {
    let s = Store::redis("prefix");
    s.ok(&["allow", "beta", "alice"]);
    let other = Store::redis("prefix_other");
    assert!(other.names().is_empty(), "another prefix sees nothing");
    assert_eq!(s.names(), ["beta"]);
    // GATE_STORE and GATE_PREFIX stand for --store and --prefix.
    let output = std::process::Command::new(support::GATE)
        .args(["show", "beta"])
        .env("GATE_STORE", &s.store)
        .env("GATE_PREFIX", &s.prefix)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("\"alice\""));
}
