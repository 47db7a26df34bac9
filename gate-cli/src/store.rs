//! Opening the store named by `--store`: a Redis URL or a JSON file.

use gate::storage::{redact_url, FileStorage};
use gate::Manager;

use crate::cli::Global;
use crate::Failure;

/// Whether `store` names a Redis server rather than a file.
pub(crate) fn is_redis(store: &str) -> bool {
    let lower = store.to_ascii_lowercase();
    ["redis://", "rediss://", "redis+unix://", "unix://"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
}

/// The actor changes are recorded as: `--actor`, else `cli:$USER`, else
/// `cli`.
pub(crate) fn actor(global: &Global) -> String {
    if let Some(actor) = &global.actor {
        return actor.clone();
    }
    match std::env::var("USER") {
        Ok(user) if !user.trim().is_empty() => format!("cli:{}", user.trim()),
        _ => "cli".to_owned(),
    }
}

/// A manager on the store, in the namespace, acting as the actor.
///
/// # Errors
///
/// A malformed or unreadable file, an invalid namespace, a Redis URL the
/// client rejects, or a Redis server that does not answer.
pub(crate) async fn open(global: &Global) -> Result<Manager, Failure> {
    let store = global.store.trim();
    if store.is_empty() {
        return Err(Failure::new(
            "--store is empty: give a redis:// URL or the path of a JSON file",
        ));
    }
    let manager = if is_redis(store) {
        let manager = Manager::builder()
            .redis(store)
            .prefix(&global.prefix)
            .build()
            .await?;
        let status = manager.sync_status();
        if !status.connected {
            return Err(Failure::new(format!(
                "cannot reach Redis at {} ({}): is redis-server running there? (check --store or GATE_STORE)",
                redact_url(store),
                status
                    .last_error
                    .unwrap_or_else(|| "no answer".to_owned())
            )));
        }
        manager
    } else {
        Manager::builder()
            .storage(FileStorage::open(store)?)
            .build()
    };
    let manager = match &global.namespace {
        Some(namespace) => manager.namespaced(namespace)?,
        None => manager,
    };
    Ok(manager.as_actor(actor(global)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_urls_and_files() {
        assert!(is_redis("redis://127.0.0.1:6379/0"));
        assert!(is_redis("REDISS://host"));
        assert!(!is_redis("./gate.json"));
        assert!(!is_redis("redis.json"));
    }

    #[test]
    fn passwords_are_hidden() {
        // gate's own redactor (one for the library and the command).
        assert_eq!(
            redact_url("redis://:secret@host:6379/0"),
            "redis://:***@host:6379/0"
        );
        assert_eq!(
            redact_url("rediss://alice:secret@host/1"),
            "rediss://alice:***@host/1"
        );
        assert_eq!(redact_url("redis://host:6379"), "redis://host:6379");
    }
}
