//! `gate condition add|remove|list`, and reading an operator and its
//! operand from the command line.

use std::fmt::Write as _;

use gate::{Condition, Manager, Operator, State};
use serde_json::Value as Json;

use super::{existing, plural};
use crate::cli::ConditionCommand;
use crate::Failure;

pub(super) async fn run(
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
