//! `gate check`: whether a switch is on for some ids and inputs, and why.

use std::fmt::Write as _;

use gate::{Arguments, JsonInput, Manager};

use super::{existing, pretty};
use crate::output::Style;
use crate::Failure;

pub(super) fn check(
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
