//! Switches: the unit that is turned on and off.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::condition::{Condition, RawCondition};
use crate::error::Error;
use crate::limits::{self, check_text, Text};
pub(crate) use crate::names::{validate_name, validate_namespace};
pub use crate::users::Users;

/// The state of a switch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Off for everybody.
    #[default]
    Disabled,
    /// On for the users and inputs its rules select.
    Selective,
    /// On for everybody.
    Global,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Disabled => "disabled",
            State::Selective => "selective",
            State::Global => "global",
        })
    }
}

/// One arm of an experiment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    /// The variant's name.
    pub name: String,
    /// Its relative weight (default 1).
    #[serde(default = "one")]
    pub weight: u32,
}

fn one() -> u32 {
    1
}

/// A feature switch.
///
/// Build one with [`Switch::new`] and the chained setters, then hand it to
/// [`Manager::register`](crate::Manager::register). Its JSON form (field
/// names are stable) is what storages and tools exchange. It is canonical:
/// compact, fields in the order below (`name`, `state`, `compounded`,
/// `concent`, `conditions` first), each condition as
/// [`Condition`]'s form; the Redis storage's shortcuts rely on it to edit
/// a stored record as text (a record in another form is rewritten in
/// this one).
///
/// # Examples
///
/// ```
/// use gate::{Condition, Operator, State, Switch};
///
/// let switch = Switch::new("can_drink")
///     .state(State::Selective)
///     .condition(Condition::new("User", "age", Operator::more_than_or_equal_to(18)?)?)
///     .label("Can drink");
/// switch.validate()?;
/// let json = serde_json::to_string(&switch).unwrap();
/// assert_eq!(Switch::from_json(&json)?, switch);
///
/// // Reading JSON applies the same rules as writing.
/// let err = Switch::from_json(r#"{"name":"x","label":"\u202e"}"#).unwrap_err();
/// assert_eq!(err.field(), Some("label"));
/// # Ok::<_, gate::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawSwitch")]
pub struct Switch {
    /// The name, without namespace; `:` separates parent and child.
    pub name: String,
    /// Disabled, selective or global.
    #[serde(default)]
    pub state: State,
    /// Selective: every applicable condition must hold (instead of any).
    #[serde(default)]
    pub compounded: bool,
    /// Off whenever the parent switch exists and is off (default true).
    #[serde(default = "yes")]
    pub concent: bool,
    /// Rules of a selective switch.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// Identities for which a selective switch is on.
    #[serde(default)]
    pub users: Users,
    /// Experiment arms, picked by identity.
    #[serde(default)]
    pub variants: Vec<Variant>,
    /// A human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// What the switch is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Buckets are `crc32(salt + ":" + id) % 100` when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    /// The stored version; bumped by every write.
    #[serde(default)]
    pub version: u64,
}

fn yes() -> bool {
    true
}

impl Switch {
    /// A new, disabled switch named `name` (validated when registered).
    pub fn new(name: impl Into<String>) -> Self {
        Switch {
            name: name.into(),
            state: State::Disabled,
            compounded: false,
            concent: true,
            conditions: Vec::new(),
            users: Users::default(),
            variants: Vec::new(),
            label: None,
            description: None,
            salt: None,
            version: 0,
        }
    }

    /// Sets the state.
    #[must_use]
    pub fn state(mut self, state: State) -> Self {
        self.state = state;
        self
    }

    /// Sets `compounded`.
    #[must_use]
    pub fn compounded(mut self, compounded: bool) -> Self {
        self.compounded = compounded;
        self
    }

    /// Sets `concent`.
    #[must_use]
    pub fn concent(mut self, concent: bool) -> Self {
        self.concent = concent;
        self
    }

    /// Adds a condition.
    #[must_use]
    pub fn condition(mut self, condition: Condition) -> Self {
        self.conditions.push(condition);
        self
    }

    /// Adds an identity to the allow-list.
    #[must_use]
    pub fn allow(mut self, id: impl fmt::Display) -> Self {
        self.users.insert(id.to_string());
        self
    }

