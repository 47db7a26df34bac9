//! The commands that change switches: `put`, `restore`, the rollout
//! shortcuts, `allow`/`disallow`, `variants` and `delete`.

use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write as _};

use gate::{Manager, Switch};

use super::view::{rules_summary, variants_summary};
use super::{existing, listed, plural, switches};
use crate::output::Style;
use crate::Failure;

/// `gate create NAME`.
pub(super) async fn create(
    m: &Manager,
    switch: Switch,
    style: Style,
    out: &mut String,
) -> Result<(), Failure> {
    let created = m.register(switch).await?;
    writeln!(
        out,
        "{}: created, {}",
        created.name,
        style.state(created.state)
    )
    .ok();
    Ok(())
}

/// `gate put FILE`: create, replace or repair one switch.
pub(super) async fn put(
    m: &Manager,
    file: &std::path::Path,
    style: Style,
    out: &mut String,
) -> Result<(), Failure> {
    let text = if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| Failure::new(format!("cannot read standard input: {e}")))?;
        text
    } else {
        std::fs::read_to_string(file)
            .map_err(|e| Failure::new(format!("cannot read {}: {e}", file.display())))?
    };
    let switch = Switch::from_json(&text)?;
    let what = if m.unreadable_reason(&switch.name).is_some() {
        "repaired"
    } else if m.switch(&switch.name).is_some() {
        "replaced"
    } else {
        "created"
    };
    let stored = m.repair(switch).await?;
    writeln!(
        out,
        "{}: {what}, {}; rules: {}",
        stored.name,
        style.state(stored.state),
        rules_summary(&stored)
    )
    .ok();
    Ok(())
}

/// `gate restore --from FILE`.
pub(super) async fn restore(
    m: &Manager,
    from: &std::path::Path,
    out: &mut String,
) -> Result<(), Failure> {
    let done = m.restore_from(from).await?;
    writeln!(
        out,
        "restored {}{}",
        switches(done.created.len()),
        listed(&done.created)
    )
    .ok();
    if !done.kept.is_empty() {
        writeln!(
            out,
            "kept {} the store holds already{}",
            switches(done.kept.len()),
            listed(&done.kept)
        )
        .ok();
    }
    for (key, reason) in &done.invalid {
        writeln!(out, "skipped {key}: {reason}").ok();
    }
    Ok(())
}

/// Runs a rollout shortcut and reports the switch's state afterwards.
pub(super) async fn shortcut(
    m: &Manager,
    name: &str,
    style: Style,
    out: &mut String,
    write: impl std::future::Future<Output = Result<Switch, gate::Error>>,
) -> Result<(), Failure> {
    let existed = m.switch(name).is_some();
    let switch = write.await?;
    let created = if existed { "" } else { "created, " };
    writeln!(
        out,
        "{}: {created}{}; rules: {}",
        switch.name,
        style.state(switch.state),
        rules_summary(&switch)
    )
    .ok();
    Ok(())
}

pub(super) async fn allow(
    m: &Manager,
    name: &str,
    ids: &[String],
    add: bool,
    out: &mut String,
) -> Result<(), Failure> {
    if !add {
        existing(m, name)?;
    }
    if ids.iter().any(String::is_empty) {
        return Err(Failure::new("an id must not be empty"));
    }
    // One write and one audit entry for all the ids.
    let last = if ids.is_empty() {
        None
    } else if add {
        Some(m.allow_all(name, ids).await?)
    } else {
        Some(m.disallow_all(name, ids).await?)
    };
    if let Some(switch) = last {
        let verb = if add { "allowed" } else { "disallowed" };
        writeln!(
            out,
            "{}: {verb} {}; {} in its allow-list",
            switch.name,
            ids.join(", "),
            plural(switch.users.len(), "id")
        )
        .ok();
    }
    Ok(())
}

pub(super) async fn set_variants(
    m: &Manager,
    name: &str,
    names: Vec<String>,
    weights: Option<Vec<u32>>,
    clear: bool,
    out: &mut String,
) -> Result<(), Failure> {
    if let Some(w) = &weights {
        if w.len() != names.len() {
            return Err(Failure::new(format!(
                "--weights gives {} but there {} {}: give one weight per variant",
                plural(w.len(), "weight"),
                if names.len() == 1 { "is" } else { "are" },
                plural(names.len(), "variant")
            )));
        }
    }
    if let Some(empty) = names.iter().position(String::is_empty) {
        return Err(Failure::new(format!("variant {empty} has an empty name")));
    }
    let template = match (clear, weights) {
        (true, _) => Switch::new(name),
        (false, Some(w)) => Switch::new(name).weighted_variants(names.into_iter().zip(w)),
        (false, None) => Switch::new(name).variants(names),
    };
    template.validate()?;
    existing(m, name)?;
    let variants = template.variants;
    let switch = m
        .modify(name, move |s| s.variants = variants.clone())
        .await?;
    if switch.variants.is_empty() {
        writeln!(out, "{}: no variants", switch.name).ok();
    } else {
        writeln!(out, "{}: {}", switch.name, variants_summary(&switch)).ok();
    }
    Ok(())
}

pub(super) async fn delete(
    m: &Manager,
    name: &str,
    yes: bool,
    out: &mut String,
) -> Result<(), Failure> {
    // A record that cannot be read can be deleted.
    if m.unreadable_reason(name).is_none() {
        existing(m, name)?;
    }
    let prefix = format!("{name}:");
    let descendants: Vec<String> = m
        .switches()
        .into_iter()
        .filter(|s| s.name.starts_with(&prefix))
        .map(|s| s.name)
        .collect();
    if !descendants.is_empty() && !yes {
        let what = format!(
            "deleting {name} also deletes its {} ({})",
            plural(descendants.len(), "descendant"),
            descendants.join(", ")
        );
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return Err(Failure::new(format!(
                "{what}; nothing deleted: pass --yes to confirm"
            )));
        }
        let mut stderr = std::io::stderr();
        write!(stderr, "{what}. Delete them all? [y/N] ").ok();
        stderr.flush().ok();
        let mut answer = String::new();
        stdin.lock().read_line(&mut answer).ok();
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            return Err(Failure::new("not confirmed; nothing deleted"));
        }
    }
    let removed = m.unregister(name).await?;
    let mut names: Vec<String> = removed.into_iter().map(|s| s.name).collect();
    names.sort();
    writeln!(out, "deleted {}", names.join(", ")).ok();
    Ok(())
}
