//! The audit trail: `gate history`, and `gate outcome` (what became of a
//! write whose outcome was unknown, found by its operation id).

use std::fmt::Write as _;

use gate::history::{Action, HistoryEntry};
use gate::Manager;

use super::diff;
use super::pretty;
use crate::output::{table, utc, Cell, Colour, Style};
use crate::Failure;

/// `gate outcome ID`: what became of a write whose outcome was unknown.
pub(super) async fn outcome(m: &Manager, id: &str, out: &mut String) -> Result<(), Failure> {
    let answer = match m.write_outcome(id).await? {
        gate::storage::WriteOutcome::Applied => {
            format!("{id}: applied (`gate history` shows the change)")
        }
        gate::storage::WriteOutcome::NotApplied => {
            format!("{id}: not applied, and now never will be: run the command again")
        }
        _ => format!(
            "{id}: no record of this write: not an operation id of this store, or older than an hour (see `gate history --json`, whose entries name their \"op\")"
        ),
    };
    writeln!(out, "{answer}").ok();
    Ok(())
}

pub(super) async fn history(
    m: &Manager,
    name: Option<&str>,
    limit: usize,
    json: bool,
    style: Style,
    out: &mut String,
) -> Result<(), Failure> {
    let entries = m.history(name, limit).await?;
    if json {
        writeln!(out, "{}", pretty(&entries)).ok();
        return Ok(());
    }
    if entries.is_empty() {
        writeln!(out, "no history").ok();
        return Ok(());
    }
    let rows: Vec<Vec<Cell>> = entries
        .iter()
        .map(|e| {
            vec![
                (utc(e.at), Some(Colour::Dim)),
                (e.actor.clone(), None),
                (action(e).to_owned(), None),
                (e.key.to_string(), None),
                (changes_summary(e), None),
            ]
        })
        .collect();
    out.push_str(&table(
        style,
        &["WHEN (UTC)", "ACTOR", "ACTION", "SWITCH", "CHANGES"],
        &rows,
    ));
    Ok(())
}

fn action(e: &HistoryEntry) -> &'static str {
    match e.action {
        Action::Registered => "created",
        Action::Updated => "updated",
        Action::Unregistered => "deleted",
        Action::Allowed => "allowed",
        Action::Disallowed => "disallowed",
        _ => "changed",
    }
}

/// What an entry changed, `; `-separated (`-` for nothing): for a switch
/// created, what differs from a new switch.
fn changes_summary(e: &HistoryEntry) -> String {
    let parts = diff::parts(&e.changes, e.action == Action::Registered, 40);
    if parts.is_empty() {
        "-".to_owned()
    } else {
        parts.join("; ")
    }
}