    /// Sets equally weighted variants.
    #[must_use]
    pub fn variants<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.variants = names
            .into_iter()
            .map(|name| Variant {
                name: name.into(),
                weight: 1,
            })
            .collect();
        self
    }

    /// Sets weighted variants.
    #[must_use]
    pub fn weighted_variants<S: Into<String>>(
        mut self,
        variants: impl IntoIterator<Item = (S, u32)>,
    ) -> Self {
        self.variants = variants
            .into_iter()
            .map(|(name, weight)| Variant {
                name: name.into(),
                weight,
            })
            .collect();
        self
    }

    /// Sets the label.
    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the salt of the identity buckets.
    #[must_use]
    pub fn salt(mut self, salt: impl Into<String>) -> Self {
        self.salt = Some(salt.into());
        self
    }

    /// The parent's name: `movies` for `movies:star_wars`.
    pub fn parent_name(&self) -> Option<&str> {
        parent_of(&self.name)
    }

    /// Reads a switch from JSON and validates it.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidJson`] naming the problem (unknown operator, wrong
    /// type, …), or the validation error of the switch, naming the field.
    pub fn from_json(json: &str) -> Result<Switch, Error> {
        let raw: RawSwitch = serde_json::from_str(json).map_err(|e| Error::InvalidJson {
            what: "a switch".into(),
            reason: e.to_string(),
        })?;
        Switch::try_from(raw)
    }

    /// This switch as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Checks everything a write path and a reader check: the name, the
    /// texts, the conditions and the variants, against the rules and the
    /// [limits](crate::limits). A switch that passes can be stored by
    /// every storage, read back unchanged and evaluated.
    ///
    /// # Errors
    ///
    /// The first problem found, naming the field ([`Error::field`]).
    pub fn validate(&self) -> Result<(), Error> {
        validate_name(&self.name)?;
        let text = |field: &str, value: &Option<String>, max, kind| match value {
            Some(value) => check_text(value, max, kind).map_err(|reason| Error::Invalid {
                field: field.into(),
                reason,
            }),
            None => Ok(()),
        };
        text("label", &self.label, limits::MAX_LABEL_LEN, Text::Line)?;
        text(
            "description",
            &self.description,
            limits::MAX_DESCRIPTION_LEN,
            Text::Lines,
        )?;
        text("salt", &self.salt, limits::MAX_SALT_LEN, Text::Line)?;
        if self.conditions.len() > limits::MAX_CONDITIONS {
            return Err(Error::Invalid {
                field: "conditions".into(),
                reason: format!(
                    "{} conditions, the most is {}",
                    self.conditions.len(),
                    limits::MAX_CONDITIONS
                ),
            });
        }
        let mut pattern_bytes = 0;
        for (i, condition) in self.conditions.iter().enumerate() {
            condition
                .validate()
                .map_err(|e| e.within(&format!("conditions[{i}]")))?;
            if let crate::Operator::Matches(pattern) = &condition.operator {
                pattern_bytes += pattern.memory_usage();
            }
        }
        if pattern_bytes > limits::MAX_SWITCH_PATTERN_BYTES {
            return Err(Error::Invalid {
                field: "conditions".into(),
                reason: format!(
                    "its regular expressions take {pattern_bytes} bytes once compiled, the most is {}",
                    limits::MAX_SWITCH_PATTERN_BYTES
                ),
            });
        }
        self.validate_variants()
    }

    fn validate_variants(&self) -> Result<(), Error> {
        if self.variants.len() > limits::MAX_VARIANTS {
            return Err(Error::Invalid {
                field: "variants".into(),
                reason: format!(
                    "{} variants, the most is {}",
                    self.variants.len(),
                    limits::MAX_VARIANTS
                ),
            });
        }
        for (i, variant) in self.variants.iter().enumerate() {
            let invalid = |reason: String| Error::Invalid {
                field: format!("variants[{i}].name"),
                reason,
            };
            if variant.name.is_empty() {
                return Err(invalid("a variant name must not be empty".into()));
            }
            check_text(&variant.name, limits::MAX_VARIANT_NAME_LEN, Text::Name).map_err(invalid)?;
            if self.variants[..i].iter().any(|v| v.name == variant.name) {
                return Err(invalid(format!("{:?} is given twice", variant.name)));
            }
        }
        if !self.variants.is_empty() && self.variants.iter().all(|v| v.weight == 0) {
            return Err(Error::InvalidVariants {
                names: self.variants.iter().map(|v| v.name.clone()).collect(),
                reason: "their total weight is zero",
            });
        }
        if self
            .variants
            .iter()
            .try_fold(0u32, |sum, v| sum.checked_add(v.weight))
            .is_none()
        {
            return Err(Error::InvalidVariants {
                names: self.variants.iter().map(|v| v.name.clone()).collect(),
                reason: "their total weight overflows a u32",
            });
        }
        Ok(())
    }

    /// The variant index for a bucketing hash (`crc32(identity)`).
    pub(crate) fn pick_variant(&self, hash: u32) -> Option<usize> {
        let n = self.variants.len();
        if n == 0 {
            return None;
        }
        let first = self.variants[0].weight;
        if self.variants.iter().all(|v| v.weight == first) {
            return Some(hash as usize % n);
        }
        let total: u32 = self.variants.iter().map(|v| v.weight).sum();
        let mut point = hash % total;
        for (i, v) in self.variants.iter().enumerate() {
            if point < v.weight {
                return Some(i);
            }
            point -= v.weight;
        }
        None
    }
}

