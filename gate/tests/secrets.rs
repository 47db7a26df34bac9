//! No password of a Redis URL appears anywhere: errors, `Debug`, sync
//! status, tracing (issue 9, item 6). Every URL below carries a secret
//! containing `s3cret`, in each place a URL can hold one.

mod redis_support;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use gate::Manager;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Everything logged by this test binary, at every level.
fn logged() -> &'static Mutex<String> {
    static LOG: OnceLock<Arc<Mutex<String>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Arc::new(Mutex::new(String::new()));
        tracing::subscriber::set_global_default(Capture(log.clone())).unwrap();
        log
    })
}

struct Capture(Arc<Mutex<String>>);

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut log = self.0.lock().unwrap();
        span.record(&mut Fields(&mut log));
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        values.record(&mut Fields(&mut self.0.lock().unwrap()));
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut log = self.0.lock().unwrap();
        event.record(&mut Fields(&mut log));
        log.push('\n');
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Everything a user can see of a manager built on `url`.
async fn everything_shown(url: &str) -> String {
    let mut shown = String::new();
    let builder = || {
        Manager::builder()
            .redis(url)
            .prefix("secrets")
            .timeout(Duration::from_millis(200))
    };
    let _ = writeln!(shown, "{:?}", builder());
    match builder().build_storage() {
        Ok(storage) => {
            let _ = writeln!(shown, "{storage:?}");
        }
        Err(e) => {
            let _ = writeln!(shown, "{e} {e:?}");
        }
    }
    match builder().build().await {
        Ok(manager) => {
            let status = manager.sync_status();
            let _ = writeln!(shown, "{manager:?} {status:?} {:?}", status.last_error);
            if let Err(e) = manager.allow("beta", "alice").await {
                let _ = writeln!(shown, "{e} {e:?}");
            }
            if let Err(e) = manager.history(None, 10).await {
                let _ = writeln!(shown, "{e} {e:?}");
            }
            let status = manager.sync_status();
            let _ = writeln!(shown, "{status:?}");
        }
        Err(e) => {
            let _ = writeln!(shown, "{e} {e:?}");
        }
    }
    shown
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_password_of_a_redis_url_is_shown_anywhere() {
    let log = logged();
    let port = closed_port();
    let socket = format!("/tmp/gate-no-such-{}.sock", std::process::id());
    let shared = redis_support::shared_url().await;
    let shared_host = shared
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let urls = [
        format!("redis://:s3cret-a@127.0.0.1:{port}/0"),
        format!("redis://alice:s3cret-b@127.0.0.1:{port}/0"),
        format!("redis://127.0.0.1:{port}/0?password=s3cret-c"),
        format!("redis://127.0.0.1:{port}/0?db=0&pass=s3cret-d"),
        format!("redis+unix://{socket}?pass=s3cret-e"),
        format!("unix://{socket}?password=s3cret-f&db=1"),
        format!("unix://{socket}?db=1&%70ass=s3cret-g"),
        format!("redis+unix://{socket}?user=alice&pass=s3cret%2Dh"),
        // Rejected by the client, for its database, its protocol, or as
        // no URL at all.
        format!("redis://:s3cret-i@127.0.0.1:{port}/not-a-number"),
        format!("redis://:s3cret-j@127.0.0.1:{port}/0?protocol=9"),
        format!("redis://:s3cret-k/x@127.0.0.1:{port}/0"),
        "redis://:s3cret-l@[::1/0".to_owned(),
        // A user name alone may be a password put in the wrong place.
        format!("redis://s3cret-m@127.0.0.1:{port}/0"),
        format!("redis://:s3cret-n@127.0.0.1:{port}/0#s3cret-o"),
        // A server that answers, with no such password configured.
        format!("redis://:s3cret-p@{shared_host}/0"),
        format!("redis://alice:s3cret-q@{shared_host}/0"),
    ];
    let tasks: Vec<_> = urls
        .iter()
        .map(|url| {
            let url = url.clone();
            tokio::spawn(async move { everything_shown(&url).await })
        })
        .collect();
    let mut everything = String::new();
    for task in tasks {
        everything.push_str(&task.await.unwrap());
    }
    if std::env::var_os("SHOW").is_some() {
        println!("{everything}");
    }
    // Let background reconnects report what they report.
    tokio::time::sleep(Duration::from_millis(300)).await;
    everything.push_str(&log.lock().unwrap());
    for secret in ["s3cret", "s3cret%2D", "%73%33"] {
        assert!(
            !everything.contains(secret),
            "a password is shown:\n{}",
            everything
                .lines()
                .filter(|l| l.contains(secret))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    // What is shown still says where: host, port, socket path, database.
    assert!(
        everything.contains(&format!("127.0.0.1:{port}")),
        "{everything}"
    );
    assert!(everything.contains(&socket), "{everything}");
    assert!(
        everything.contains("alice"),
        "the user name stays: {everything}"
    );
}

#[test]
fn redacted_urls_keep_what_locates_the_server() {
    let cases = [
        ("redis://:pw@host:6379/0", "redis://:***@host:6379/0"),
        ("rediss://alice:pw@host/1", "rediss://alice:***@host/1"),
        ("redis://pw@host", "redis://***@host"),
        ("redis://host:6379", "redis://host:6379"),
        ("redis://host/0?password=pw", "redis://host/0?password=***"),
        (
            "redis+unix:///tmp/redis.sock?db=2&pass=pw&protocol=resp3",
            "redis+unix:///tmp/redis.sock?db=2&pass=***&protocol=resp3",
        ),
        (
            "unix:///tmp/redis.sock?user=alice&password=pw",
            "unix:///tmp/redis.sock?user=alice&password=***",
        ),
        ("unix:///tmp/redis.sock?pw", "unix:///tmp/redis.sock?***"),
        ("rediss://host#insecure", "rediss://host#insecure"),
        ("redis://host#pw", "redis://host#***"),
        ("redis://:p/w@host/0", "redis://<a URL that does not parse>"),
        ("p@w", "<a URL that does not parse>"),
    ];
    for (url, shown) in cases {
        assert_eq!(gate::storage::redact_url(url), shown, "{url}");
    }
}
