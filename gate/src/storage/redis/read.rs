//! Reads: one switch, every switch, large allow-lists page by page, and
//! the audit trail. A stored value some other tool wrote malformed makes
//! its switch unreadable, never the read fail.

use std::collections::HashMap;
use std::sync::Arc;

use super::{record, RedisStorage};
use crate::error::Error;
use crate::history::HistoryEntry;
use crate::key::SwitchKey;
use crate::storage::Record;
use crate::switch::{Switch, Users};

/// Allow-lists up to this size are read with one `SMEMBERS`; larger ones
/// with `SSCAN` pages, so no single reply outlasts the timeout.
const READ_WHOLE: usize = 100_000;
/// Ids asked for per `SSCAN` page.
const SCAN_PAGE: usize = 50_000;

/// Every switch as stored, and the store's epoch marker, from one read.
pub(super) struct FullRead {
    pub(super) records: Vec<(SwitchKey, Result<Switch, Error>)>,
    pub(super) epoch: Option<String>,
}

/// What [`RedisStorage::read_record`] asks about an allow-list.
#[derive(Clone, Copy)]
enum Set {
    /// Its size (`SCARD`).
    Size,
    /// Its ids (`SMEMBERS`).
    Members,
}

/// A record as read, its version (or why it is unreadable) and the answer
/// about its allow-list.
type RecordRead = (
    Vec<u8>,
    Result<u64, String>,
    redis::RedisResult<redis::Value>,
);

impl RedisStorage {
    /// Every readable switch ([`Storage::load`](crate::storage::Storage::load)).
    pub(super) async fn load_all(&self) -> Result<Vec<Record>, Error> {
        Ok(self
            .fetch_all(|_| None)
            .await?
            .records
            .into_iter()
            .filter_map(|(key, switch)| switch.ok().map(|switch| Record { key, switch }))
            .collect())
    }