/// The JSON form of a switch, validated when turned into a [`Switch`]: a
/// switch read from a storage or a file passes the same checks as one
/// written through the API.
#[derive(Deserialize)]
struct RawSwitch {
    name: String,
    #[serde(default)]
    state: State,
    #[serde(default)]
    compounded: bool,
    #[serde(default = "yes")]
    concent: bool,
    #[serde(default)]
    conditions: Vec<RawCondition>,
    #[serde(default)]
    users: Users,
    #[serde(default)]
    variants: Vec<Variant>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    salt: Option<String>,
    #[serde(default)]
    version: u64,
}

impl TryFrom<RawSwitch> for Switch {
    type Error = Error;

    fn try_from(raw: RawSwitch) -> Result<Self, Error> {
        if raw.conditions.len() > limits::MAX_CONDITIONS {
            return Err(Error::Invalid {
                field: "conditions".into(),
                reason: format!(
                    "{} conditions, the most is {}",
                    raw.conditions.len(),
                    limits::MAX_CONDITIONS
                ),
            });
        }
        let conditions = raw
            .conditions
            .into_iter()
            .enumerate()
            .map(|(i, c)| Condition::try_from(c).map_err(|e| e.within(&format!("conditions[{i}]"))))
            .collect::<Result<Vec<_>, Error>>()?;
        let switch = Switch {
            name: raw.name,
            state: raw.state,
            compounded: raw.compounded,
            concent: raw.concent,
            conditions,
            users: raw.users,
            variants: raw.variants,
            label: raw.label,
            description: raw.description,
            salt: raw.salt,
            version: raw.version,
        };
        switch.validate()?;
        Ok(switch)
    }
}

pub(crate) fn parent_of(name: &str) -> Option<&str> {
    name.rsplit_once(':').map(|(parent, _)| parent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operator::Operator;

    /// The Redis shortcut script finds the state and the conditions of a
    /// stored record by this layout: changing it sends every shortcut on
    /// Redis down the slow read-modify-write path.
    #[test]
    fn the_json_form_starts_with_name_state_compounded_concent_conditions() {
        let switch = Switch::new("a\"b")
            .state(State::Global)
            .condition(Condition::identity(Operator::percent(5).unwrap()))
            .allow("x")
            .label("L");
        assert_eq!(
            switch.to_json(),
            r#"{"name":"a\"b","state":"global","compounded":false,"concent":true,"conditions":[{"argument":"@id","attribute":"","operator":{"percent":5},"negative":false}],"users":["x"],"variants":[],"label":"L","version":0}"#
        );
    }
}
