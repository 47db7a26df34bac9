//! The notifications on the changes channel (`{prefix}:changes`): one
//! JSON object per write, tagged by `op`. The write scripts publish them
//! (`cjson.encode({op = 'put', …})` in `scripts/*.lua`), [`epoch`](super::epoch)
//! publishes `restored`, and the change feed ([`watch`](super::watch)) parses
//! them into changes.

use serde::{Deserialize, Serialize};

use crate::key::SwitchKey;

/// The channel of a prefix's notifications.
pub(super) fn channel(prefix: &str) -> String {
    format!("{prefix}:changes")
}

/// A notification on the changes channel.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(super) enum Notification {
    /// The switch at `key` was written: read it again. `users: false`
    /// says its allow-list did not change, so a replica one version
    /// behind reads only the record.
    Put {
        key: SwitchKey,
        version: u64,
        #[serde(default = "changed")]
        users: bool,
    },
    /// These switches were removed.
    Del { keys: Vec<SwitchKey> },
    /// These ids were added to the allow-list.
    Allow {
        key: SwitchKey,
        version: u64,
        ids: Vec<String>,
    },
    /// These ids were removed from the allow-list.
    Disallow {
        key: SwitchKey,
        version: u64,
        ids: Vec<String>,
    },
    /// The store was restored after a data loss: read it all again.
    Restored,
}

impl Notification {
    /// The notification as published.
    pub(super) fn encode(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// A notification as received.
    pub(super) fn parse(payload: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(payload)
    }
}

/// `Put` notifications without `users` (older writers, other tools) say
/// the allow-list may have changed.
fn changed() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::Notification;
    use crate::key::SwitchKey;

    /// The forms the scripts publish (cjson orders keys as it likes).
    #[test]
    fn what_the_scripts_publish_parses() {
        let parse = |json: &str| Notification::parse(json.as_bytes()).unwrap();
        assert_eq!(
            parse(r#"{"version":3,"op":"put","key":"a.b"}"#),
            Notification::Put {
                key: SwitchKey::parse("a.b"),
                version: 3,
                users: true
            }
        );
        assert_eq!(
            parse(r#"{"op":"put","key":"a","version":4,"users":false}"#),
            Notification::Put {
                key: SwitchKey::parse("a"),
                version: 4,
                users: false
            }
        );
        assert_eq!(
            parse(r#"{"op":"del","keys":["a","a.b"]}"#),
            Notification::Del {
                keys: vec![SwitchKey::parse("a"), SwitchKey::parse("a.b")]
            }
        );
        assert_eq!(
            parse(r#"{"ids":["7"],"op":"disallow","key":"a","version":2}"#),
            Notification::Disallow {
                key: SwitchKey::parse("a"),
                version: 2,
                ids: vec!["7".into()]
            }
        );
        let restored = Notification::Restored.encode().unwrap();
        assert_eq!(restored, r#"{"op":"restored"}"#);
        assert_eq!(parse(&restored), Notification::Restored);
    }
}