    /// The newest `limit` audit entries, of the tree under `key` if given
    /// ([`Storage::history`](crate::storage::Storage::history)).
    pub(super) async fn read_history(
        &self,
        key: Option<&SwitchKey>,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, Error> {
        let mut connection = self.connection.clone();
        let raw: Vec<String> = self
            .call(
                "read the history",
                redis::cmd("LRANGE")
                    .arg(&self.keys.history)
                    .arg(0)
                    .arg(-1)
                    .query_async(&mut connection),
            )
            .await?;
        // Newest first already (LPUSH); an entry some other tool
        // wrote malformed is skipped.
        Ok(raw
            .iter()
            .filter_map(|json| match serde_json::from_str::<HistoryEntry>(json) {
                Ok(entry) => Some(entry),
                Err(error) => {
                    tracing::warn!(%error, "gate: skipped a malformed history entry in Redis");
                    None
                }
            })
            .filter(|e| key.is_none_or(|k| e.key.is_in_tree(k)))
            .take(limit)
            .collect())
    }

    /// A large allow-list, page by page (each page within the timeout).
    async fn scan_users(&self, key: &SwitchKey, expected: usize) -> Result<Users, Error> {
        let mut connection = self.connection.clone();
        let set = self.keys.users(key);
        let mut users = Users::with_capacity(expected);
        let mut cursor = 0u64;
        loop {
            let (next, page): (u64, Vec<String>) = self
                .call(
                    "read an allow-list",
                    redis::cmd("SSCAN")
                        .arg(&set)
                        .arg(cursor)
                        .arg("COUNT")
                        .arg(SCAN_PAGE)
                        .query_async(&mut connection),
                )
                .await?;
            // Page by page, without a `String` per id kept; SSCAN may
            // return an id twice, the list keeps one.
            users.extend(page.iter().map(String::as_str));
            if next == 0 {
                return Ok(users);
            }
            cursor = next;
        }
    }

    /// One switch as stored: `Some(Err(Error::Unreadable))` if its record,
    /// version or allow-list cannot be read.
    ///
    /// A small allow-list is read with the record in one atomic pipeline;
    /// a large one page by page, and kept only if the switch's version did
    /// not move meanwhile (every write bumps it), so the result is always
    /// one consistent version. Every answer is checked on its own: a
    /// version that is not a number or an allow-list that is not a set
    /// makes this switch unreadable, never the read fail.
    pub(super) async fn fetch(
        &self,
        key: &SwitchKey,
    ) -> Result<Option<Result<Switch, Error>>, Error> {
        let mut connection = self.connection.clone();
        for _ in 0..3 {
            let Some((json, version, card)) = self.read_record(key, Set::Size).await? else {
                return Ok(None);
            };
            let card = card_of(&self.keys.users(key), card);
            let (version, card) = match (version, card) {
                (Ok(version), Ok(card)) => (version, card),
                (Err(reason), _) | (_, Err(reason)) => {
                    return Ok(Some(Err(record::unreadable(key, reason))));
                }
            };
            if card == 0 {
                return Ok(Some(record::parse_raw(
                    key,
                    &json,
                    version,
                    Users::default(),
                )));
            }
            if card <= READ_WHOLE {
                let Some((json, version, users)) = self.read_record(key, Set::Members).await?
                else {
                    return Ok(None);
                };
                let users = members_of(&self.keys.users(key), users);
                return Ok(Some(match (version, users) {
                    (Ok(version), Ok(users)) => record::parse_raw(key, &json, version, users),
                    (Err(reason), _) | (_, Err(reason)) => Err(record::unreadable(key, reason)),
                }));
            }
            let users = self.scan_users(key, card).await?;
            let after: Option<Vec<u8>> = self
                .call(
                    "read a switch",
                    redis::cmd("HGET")
                        .arg(&self.keys.versions)
                        .arg(key.as_str())
                        .query_async(&mut connection),
                )
                .await?;
            if record::version_of(after.as_deref()) == Ok(version) {
                return Ok(Some(record::parse_raw(key, &json, version, users)));
            }
        }
        Err(self.storage_error(
            "read a switch",
            format_args!("the allow-list of {key:?} kept changing while it was read"),
        ))
    }

    /// A switch's record, its version (or why it is unreadable) and the
    /// answer about its allow-list `set` asks for, from one atomic
    /// pipeline; `None` if no record is stored under `key`.
    async fn read_record(&self, key: &SwitchKey, set: Set) -> Result<Option<RecordRead>, Error> {
        let mut connection = self.connection.clone();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .ignore_errors()
            .hget(&self.keys.switches, key.as_str())
            .hget(&self.keys.versions, key.as_str());
        match set {
            Set::Size => pipe.scard(self.keys.users(key)),
            Set::Members => pipe.smembers(self.keys.users(key)),
        };
        let answers: Vec<redis::RedisResult<redis::Value>> = self
            .call("read a switch", pipe.query_async(&mut connection))
            .await?;
        let [json, version, set] = self.answers("read a switch", answers)?;
        let Some(json) = raw_bytes(json).map_err(|e| self.storage_error("read a switch", e))?
        else {
            return Ok(None);
        };
        let version = raw_bytes(version).and_then(|v| record::version_of(v.as_deref()));
        Ok(Some((json, version, set)))
    }

    /// Exactly `N` answers of a pipeline, or an error.
    fn answers<const N: usize>(
        &self,
        what: &str,
        answers: Vec<redis::RedisResult<redis::Value>>,
    ) -> Result<[redis::RedisResult<redis::Value>; N], Error> {
        let count = answers.len();
        answers.try_into().map_err(|_| {
            self.storage_error(
                what,
                format_args!("{count} answers where {N} were expected"),
            )
        })
    }

    /// Every switch as stored (unreadable ones as [`Error::Unreadable`]),
    /// in key order, and the store's epoch marker.
    ///
    /// Every field of every switch is read and checked on its own: a bad
    /// version, record or allow-list skips that switch only.
    ///
    /// `known` gives the replica's copy of a switch: an allow-list whose
    /// version and size are unchanged is taken from it instead of being
    /// read again, so a periodic resync of a million-id list costs one
    /// `SCARD`. Large lists are read page by page. Changes made while this
    /// runs reach the replica through their notifications.
    pub(super) async fn fetch_all(
        &self,
        known: impl Fn(&SwitchKey) -> Option<Arc<Switch>>,
    ) -> Result<FullRead, Error> {
        let mut connection = self.connection.clone();
        type Hash = HashMap<Vec<u8>, Vec<u8>>;
        let (records, versions, epoch): (Hash, Hash, Option<Vec<u8>>) = self
            .call(
                "read the switches",
                redis::pipe()
                    .atomic()
                    .hgetall(&self.keys.switches)
                    .hgetall(&self.keys.versions)
                    .get(&self.keys.epoch)
                    .query_async(&mut connection),
            )
            .await?;
        let epoch = epoch.map(|e| String::from_utf8_lossy(&e).into_owned());
        // Sorted: what follows (signals, the snapshot file) never depends
        // on the order of HGETALL.
        // Each key with its record and version, or why they are unreadable.
        type Entry = (SwitchKey, Result<(Vec<u8>, u64), String>);
        let mut entries: Vec<Entry> = records
            .into_iter()
            .map(|(key, json)| match String::from_utf8(key) {
                Ok(key) => {
                    let version =
                        record::version_of(versions.get(key.as_bytes()).map(Vec::as_slice));
                    (SwitchKey::parse(&key), version.map(|v| (json, v)))
                }
                Err(e) => (
                    SwitchKey::parse(&String::from_utf8_lossy(e.as_bytes())),
                    Err("its key is not UTF-8 text".to_owned()),
                ),
            })
            .collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut cards: Vec<Result<usize, String>> = Vec::with_capacity(entries.len());
        for chunk in entries.chunks(1000) {
            let mut pipe = redis::pipe();
            pipe.ignore_errors();
            for (key, _) in chunk {
                pipe.scard(self.keys.users(key));
            }
            let part: Vec<redis::RedisResult<redis::Value>> = self
                .call("read the allow-lists", pipe.query_async(&mut connection))
                .await?;
            if part.len() != chunk.len() {
                return Err(self.storage_error("read the allow-lists", "missing answers"));
            }
            cards.extend(
                chunk
                    .iter()
                    .zip(part)
                    .map(|((key, _), card)| card_of(&self.keys.users(key), card)),
            );
        }
        let mut users: Vec<Option<Result<Users, String>>> = vec![None; entries.len()];
        // Small lists, many per pipeline; large ones page by page.
        let mut batch: Vec<usize> = Vec::new();
        let mut batch_ids = 0;
        for (i, (key, entry)) in entries.iter().enumerate() {
            let (version, card) = match (entry, &cards[i]) {
                (Ok((_, version)), Ok(card)) => (*version, *card),
                (Err(_), _) => continue,
                (_, Err(reason)) => {
                    users[i] = Some(Err(reason.clone()));
                    continue;
                }
            };
            if card == 0 {
                users[i] = Some(Ok(Users::default()));
            } else if let Some(same) =
                known(key).filter(|s| s.version == version && s.users.len() == card)
            {
                users[i] = Some(Ok(same.users.clone()));
            } else if card > READ_WHOLE {
                users[i] = Some(Ok(self.scan_users(key, card).await?));
            } else {
                batch.push(i);
                batch_ids += card;
                if batch_ids >= READ_WHOLE || batch.len() >= 1000 {
                    self.read_batch(&entries, &mut batch, &mut users).await?;
                    batch_ids = 0;
                }
            }
        }
        self.read_batch(&entries, &mut batch, &mut users).await?;
        let records = entries
            .into_iter()
            .zip(users)
            .map(|((key, entry), users)| {
                let parsed = match (entry, users) {
                    (Ok((json, version)), Some(Ok(users))) => {
                        record::parse_raw(&key, &json, version, users)
                    }
                    (Err(reason), _) | (_, Some(Err(reason))) => {
                        Err(record::unreadable(&key, reason))
                    }
                    (Ok(_), None) => Err(record::unreadable(
                        &key,
                        "its allow-list was not read".into(),
                    )),
                };
                (key, parsed)
            })
            .collect();
        Ok(FullRead { records, epoch })
    }

    /// Reads the allow-lists of `entries[i]` for every `i` in `batch` with
    /// one pipeline, and empties `batch`. One that is not a set makes its
    /// switch unreadable, not the read fail.
    async fn read_batch<T>(
        &self,
        entries: &[(SwitchKey, T)],
        batch: &mut Vec<usize>,
        users: &mut [Option<Result<Users, String>>],
    ) -> Result<(), Error> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut connection = self.connection.clone();
        let mut pipe = redis::pipe();
        pipe.ignore_errors();
        for &i in batch.iter() {
            pipe.smembers(self.keys.users(&entries[i].0));
        }
        let lists: Vec<redis::RedisResult<redis::Value>> = self
            .call("read the allow-lists", pipe.query_async(&mut connection))
            .await?;
        if lists.len() != batch.len() {
            return Err(self.storage_error("read the allow-lists", "missing answers"));
        }
        for (&i, list) in batch.iter().zip(lists) {
            users[i] = Some(members_of(&self.keys.users(&entries[i].0), list));
        }
        batch.clear();
        Ok(())
    }
}

