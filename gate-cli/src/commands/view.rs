//! Showing switches: `gate list`, `gate export`, and the one-line summary
//! of a switch's rules the other commands print.

use std::fmt::Write as _;

use gate::{Manager, State, Switch, Variant};
use serde_json::Value as Json;

use super::pretty;
use crate::output::{table, Cell, Colour, Style};
use crate::Failure;

/// The switches as `export` prints them: without their storage version,
/// which belongs to the store they came from.
pub(super) fn export_form(switches: Vec<Switch>) -> Vec<Json> {
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

/// `variants: a, b` (equal weights) or `variants: a 90, b 10`.
pub(super) fn variants_summary(s: &Switch) -> String {
    format!("variants: {}", variants_text(&s.variants))
}

/// `a, b` (equal weights) or `a 90, b 10`.
pub(super) fn variants_text(variants: &[Variant]) -> String {
    let equal = variants.iter().all(|v| v.weight == variants[0].weight);
    let names: Vec<String> = variants
        .iter()
        .map(|v| {
            if equal {
                v.name.clone()
            } else {
                format!("{} {}", v.name, v.weight)
            }
        })
        .collect();
    names.join(", ")
}

/// A one-line summary of a switch's rules: allow-list, conditions,
/// variants, flags.
pub(super) fn rules_summary(s: &Switch) -> String {
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

pub(super) fn list(m: &Manager, json: bool, style: Style, out: &mut String) -> Result<(), Failure> {
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
                let key = r.key.as_str();
                let name = key.strip_prefix(&format!("{}.", m.namespace()));
                vec![
                    (name.unwrap_or(key).to_owned(), None),
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
