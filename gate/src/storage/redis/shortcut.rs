//! A rollout shortcut (enable, toggle, percentage, condition, allow,
//! disallow) as one script run, which never conflicts; a record not in the
//! form gate writes falls back to read-modify-write.

use super::scripts::{ShortcutReply, UsersBack};
use super::{record, RedisStorage};
use crate::error::Error;
use crate::history::{Action, HistoryEntry, LISTED_IDS};
use crate::key::SwitchKey;
use crate::storage::{shortcut, AppliedShortcut, Shortcut, ShortcutRequest};
use crate::switch::Switch;

/// A shortcut sends the allow-list back (for the caller's replica) up to
/// this size; the guard keeps that answer with the operation's record for
/// an hour, so it stays small. A larger list reaches the replica through
/// the change notification.
const SHORTCUT_USERS_BACK: usize = 10_000;

impl RedisStorage {
    /// Applies a shortcut to the switch as stored
    /// ([`Storage::apply_shortcut`](crate::storage::Storage::apply_shortcut)).
    pub(super) async fn shortcut(
        &self,
        request: ShortcutRequest<'_>,
    ) -> Result<AppliedShortcut, Error> {
        let ShortcutRequest {
            key,
            actor,
            shortcut,
            known,
            ..
        } = request;
        match self.shortcut_script(key, actor, shortcut, known).await? {
            Some(applied) => Ok(applied),
            None => shortcut::read_modify_write(self, &request)
                .await
                .map(AppliedShortcut::exact),
        }
    }

    /// A shortcut as one script run; `None` if the record is not in the
    /// form gate writes (the caller then reads, changes and updates it).
    async fn shortcut_script(
        &self,
        key: &SwitchKey,
        actor: &str,
        shortcut: &Shortcut,
        known: Option<&Switch>,
    ) -> Result<Option<AppliedShortcut>, Error> {
        let name = key.name();
        let (op, operand) = match shortcut {
            Shortcut::State(state) => ("state", state.to_string()),
            Shortcut::Toggle => ("toggle", String::new()),
            Shortcut::Percentage(p) => (
                "percent",
                serde_json::to_string(&Shortcut::percentage_condition(*p)).unwrap_or_default(),
            ),
            Shortcut::AddCondition(c) => {
                ("condition", serde_json::to_string(c).unwrap_or_default())
            }
            Shortcut::Allow(_) => ("allow", String::new()),
            Shortcut::Disallow(_) => ("disallow", String::new()),
        };
        let (ids, add) = shortcut.ids().unwrap_or((&[], true));
        let start = format!(
            r#"{{"name":{},"state":""#,
            serde_json::to_string(name).unwrap_or_default()
        );
        let mut created = shortcut.created(name);
        created.version = 1;
        let created_entry = HistoryEntry::registered(actor, key, &created);
        // The script adds the version and what changed.
        let action = match shortcut.ids() {
            Some(_) if add => Action::Allowed,
            Some(_) => Action::Disallowed,
            None => Action::Updated,
        };
        let write_op = self.op(
            match action {
                Action::Allowed => "allow",
                Action::Disallowed => "disallow",
                _ => "shortcut",
            },
            name,
        );
        let mut created_entry = created_entry;
        created_entry.op = Some(write_op.id.clone());
        let mut entry = HistoryEntry::new(actor, key, action);
        entry.op = Some(write_op.id.clone());
        let mut entry = entry.to_json();
        entry.pop();
        let mut invocation =
            self.switch_invocation(&self.scripts.shortcut, &write_op, "hash hash set list", key);
        invocation
            .arg(&self.keys.channel)
            .arg(op)
            .arg(operand)
            .arg(start)
            .arg(record::to_json(&created))
            .arg(created_entry.to_json())
            .arg(entry)
            .arg(self.history_capacity)
            .arg(LISTED_IDS)
            .arg(known.map_or_else(String::new, |k| k.version.to_string()))
            .arg(SHORTCUT_USERS_BACK)
            .arg(ids);
        let (before, version, json, users) = match self
            .write(&write_op, "apply a shortcut", &invocation)
            .await?
        {
            // Created: the record is the one sent.
            ShortcutReply::Created { version } => {
                created.version = version;
                return Ok(Some(AppliedShortcut::exact(created)));
            }
            ShortcutReply::Applied {
                before,
                version,
                record,
                users,
            } => (before, version, record, users),
            ShortcutReply::Fallback => return Ok(None),
        };
        // The caller's copy, if the write changed that very version: the
        // same change applied to it here gives the record written (checked
        // on its JSON), without parsing it.
        let same_copy = known.filter(|k| k.version == before).and_then(|k| {
            let mut next = k.clone();
            shortcut.apply(&mut next);
            (record::to_json(&next) == json).then_some(next)
        });
        // The caller's copy with this change applied to its allow-list.
        let changed_copy = || {
            let mut users = known.map(|k| k.users.clone()).unwrap_or_default();
            for id in ids {
                if add {
                    users.insert(id.as_str());
                } else {
                    users.remove(id);
                }
            }
            users
        };
        let (users, exact) = match users {
            UsersBack::Unchanged => (changed_copy(), true),
            UsersBack::Whole(users) => (users.into_iter().collect(), true),
            UsersBack::OverLimit => (changed_copy(), false),
        };
        if let Some(mut switch) = same_copy {
            switch.version = version;
            switch.users = users;
            return Ok(Some(AppliedShortcut { switch, exact }));
        }
        let switch = record::parse_reusing(key, &json, version, users, known).map_err(|e| {
            self.storage_error_from(
                "apply a shortcut",
                format_args!(
                    "the change was written, but the stored record of {key:?} cannot be read: {e}"
                ),
                e.clone(),
            )
        })?;
        Ok(Some(AppliedShortcut { switch, exact }))
    }
}
