//! What each subcommand does. Every command writes what it prints into
//! `out` (standard output); errors are returned.

use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write as _};

use gate::history::HistoryEntry;
use gate::{Arguments, Change, Condition, JsonInput, Manager, Operator, State, Switch};
use serde_json::Value as Json;

use crate::cli::{Cli, Command, ConditionCommand};
use crate::output::{table, truncate, utc, Cell, Colour, Style};
use crate::{import, store, Failure};

/// Runs the command line, writing standard output into `out`.
pub(crate) async fn run(cli: Cli, style: Style, out: &mut String) -> Result<(), Failure> {
    let manager = store::open(&cli.global).await?;
    let m = &manager;
    match cli.command {
        Command::List { json } => list(m, json, style, out),
        Command::Show { name } => {
            let switch = existing(m, &name)?;
            writeln!(out, "{}", pretty(&switch)).ok();
            Ok(())
        }
        Command::Put { file } => put(m, &file, style, out).await,
        Command::Restore { from, as_is } => match from {
            Some(from) if !as_is => restore(m, &from, out).await,
            _ => {
                m.mark_restored().await?;
                writeln!(
                    out,
                    "the store is marked restored as it is: the nodes follow it"
                )
                .ok();
                Ok(())
            }
        },
        Command::Create {
            name,
            label,
            description,
            compounded,
            no_concent,
            salt,
        } => {
            let mut switch = Switch::new(name)
                .compounded(compounded)
                .concent(!no_concent);
            switch.label = label;
            switch.description = description;
            switch.salt = salt;
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
        Command::Enable { name } => shortcut(m, &name, style, out, m.enable(&name)).await,
        Command::Disable { name } => shortcut(m, &name, style, out, m.disable(&name)).await,
        Command::Toggle { name } => shortcut(m, &name, style, out, m.toggle(&name)).await,
        Command::Global { name } => shortcut(m, &name, style, out, m.enable_for_all(&name)).await,
        Command::Percentage { name, percentage } => {
            shortcut(m, &name, style, out, m.set_percentage(&name, percentage)).await
        }
        Command::Allow { name, ids } => allow(m, &name, &ids, true, out).await,
        Command::Disallow { name, ids } => allow(m, &name, &ids, false, out).await,
        Command::AllowMatching { name, regex } => {
            shortcut(m, &name, style, out, m.allow_matching(&name, &regex)).await
        }
        Command::Condition(command) => condition(m, command, out).await,
        Command::Variants {
            name,
            variants,
            weights,
            clear,
        } => set_variants(m, &name, variants, weights, clear, out).await,
        Command::Delete { name, yes } => delete(m, &name, yes, out).await,
        Command::Check {
            name,
            ids,
            inputs,
            json,
        } => check(m, &name, &ids, &inputs, json, style, out),
        Command::Export => {
            let switches = export_form(m.switches());
            writeln!(out, "{}", pretty(&switches)).ok();
            Ok(())
        }
        Command::Import { file, dry_run } => import::run(m, &file, dry_run, style, out).await,
        Command::Outcome { id } => outcome(m, &id, out).await,
        Command::History { name, limit, json } => {
            history(m, name.as_deref(), limit, json, style, out).await
        }
    }
}

/// Pretty JSON of a serializable value.
pub(crate) fn pretty(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// The switches as `export` prints them: without their storage version,
/// which belongs to the store they came from.
fn export_form(switches: Vec<Switch>) -> Vec<Json> {
    switches
        .into_iter()
        .map(|s| {
            let mut json = serde_json::to_value(&s).unwrap_or_default();
            if let Json::Object(map) = &mut json {
                map.remove("version");
            }
            json
        })
        .collect()
}

/// The switch `name`, or an error naming it (and saying why, if it is
/// stored but cannot be read).
fn existing(m: &Manager, name: &str) -> Result<Switch, Failure> {
    if let Some(reason) = m.unreadable_reason(name) {
        return Err(Failure::new(format!(
            "switch {name:?} is stored but cannot be read: {reason}; repair it with `gate put FILE` (a switch as JSON) or remove it with `gate delete {name}`"
        )));
    }
    m.switch(name).ok_or_else(|| not_found(m, name))
}

/// `gate put FILE`: create, replace or repair one switch.
async fn put(
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
async fn restore(m: &Manager, from: &std::path::Path, out: &mut String) -> Result<(), Failure> {
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

/// `1 switch`, `2 switches`.
fn switches(n: usize) -> String {
    if n == 1 {
        "1 switch".to_owned()
    } else {
        format!("{n} switches")
    }
}

/// `: a, b, c` (or nothing for none).
fn listed(keys: &[String]) -> String {
    if keys.is_empty() {
        String::new()
    } else {
        format!(": {}", keys.join(", "))
    }
}

fn not_found(m: &Manager, name: &str) -> Failure {
    let place = if m.namespace().is_empty() {
        String::new()
    } else {
        format!(" in namespace {:?}", m.namespace())
    };
    Failure::new(format!(
        "no switch named {name:?}{place} (`gate list` shows the switches)"
    ))
}

/// `variants: a, b` (equal weights) or `variants: a 90, b 10`.
fn variants_summary(s: &Switch) -> String {
    let equal = s.variants.iter().all(|v| v.weight == s.variants[0].weight);
    let names: Vec<String> = s
        .variants
        .iter()
        .map(|v| {
            if equal {
                v.name.clone()
            } else {
                format!("{} {}", v.name, v.weight)
            }
        })
        .collect();
    format!("variants: {}", names.join(", "))
}

/// A one-line summary of a switch's rules: allow-list, conditions,
/// variants, flags.
pub(crate) fn rules_summary(s: &Switch) -> String {
    let mut parts: Vec<String> = Vec::new();
    if !s.users.is_empty() {
        let mut ids: Vec<&str> = s.users.iter().collect();
        ids.sort_unstable();
        if ids.len() <= 3 {
            parts.push(format!("users: {}", ids.join(", ")));
        } else {
            parts.push(format!("{} users", ids.len()));
        }
    }
    if !s.conditions.is_empty() {
        let conditions: Vec<String> = s.conditions.iter().map(ToString::to_string).collect();
        let joiner = if s.compounded { " and " } else { " or " };
        parts.push(conditions.join(joiner));
    }
    if !s.variants.is_empty() {
        parts.push(variants_summary(s));
    }
    if !s.concent {
        parts.push("ignores its parent".to_owned());
    }
    if s.salt.is_some() {
        parts.push("salted".to_owned());
    }
    if parts.is_empty() {
        "-".to_owned()
    } else {
        parts.join("; ")
    }
}

fn list(m: &Manager, json: bool, style: Style, out: &mut String) -> Result<(), Failure> {
    let switches = m.switches();
    let unreadable = m.unreadable();
    if json {
        writeln!(out, "{}", pretty(&switches)).ok();
        for record in &unreadable {
            eprintln!(
                "warning: switch {:?} is stored but cannot be read: {}",
                record.key, record.error
            );
        }
        return Ok(());
    }
    if !unreadable.is_empty() {
        let rows: Vec<Vec<Cell>> = unreadable
            .iter()
            .map(|r| {
                let name = r.key.strip_prefix(&format!("{}.", m.namespace()));
                vec![
                    (name.unwrap_or(&r.key).to_owned(), None),
                    ("unreadable".to_owned(), Some(Colour::Red)),
                    (r.error.clone(), None),
                ]
            })
            .collect();
        let head = match unreadable.len() {
            1 => "1 switch is".to_owned(),
            n => format!("{n} switches are"),
        };
        writeln!(
            out,
            "{head} stored but cannot be read (not served; repair with `gate put`, or `gate delete`):"
        )
        .ok();
        out.push_str(&table(style, &["NAME", "STATE", "PROBLEM"], &rows));
        writeln!(out).ok();
    }
    if switches.is_empty() {
        writeln!(out, "no switches").ok();
        return Ok(());
    }
    let rows: Vec<Vec<Cell>> = switches
        .iter()
        .map(|s| {
            let colour = match s.state {
                State::Global => Colour::Green,
                State::Selective => Colour::Yellow,
                State::Disabled => Colour::Red,
            };
            vec![
                (s.name.clone(), None),
                (s.state.to_string(), Some(colour)),
                (rules_summary(s), None),
            ]
        })
        .collect();
    out.push_str(&table(style, &["NAME", "STATE", "RULES"], &rows));
    Ok(())
}

/// Runs a rollout shortcut and reports the switch's state afterwards.
async fn shortcut(
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

async fn allow(
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

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

async fn condition(
    m: &Manager,
    command: ConditionCommand,
    out: &mut String,
) -> Result<(), Failure> {
    match command {
        ConditionCommand::Add {
            name,
            argument,
            identity,
            attribute,
            op,
            value,
            negative,
        } => {
            let identity = identity || argument.as_deref() == Some(gate::IDENTITY_ARGUMENT);
            let operator = operator(&op, value.as_deref())?;
            let mut condition = if identity {
                if let Some(attribute) = attribute {
                    return Err(Failure::new(format!(
                        "an identity condition judges the id itself: drop --attribute {attribute:?}"
                    )));
                }
                Condition::identity(operator)
            } else {
                let kind = argument.unwrap_or_default();
                let Some(attribute) = attribute else {
                    return Err(Failure::new(format!(
                        "a condition on {kind:?} needs --attribute (the attribute of the input to judge)"
                    )));
                };
                Condition::new(kind, attribute, operator)?
            };
            if negative {
                condition = condition.negative();
            }
            existing(m, &name)?;
            let added = condition.clone();
            let switch = m
                .modify(&name, move |s| s.conditions.push(added.clone()))
                .await?;
            let index = switch
                .conditions
                .iter()
                .rposition(|c| *c == condition)
                .unwrap_or(switch.conditions.len().saturating_sub(1));
            writeln!(out, "{}: added condition {index}: {condition}", switch.name).ok();
            if switch.state != State::Selective {
                writeln!(
                    out,
                    "note: {} is {}; conditions apply once it is selective (gate enable {})",
                    switch.name, switch.state, switch.name
                )
                .ok();
            }
            Ok(())
        }
        ConditionCommand::Remove { name, index } => {
            existing(m, &name)?;
            let mut removed = None;
            let mut count = 0;
            let switch = m
                .modify(&name, |s| {
                    count = s.conditions.len();
                    removed = (index < count).then(|| s.conditions.remove(index));
                })
                .await?;
            match removed {
                Some(condition) => {
                    writeln!(
                        out,
                        "{}: removed condition {index}: {condition}",
                        switch.name
                    )
                    .ok();
                    Ok(())
                }
                None if count == 0 => Err(Failure::new(format!(
                    "switch {name:?} has no conditions; nothing removed"
                ))),
                None => Err(Failure::new(format!(
                    "switch {name:?} has {} (0 to {}): no condition {index}; nothing removed",
                    plural(count, "condition"),
                    count - 1
                ))),
            }
        }
        ConditionCommand::List { name } => {
            let switch = existing(m, &name)?;
            if switch.conditions.is_empty() {
                writeln!(out, "{name}: no conditions").ok();
            }
            for (i, c) in switch.conditions.iter().enumerate() {
                writeln!(out, "{i}  {c}").ok();
            }
            Ok(())
        }
    }
}

/// What `--value` must look like for each operator, for error messages.
fn operand_hint(op: &str) -> &'static str {
    match op {
        "between" => r#"{"lower": 12, "upper": 20} (both exclusive)"#,
        "percent_range" => r#"{"lower": 10, "upper": 20} (whole numbers 0 to 100)"#,
        "percent" => "a whole number from 0 to 100",
        "one_of" => r#"a JSON array, e.g. ["fr", "de"]"#,
        "matches" => "a regular expression",
        "strip_ignorecase_equals" => "a string",
        _ => r#"a number, a string or true/false, e.g. 65 or "fr""#,
    }
}

/// The operator `op` with the operand `value` (JSON, or else a string).
pub(crate) fn operator(op: &str, value: Option<&str>) -> Result<Operator, Failure> {
    if op == "truthy" {
        return match value {
            None => Ok(Operator::truthy()),
            Some(v) => Err(Failure::new(format!(
                "--op truthy takes no --value (got {v:?})"
            ))),
        };
    }
    let Some(text) = value else {
        return Err(Failure::new(format!(
            "--op {op} needs --value: {}",
            operand_hint(op)
        )));
    };
    let from = |operand: Json| -> Result<Operator, String> {
        let mut map = serde_json::Map::new();
        map.insert(op.to_owned(), operand);
        serde_json::from_value::<Operator>(Json::Object(map)).map_err(|e| e.to_string())
    };
    let parsed = serde_json::from_str::<Json>(text).ok();
    let attempt = match &parsed {
        Some(json) => from(json.clone()),
        None => from(Json::String(text.to_owned())),
    };
    let result = match attempt {
        Ok(operator) => Ok(operator),
        // `--value 123` for a string operator: the text itself (not for
        // the others: `less_than true` is a mistake, not the text "true").
        Err(e) => match &parsed {
            Some(json)
                if !json.is_string() && matches!(op, "matches" | "strip_ignorecase_equals") =>
            {
                from(Json::String(text.to_owned())).map_err(|_| e)
            }
            _ => Err(e),
        },
    };
    result.map_err(|e| {
        Failure::new(format!(
            "invalid --value {text:?} for --op {op}: {e}; {op} expects {}",
            operand_hint(op)
        ))
    })
}

async fn set_variants(
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

async fn delete(m: &Manager, name: &str, yes: bool, out: &mut String) -> Result<(), Failure> {
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

fn check(
    m: &Manager,
    name: &str,
    ids: &[String],
    specs: &[String],
    json: bool,
    style: Style,
    out: &mut String,
) -> Result<(), Failure> {
    existing(m, name)?;
    let mut inputs: Vec<Box<dyn Arguments>> = Vec::new();
    for id in ids {
        inputs.push(Box::new(id.clone()));
    }
    for spec in specs {
        let Some((kind, object)) = spec.split_once('=') else {
            return Err(Failure::new(format!(
                "invalid --input {spec:?}: write KIND=JSON, e.g. User='{{\"id\":7,\"age\":70}}'"
            )));
        };
        let kind = kind.trim();
        if kind.is_empty() {
            return Err(Failure::new(format!(
                "invalid --input {spec:?}: the kind before '=' is empty (e.g. User)"
            )));
        }
        inputs.push(Box::new(JsonInput::parse(kind, object)?));
    }
    let why = m.explain(name, inputs);
    if json {
        writeln!(out, "{}", pretty(&why)).ok();
        return Ok(());
    }
    writeln!(out, "{}", style.on_off(why.active)).ok();
    // The explanation's steps are separated by "; ": one per line.
    let text = why.to_string();
    let mut steps = text.split("; ");
    if let Some(first) = steps.next() {
        writeln!(out, "{first}").ok();
    }
    for step in steps {
        writeln!(out, "  {step}").ok();
    }
    Ok(())
}

/// `gate outcome ID`: what became of a write whose outcome was unknown.
async fn outcome(m: &Manager, id: &str, out: &mut String) -> Result<(), Failure> {
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

async fn history(
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
                (e.key.clone(), None),
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
    use gate::history::Action;
    match e.action {
        Action::Registered => "created",
        Action::Updated => "updated",
        Action::Unregistered => "deleted",
        Action::Allowed => "allowed",
        Action::Disallowed => "disallowed",
        _ => "changed",
    }
}

/// `field: before → after` for each changed field, and the allow-list's
/// change.
fn changes_summary(e: &HistoryEntry) -> String {
    let mut parts: Vec<String> = e
        .changes
        .iter()
        .map(|(field, change)| {
            let readable = match field.as_str() {
                "conditions" => conditions_change(change),
                "variants" => variants_change(change),
                _ => None,
            };
            if let Some(summary) = readable {
                return summary;
            }
            let current = truncate(&change.current.to_string(), 40);
            if e.action == gate::history::Action::Registered {
                // Created: what differs from a new switch.
                return format!("{field}: {current}");
            }
            format!(
                "{field}: {} → {current}",
                truncate(&change.previous.to_string(), 40)
            )
        })
        .collect();
    parts.extend(e.lists.iter().map(|(field, list)| list_change(field, list)));
    if let Some(users) = &e.users {
        let ids = |listed: &[String], count: usize| {
            let more = count.saturating_sub(listed.len());
            let mut text = truncate(&listed.join(", "), 40);
            if more > 0 {
                write!(text, " and {more} more").ok();
            }
            text
        };
        if users.added_count > 0 {
            parts.push(format!("users: +{}", ids(&users.added, users.added_count)));
        }
        if users.removed_count > 0 {
            parts.push(format!(
                "users: -{}",
                ids(&users.removed, users.removed_count)
            ));
        }
    }
    if parts.is_empty() {
        "-".to_owned()
    } else {
        parts.join("; ")
    }
}

/// A list's elements added and removed:
/// `conditions: +User.age more_than 65, -User.age more_than 18`,
/// `variants: +a 1, +b 2`.
fn list_change(field: &str, list: &gate::history::ListChange) -> String {
    let element = |json: &Json| -> String {
        if let Ok(condition) = serde_json::from_value::<Condition>(json.clone()) {
            return condition.to_string();
        }
        if let Ok(variant) = serde_json::from_value::<gate::Variant>(json.clone()) {
            return format!("{} {}", variant.name, variant.weight);
        }
        truncate(&json.to_string(), 40)
    };
    let parts: Vec<String> = list
        .added
        .iter()
        .map(|a| format!("+{}", element(a)))
        .chain(list.removed.iter().map(|r| format!("-{}", element(r))))
        .collect();
    format!("{field}: {}", parts.join(", "))
}

/// A change of the variants as their lists: `variants: - → a, b`.
fn variants_change(change: &Change) -> Option<String> {
    let read = |json: &Json| -> Option<String> {
        let variants = serde_json::from_value::<Vec<gate::Variant>>(json.clone()).ok()?;
        if variants.is_empty() {
            return Some("-".to_owned());
        }
        let mut switch = Switch::new("_");
        switch.variants = variants;
        Some(
            variants_summary(&switch)
                .trim_start_matches("variants: ")
                .to_owned(),
        )
    };
    Some(format!(
        "variants: {} → {}",
        read(&change.previous)?,
        read(&change.current)?
    ))
}

/// A change of the conditions as the conditions added and removed:
/// `conditions: +User.age more_than 65`.
fn conditions_change(change: &Change) -> Option<String> {
    let read = |json: &Json| serde_json::from_value::<Vec<Condition>>(json.clone()).ok();
    let (before, after) = (read(&change.previous)?, read(&change.current)?);
    let mut parts: Vec<String> = after
        .iter()
        .filter(|c| !before.contains(c))
        .map(|c| format!("+{c}"))
        .collect();
    parts.extend(
        before
            .iter()
            .filter(|c| !after.contains(c))
            .map(|c| format!("-{c}")),
    );
    if parts.is_empty() {
        parts.push("reordered".to_owned());
    }
    Some(format!("conditions: {}", parts.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operands_are_json_or_else_text() {
        assert_eq!(
            operator("more_than", Some("65")).unwrap(),
            Operator::more_than(65).unwrap()
        );
        assert_eq!(
            operator("equals", Some("fr")).unwrap(),
            Operator::equals("fr").unwrap()
        );
        assert_eq!(
            operator("matches", Some("123")).unwrap(),
            Operator::matches("123").unwrap()
        );
        assert_eq!(
            operator("between", Some(r#"{"lower":12,"upper":20}"#)).unwrap(),
            Operator::between(12, 20).unwrap()
        );
        assert_eq!(
            operator("one_of", Some(r#"["a","b"]"#)).unwrap(),
            Operator::one_of(["a", "b"]).unwrap()
        );
        assert_eq!(operator("truthy", None).unwrap(), Operator::truthy());
        assert!(operator("truthy", Some("1")).is_err());
        assert!(operator("more_than", None).is_err());
        let bad = operator("percent", Some("150")).unwrap_err().to_string();
        assert!(bad.contains("150"), "{bad}");
        let bad = operator("matches", Some("(")).unwrap_err().to_string();
        assert!(bad.contains("regular expression"), "{bad}");
    }
}
