//! `gate import`: validate every switch of a file first, then write them
//! all ([`apply_import`]) or show what would change (`--dry-run`).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::Read as _;
use std::path::Path;

use gate::{BatchWrite, Change, Manager, Switch};
use serde_json::Value as Json;

use crate::output::{truncate, Colour, Style};
use crate::Failure;

/// What importing one switch does.
#[derive(Debug)]
pub(crate) enum Step {
    /// The switch does not exist: register it.
    Create(Switch),
    /// The switch exists and differs: update it from `version`.
    Change {
        /// The switch as imported, with the version it was read at.
        switch: Switch,
        /// The field-level changes (the allow-list is in `added` /
        /// `removed`).
        changes: BTreeMap<String, Change>,
        /// Ids the import adds to the allow-list.
        added: Vec<String>,
        /// Ids the import removes from the allow-list.
        removed: Vec<String>,
    },
    /// The switch exists as imported.
    Unchanged(String),
}

pub(crate) async fn run(
    m: &Manager,
    file: &Path,
    dry_run: bool,
    style: Style,
    out: &mut String,
) -> Result<(), Failure> {
    let text = read(file)?;
    let switches = parse(&text, file)?;
    let steps = plan(m, switches);
    show(&steps, style, out);
    let (create, change, same) = counts(&steps);
    if dry_run {
        writeln!(
            out,
            "dry run: {create} to create, {change} to change, {same} unchanged; nothing written"
        )
        .ok();
        return Ok(());
    }
    apply_import(m, &steps).await?;
    writeln!(
        out,
        "imported: {create} created, {change} changed, {same} unchanged"
    )
    .ok();
    Ok(())
}

fn read(file: &Path) -> Result<String, Failure> {
    if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::new(format!("cannot read standard input: {e}")))?;
        return Ok(text);
    }
    std::fs::read_to_string(file)
        .map_err(|e| Failure::new(format!("cannot read {}: {e}", file.display())))
}

/// Every switch of the file, each validated; all problems at once.
///
/// # Errors
///
/// Malformed JSON, something else than an array of switches, or one
/// message listing every invalid or repeated switch.
pub(crate) fn parse(text: &str, file: &Path) -> Result<Vec<Switch>, Failure> {
    let shown = file.display();
    let json: Json = serde_json::from_str(text)
        .map_err(|e| Failure::new(format!("{shown} is not valid JSON: {e}; nothing imported")))?;
    let Json::Array(items) = json else {
        return Err(Failure::new(format!(
            "{shown} must hold a JSON array of switches (as `gate export` writes); nothing imported"
        )));
    };
    let mut switches = Vec::with_capacity(items.len());
    let mut problems: Vec<String> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, item) in items.into_iter().enumerate() {
        let label = match item.get("name").and_then(Json::as_str) {
            Some(name) => format!("switch {i} ({name:?})"),
            None => format!("switch {i}"),
        };
        let parsed = serde_json::from_value::<Switch>(item)
            .map_err(|e| e.to_string())
            .and_then(|s| s.validate().map(|()| s).map_err(|e| e.to_string()));
        match parsed {
            Ok(mut switch) => {
                if let Some(first) = seen.insert(switch.name.clone(), i) {
                    problems.push(format!("{label}: repeats switch {first}"));
                }
                switch.version = 0;
                switches.push(switch);
            }
            Err(e) => problems.push(format!("{label}: {e}")),
        }
    }
    if problems.is_empty() {
        Ok(switches)
    } else {
        Err(Failure::new(format!(
            "{shown}: {} invalid; nothing imported:\n  {}",
            if problems.len() == 1 {
                "1 switch is".to_owned()
            } else {
                format!("{} switches are", problems.len())
            },
            problems.join("\n  ")
        )))
    }
}

/// What importing `switches` does to each, compared with the store.
pub(crate) fn plan(m: &Manager, switches: Vec<Switch>) -> Vec<Step> {
    switches
        .into_iter()
        .map(|mut switch| {
            let Some(current) = m.switch(&switch.name) else {
                return Step::Create(switch);
            };
            switch.version = current.version;
            if switch == current {
                return Step::Unchanged(switch.name);
            }
            let mut added: Vec<String> = switch
                .users
                .iter()
                .filter(|id| !current.users.contains(id))
                .map(str::to_owned)
                .collect();
            let mut removed: Vec<String> = current
                .users
                .iter()
                .filter(|id| !switch.users.contains(id))
                .map(str::to_owned)
                .collect();
            added.sort();
            removed.sort();
            let (mut a, mut b) = (switch.clone(), current);
            a.users = gate::Users::default();
            b.users = gate::Users::default();
            Step::Change {
                changes: a.changes_from(&b),
                switch,
                added,
                removed,
            }
        })
        .collect()
}

