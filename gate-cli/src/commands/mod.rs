//! What each subcommand does, one module per concern. Every command
//! writes what it prints into `out` (standard output); errors are
//! returned.

mod audit;
mod check;
mod condition;
mod diff;
mod import;
mod view;
mod write;

use std::fmt::Write as _;

use gate::{Manager, Switch};

use crate::cli::{Cli, Command};
use crate::output::Style;
use crate::{store, Failure};

/// Runs the command line, writing standard output into `out`.
pub(crate) async fn run(cli: Cli, style: Style, out: &mut String) -> Result<(), Failure> {
    let manager = store::open(&cli.global).await?;
    let m = &manager;
    match cli.command {
        Command::List { json } => view::list(m, json, style, out),
        Command::Show { name } => {
            let switch = existing(m, &name)?;
            writeln!(out, "{}", pretty(&switch)).ok();
            Ok(())
        }
        Command::Put { file } => write::put(m, &file, style, out).await,
        Command::Restore { from, as_is } => match from {
            Some(from) if !as_is => write::restore(m, &from, out).await,
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
            write::create(m, switch, style, out).await
        }
        Command::Enable { name } => write::shortcut(m, &name, style, out, m.enable(&name)).await,
        Command::Disable { name } => write::shortcut(m, &name, style, out, m.disable(&name)).await,
        Command::Toggle { name } => write::shortcut(m, &name, style, out, m.toggle(&name)).await,
        Command::Global { name } => {
            write::shortcut(m, &name, style, out, m.enable_for_all(&name)).await
        }
        Command::Percentage { name, percentage } => {
            write::shortcut(m, &name, style, out, m.set_percentage(&name, percentage)).await
        }
        Command::Allow { name, ids } => write::allow(m, &name, &ids, true, out).await,
        Command::Disallow { name, ids } => write::allow(m, &name, &ids, false, out).await,
        Command::AllowMatching { name, regex } => {
            write::shortcut(m, &name, style, out, m.allow_matching(&name, &regex)).await
        }
        Command::Condition(command) => condition::run(m, command, out).await,
        Command::Variants {
            name,
            variants,
            weights,
            clear,
        } => write::set_variants(m, &name, variants, weights, clear, out).await,
        Command::Delete { name, yes } => write::delete(m, &name, yes, out).await,
        Command::Check {
            name,
            ids,
            inputs,
            json,
        } => check::check(m, &name, &ids, &inputs, json, style, out),
        Command::Export => {
            let switches = view::export_form(m.switches());
            writeln!(out, "{}", pretty(&switches)).ok();
            Ok(())
        }
        Command::Import { file, dry_run } => import::run(m, &file, dry_run, style, out).await,
        Command::Outcome { id } => audit::outcome(m, &id, out).await,
        Command::History { name, limit, json } => {
            audit::history(m, name.as_deref(), limit, json, style, out).await
        }
    }
}

/// Pretty JSON of a serializable value.
fn pretty(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
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

/// `1 switch`, `2 switches`.
fn switches(n: usize) -> String {
    if n == 1 {
        "1 switch".to_owned()
    } else {
        format!("{n} switches")
    }
}

/// `: a, b, c` (or nothing for none).
fn listed(keys: &[gate::SwitchKey]) -> String {
    if keys.is_empty() {
        String::new()
    } else {
        let keys: Vec<&str> = keys.iter().map(gate::SwitchKey::as_str).collect();
        format!(": {}", keys.join(", "))
    }
}

/// `1 id`, `2 ids`.
fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
