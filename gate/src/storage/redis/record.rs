//! A switch as stored: its record (the switch's JSON without its version
//! and allow-list, which have keys of their own), and the way back from
//! what Redis holds to a [`Switch`], or to the reason it cannot be read.

use std::collections::HashMap;

use crate::error::Error;
use crate::key::SwitchKey;
use crate::switch::{Switch, Users};

/// The record stored for `switch`: its JSON, without allow-list and
/// version.
pub(super) fn to_json(switch: &Switch) -> String {
    let mut stored = switch.clone();
    stored.users = Users::default();
    stored.version = 0;
    stored.to_json()
}

/// The record stored under `key`, with its `version` and allow-list.
pub(super) fn parse(
    key: &SwitchKey,
    json: &str,
    version: u64,
    users: Users,
) -> Result<Switch, Error> {
    completed(key, Switch::from_json(json)?, version, users)
}

/// A parsed record, checked to be named as its key says, with its
/// `version` and allow-list.
fn completed(
    key: &SwitchKey,
    mut switch: Switch,
    version: u64,
    users: Users,
) -> Result<Switch, Error> {
    if switch.name != key.name() {
        return Err(Error::InvalidJson {
            what: format!("switch {key:?}"),
            reason: format!("the record is named {:?}", switch.name),
        });
    }
    switch.version = version;
    switch.users = users;
    Ok(switch)
}

/// [`parse`], taking every condition equal to one of
/// `reference`'s (the caller's copy) from it instead of building it
/// again: a shortcut's answer does not recompile the regexes of a
/// switch the caller already has.
pub(super) fn parse_reusing(
    key: &SwitchKey,
    json: &str,
    version: u64,
    users: Users,
    reference: Option<&Switch>,
) -> Result<Switch, Error> {
    use serde_json::Value as Json;
    let Some(reference) = reference.filter(|r| !r.conditions.is_empty()) else {
        return parse(key, json, version, users);
    };
    let invalid = |e: serde_json::Error| Error::InvalidJson {
        what: format!("switch {key:?}"),
        reason: e.to_string(),
    };
    let mut value: Json = serde_json::from_str(json).map_err(invalid)?;
    let raw = match value.get_mut("conditions") {
        Some(Json::Array(raw)) => std::mem::take(raw),
        _ => return parse(key, json, version, users),
    };
    // Keyed by their JSON text as values (object keys sorted).
    let known: HashMap<String, &crate::condition::Condition> = reference
        .conditions
        .iter()
        .filter_map(|c| serde_json::to_value(c).ok().map(|v| (v.to_string(), c)))
        .collect();
    let mut conditions = Vec::with_capacity(raw.len());
    for condition in raw {
        conditions.push(match known.get(&condition.to_string()) {
            Some(same) => (*same).clone(),
            None => serde_json::from_value(condition).map_err(invalid)?,
        });
    }
    let mut switch: Switch = serde_json::from_value(value).map_err(invalid)?;
    switch.conditions = conditions;
    switch.validate()?;
    completed(key, switch, version, users)
}

/// A record read as bytes: checked to be UTF-8, then parsed.
pub(super) fn parse_raw(
    key: &SwitchKey,
    json: &[u8],
    version: u64,
    users: Users,
) -> Result<Switch, Error> {
    let json = std::str::from_utf8(json)
        .map_err(|_| unreadable(key, "its record is not UTF-8 text".to_owned()))?;
    parse(key, json, version, users).map_err(|e| {
        let reason = match e {
            Error::InvalidJson { reason, .. } => reason,
            other => other.to_string(),
        };
        unreadable(
            key,
            format!("its record {} is invalid: {reason}", excerpt(json)),
        )
    })
}

/// The error of a record that cannot be read.
pub(super) fn unreadable(key: &SwitchKey, reason: String) -> Error {
    Error::Unreadable {
        key: key.to_string(),
        reason,
    }
}

/// At most 120 characters of a stored text, quoted, for messages.
fn excerpt(text: &str) -> String {
    const MAX: usize = 120;
    if text.chars().count() <= MAX {
        return format!("{text:?}");
    }
    let cut: String = text.chars().take(MAX).collect();
    format!("{cut:?}…")
}

/// A stored version: none is 0; anything but a whole number is a reason.
pub(super) fn version_of(raw: Option<&[u8]>) -> Result<u64, String> {
    let Some(raw) = raw else { return Ok(0) };
    std::str::from_utf8(raw)
        .ok()
        .and_then(|text| text.parse::<u64>().ok())
        .ok_or_else(|| {
            format!(
                "its version is {}, not a whole number",
                excerpt(&String::from_utf8_lossy(raw))
            )
        })
}
