//! A batch of creates and updates, all or nothing, as one script run.

use super::scripts::BatchReply;
use super::write::{INLINE_BATCH_IDS, INLINE_IDS};
use super::{record, RedisStorage};
use crate::error::Error;
use crate::history::HistoryEntry;
use crate::key::SwitchKey;
use crate::storage::BatchWrite;
use crate::switch::Switch;

impl RedisStorage {
    /// Writes every item or none
    /// ([`Storage::write_batch`](crate::storage::Storage::write_batch)).
    pub(super) async fn batch(
        &self,
        actor: &str,
        writes: Vec<(SwitchKey, BatchWrite)>,
    ) -> Result<Vec<Switch>, Error> {
        for (_, write) in &writes {
            write.switch().validate()?;
        }
        let first = writes
            .first()
            .map_or_else(String::new, |(_, w)| w.switch().name.clone());
        let op = self.op("batch", &first);
        // Each item's expected version and audit entry first: the
        // entry needs the switch being replaced; the script's version
        // check makes it the one replaced.
        let mut items: Vec<(String, String)> = Vec::with_capacity(writes.len());
        for (key, write) in &writes {
            let (expected, mut entry) = match write {
                BatchWrite::Create(switch) => {
                    (String::new(), HistoryEntry::registered(actor, key, switch))
                }
                BatchWrite::Update(switch) => {
                    let previous = match self.fetch(key).await? {
                        Some(Ok(previous)) => Some(previous),
                        Some(Err(_)) => None,
                        None => {
                            return Err(Error::NotFound {
                                name: switch.name.clone(),
                            })
                        }
                    };
                    if let Some(previous) = &previous {
                        write.check(key, Some(previous))?;
                    }
                    let previous = previous.unwrap_or_else(|| Switch::new(key.name()));
                    (
                        switch.version.to_string(),
                        HistoryEntry::updated(actor, key, &previous, switch),
                    )
                }
            };
            entry.version = 0;
            entry.op = Some(op.id.clone());
            let mut entry = entry.to_json();
            entry.pop();
            items.push((expected, entry));
        }
        // Large allow-lists (and any beyond the inline budget) are
        // staged, so the script call stays small and quick.
        let mut staged: Vec<Option<String>> = Vec::with_capacity(writes.len());
        let mut inline = 0;
        for (_, write) in &writes {
            let users = &write.switch().users;
            if users.len() > INLINE_IDS || inline + users.len() > INLINE_BATCH_IDS {
                let ids: Vec<&str> = users.iter().collect();
                match self.stage(&ids).await {
                    Ok(stage) => staged.push(Some(stage)),
                    Err(e) => {
                        self.unstage(&staged.into_iter().flatten().collect::<Vec<_>>())
                            .await;
                        return Err(e);
                    }
                }
            } else {
                inline += users.len();
                staged.push(None);
            }
        }
        let mut invocation = self.invocation(&self.scripts.batch, &op, "hash hash list");
        invocation
            .key(&self.keys.switches)
            .key(&self.keys.versions)
            .key(&self.keys.history)
            .arg(&self.keys.channel)
            .arg(&self.keys.users_prefix)
            .arg(self.history_capacity)
            .arg(writes.len());
        for (((key, write), (expected, entry)), stage) in writes.iter().zip(&items).zip(&staged) {
            let switch = write.switch();
            invocation
                .arg(key.as_str())
                .arg(record::to_json(switch))
                .arg(expected)
                .arg(entry)
                .arg(stage.as_deref().unwrap_or(""))
                .arg(switch.users.len());
            if stage.is_none() {
                invocation.arg(switch.users.iter().collect::<Vec<&str>>());
            }
        }
        let out = self.write(&op, "write a batch", &invocation).await;
        let staged: Vec<String> = staged.into_iter().flatten().collect();
        self.unstage_after(&staged, &out).await;
        let name = |item: usize| {
            writes
                .get(item)
                .map_or_else(String::new, |(_, w)| w.switch().name.clone())
        };
        match out? {
            BatchReply::Stored(versions) => Ok(writes
                .into_iter()
                .zip(versions)
                .map(|((_, write), version)| {
                    let mut stored = match write {
                        BatchWrite::Create(s) | BatchWrite::Update(s) => s,
                    };
                    stored.version = version;
                    stored
                })
                .collect()),
            BatchReply::Exists { item } => Err(Error::AlreadyExists { name: name(item) }),
            BatchReply::Missing { item } => Err(Error::NotFound { name: name(item) }),
            BatchReply::Conflict { item, found } => Err(Error::Conflict {
                name: name(item),
                expected: writes[item].1.switch().version,
                found,
            }),
            BatchReply::StagingLost { item } => Err(self.storage_error(
                "write a batch",
                format_args!(
                    "the staged allow-list of {:?} was lost before the write (retry it); nothing was written",
                    name(item)
                ),
            )),
            BatchReply::Unexpected(other) => Err(self.storage_error(
                "write a batch",
                format_args!("unexpected answer {:?}", other.as_slice()),
            )),
        }
    }
}
