//! `gate import`: every switch of a file read and checked first (the
//! core's [`gate::import::read`], all problems at once), then the plan
//! shown ([`Manager::plan_import`]) and written in one atomic batch
//! ([`Manager::import`]), or, with `--dry-run`, only shown.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::Path;

use gate::import::{Planned, Problem};
use gate::{Manager, Switch};
use serde_json::Value as Json;

use super::diff;
use crate::output::{Colour, Style};
use crate::Failure;

pub(super) async fn run(
    m: &Manager,
    file: &Path,
    dry_run: bool,
    style: Style,
    out: &mut String,
) -> Result<(), Failure> {
    let text = read(file)?;
    let switches = parse(&text, file)?;
    let plan = m.plan_import(&switches)?;
    show(&plan, style, out);
    let (create, change, same) = counts(&plan);
    if dry_run {
        writeln!(
            out,
            "dry run: {create} to create, {change} to change, {same} unchanged; nothing written"
        )
        .ok();
        return Ok(());
    }
    // The same plan: nothing runs between planning and this call.
    m.import(switches).await.map_err(import_failure)?;
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

/// Every switch of the file, each checked; all problems at once.
///
/// # Errors
///
/// Malformed JSON, something else than an array of switches, or one
/// message listing every invalid or repeated switch.
fn parse(text: &str, file: &Path) -> Result<Vec<Switch>, Failure> {
    let shown = file.display();
    let json: Json = serde_json::from_str(text)
        .map_err(|e| Failure::new(format!("{shown} is not valid JSON: {e}; nothing imported")))?;
    let Json::Array(items) = json else {
        return Err(Failure::new(format!(
            "{shown} must hold a JSON array of switches (as `gate export` writes); nothing imported"
        )));
    };
    gate::import::read(items).map_err(|problems| {
        let lines: Vec<String> = problems.iter().map(problem).collect();
        Failure::new(format!(
            "{shown}: {} invalid; nothing imported:\n  {}",
            if lines.len() == 1 {
                "1 switch is".to_owned()
            } else {
                format!("{} switches are", lines.len())
            },
            lines.join("\n  ")
        ))
    })
}

/// `switch 4 ("good"): repeats switch 0`, `switch 2: invalid label: …`.
fn problem(p: &Problem) -> String {
    let label = match &p.name {
        Some(name) => format!("switch {} ({name:?})", p.position),
        None => format!("switch {}", p.position),
    };
    match &p.error {
        gate::Error::DuplicateName { first, .. } => format!("{label}: repeats switch {first}"),
        gate::Error::InvalidJson { reason, .. } => format!("{label}: {reason}"),
        e => format!("{label}: {e}"),
    }
}

/// How many switches are created, changed and left as they are.
fn counts(plan: &[Planned]) -> (usize, usize, usize) {
    let mut counts = (0, 0, 0);
    for step in plan {
        match step {
            Planned::Create { .. } => counts.0 += 1,
            Planned::Update { .. } => counts.1 += 1,
            _ => counts.2 += 1,
        }
    }
    counts
}

/// The plan, one switch a line, with the field-level changes below.
fn show(plan: &[Planned], style: Style, out: &mut String) {
    for step in plan {
        let (colour, verb) = match step {
            Planned::Create { .. } => (Colour::Green, "create   "),
            Planned::Update { .. } => (Colour::Yellow, "change   "),
            _ => (Colour::Dim, "unchanged"),
        };
        writeln!(out, "{}  {}", style.paint(colour, verb), step.name()).ok();
        if let Planned::Update { changes, .. } = step {
            for part in diff::parts(changes, false, 60) {
                writeln!(out, "             {part}").ok();
            }
        }
    }
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