/// A single answer as bytes (`None` for nil); an error reply, or an
/// answer of another type, as its text.
fn raw_bytes(answer: redis::RedisResult<redis::Value>) -> Result<Option<Vec<u8>>, String> {
    match answer {
        Ok(redis::Value::Nil) => Ok(None),
        Ok(redis::Value::BulkString(bytes)) => Ok(Some(bytes)),
        Ok(redis::Value::SimpleString(text)) => Ok(Some(text.into_bytes())),
        Ok(redis::Value::Int(n)) => Ok(Some(n.to_string().into_bytes())),
        Ok(other) => Err(format!("unexpected answer {other:?}")),
        Err(e) => Err(e.to_string()),
    }
}

/// The answer of `SCARD set`: a size, or why the allow-list is unreadable.
fn card_of(set: &str, answer: redis::RedisResult<redis::Value>) -> Result<usize, String> {
    match answer {
        Ok(redis::Value::Int(n)) if n >= 0 => Ok(n as usize),
        Ok(other) => Err(format!("its allow-list {set} answered {other:?}")),
        Err(e) => Err(not_a_set(set, &e)),
    }
}

/// Why an allow-list could not be read as a set.
fn not_a_set(set: &str, error: &redis::RedisError) -> String {
    if error.code() == Some("WRONGTYPE") {
        format!("its allow-list {set} is not a set (another tool wrote another type there)")
    } else {
        format!("its allow-list {set} cannot be read as a set ({error})")
    }
}

/// The answer of `SMEMBERS set`: the ids, or why they are unreadable.
fn members_of(set: &str, answer: redis::RedisResult<redis::Value>) -> Result<Users, String> {
    let value = answer.map_err(|e| not_a_set(set, &e))?;
    let ids: Vec<String> = redis::from_redis_value(value)
        .map_err(|e| format!("its allow-list {set} holds an id that is not text ({e})"))?;
    Ok(ids.into_iter().collect())
}