fn counts(steps: &[Step]) -> (usize, usize, usize) {
    let mut counts = (0, 0, 0);
    for step in steps {
        match step {
            Step::Create(_) => counts.0 += 1,
            Step::Change { .. } => counts.1 += 1,
            Step::Unchanged(_) => counts.2 += 1,
        }
    }
    counts
}

/// The plan, one switch a line, with the field-level changes below.
fn show(steps: &[Step], style: Style, out: &mut String) {
    for step in steps {
        match step {
            Step::Create(s) => {
                writeln!(
                    out,
                    "{}  {}",
                    style.paint(Colour::Green, "create   "),
                    s.name
                )
                .ok();
            }
            Step::Change {
                switch,
                changes,
                added,
                removed,
            } => {
                writeln!(
                    out,
                    "{}  {}",
                    style.paint(Colour::Yellow, "change   "),
                    switch.name
                )
                .ok();
                for (field, change) in changes {
                    writeln!(
                        out,
                        "             {field}: {} → {}",
                        truncate(&change.previous.to_string(), 60),
                        truncate(&change.current.to_string(), 60)
                    )
                    .ok();
                }
                if !added.is_empty() {
                    writeln!(
                        out,
                        "             users: +{}",
                        truncate(&added.join(", "), 60)
                    )
                    .ok();
                }
                if !removed.is_empty() {
                    writeln!(
                        out,
                        "             users: -{}",
                        truncate(&removed.join(", "), 60)
                    )
                    .ok();
                }
            }
            Step::Unchanged(name) => {
                writeln!(out, "{}  {name}", style.paint(Colour::Dim, "unchanged")).ok();
            }
        }
    }
}

/// Writes the plan in one atomic batch ([`Manager::write_all`]): registers
/// the new switches and updates the changed ones, each from the version it
/// was compared with. If any write cannot apply (a switch created or
/// changed by someone else meanwhile, Redis unreachable), nothing is
/// written.
///
/// # Errors
///
/// The storage's error, naming the switch: "nothing was written" (exit
/// status 1), or, if Redis did not answer the write, "outcome unknown"
/// with the operation id to check (exit status 3).
pub(crate) async fn apply_import(m: &Manager, steps: &[Step]) -> Result<(), Failure> {
    let writes: Vec<BatchWrite> = steps
        .iter()
        .filter_map(|step| match step {
            Step::Create(switch) => Some(BatchWrite::Create(switch.clone())),
            Step::Change { switch, .. } => Some(BatchWrite::Update(switch.clone())),
            Step::Unchanged(_) => None,
        })
        .collect();
    m.write_all(writes).await.map(drop).map_err(import_failure)
}

/// What a failed import says: whether anything was written.
fn import_failure(e: gate::Error) -> Failure {
    match e {
        gate::Error::OutcomeUnknown { .. } => Failure::unknown(format!(
            "import outcome unknown: every switch of the file or none was written, and which one is not known yet: {}",
            crate::outcome_unknown(&e)
        )),
        e => {
            let message = e.to_string();
            if message.contains("nothing was written") {
                Failure::new(format!("import failed: {message}"))
            } else {
                Failure::new(format!("import failed: {message}; nothing was written"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_import_says_whether_anything_was_written() {
        let unknown = import_failure(gate::Error::OutcomeUnknown {
            name: "big".into(),
            operation: "batch".into(),
            id: "19a-0123".into(),
            reason: "Redis at redis://127.0.0.1:6379/0 did not answer within 1s".into(),
        });
        assert_eq!(unknown.status(), crate::OUTCOME_UNKNOWN);
        let message = unknown.to_string();
        assert!(message.starts_with("import outcome unknown: "), "{message}");
        assert!(
            message.contains("may or may not have been applied"),
            "{message}"
        );
        assert!(message.contains("gate outcome 19a-0123"), "{message}");
        assert!(!message.contains("nothing was written"), "{message}");

        let refused = import_failure(gate::Error::storage_msg(
            "Redis at redis://127.0.0.1:6379/0 failed to write a batch: connection refused; nothing was written",
        ));
        assert_eq!(refused.status(), 1);
        let message = refused.to_string();
        assert_eq!(
            message.matches("nothing was written").count(),
            1,
            "{message}"
        );

        let conflict = import_failure(gate::Error::AlreadyExists { name: "a".into() });
        assert_eq!(conflict.status(), 1);
        assert!(conflict.to_string().ends_with("; nothing was written"));
    }
}
