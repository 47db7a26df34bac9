//! The command line: global options and subcommands (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The operators `condition add --op` accepts, as written in JSON.
pub(crate) const OPERATORS: [&str; 12] = [
    "equals",
    "between",
    "less_than",
    "less_than_or_equal_to",
    "more_than",
    "more_than_or_equal_to",
    "truthy",
    "percent",
    "percent_range",
    "strip_ignorecase_equals",
    "matches",
    "one_of",
];

const AFTER_HELP: &str = "\
Examples:
  gate create new_search
  gate percentage new_search 20
  gate check new_search --id 443301
  gate --store redis://127.0.0.1:6379/0 list
  gate history new_search

Exit status: 0 on success, 1 when the command failed and nothing was
written (the message on stderr says why), 2 for a command line that could
not be parsed, 3 when a write's outcome is unknown: Redis did not answer,
and the write may or may not have been applied (check it with
`gate outcome ID`, the id being in the message).";

/// Lists, changes, checks and audits gate feature switches, in a JSON file
/// or in Redis.
#[derive(Debug, Parser)]
#[command(name = "gate", version, after_help = AFTER_HELP)]
pub(crate) struct Cli {
    /// Options every subcommand takes.
    #[command(flatten)]
    pub(crate) global: Global,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// Where the switches are: a redis:// or rediss:// URL, or the path of
    /// a JSON file (created by the first change)
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "GATE_STORE",
        hide_env_values = true,
        default_value = "./gate.json",
        value_name = "URL|FILE"
    )]
    pub(crate) store: String,

    /// The prefix of the Redis keys (ignored for a file)
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "GATE_PREFIX",
        hide_env_values = true,
        default_value = "gate"
    )]
    pub(crate) prefix: String,

    /// Work on the switches of this namespace (nested: a.b)
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "NAMESPACE"
    )]
    pub(crate) namespace: Option<String>,

    /// Who the changes are recorded as in the audit trail [default:
    /// cli:$USER, or cli]
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "ACTOR"
    )]
    pub(crate) actor: Option<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List the switches: name, state and a summary of their rules
    List {
        /// Print the switches as a JSON array instead of a table
        #[arg(long)]
        json: bool,
    },

    /// Print a switch as JSON
    Show {
        /// The switch's name
        name: String,
    },

    /// Store a switch from JSON (as `show` prints it): create it, replace
    /// it whole, or repair a stored record that cannot be read
    Put {
        /// The file holding the switch, or - for standard input
        file: PathBuf,
    },

    /// Create a switch (disabled until enabled)
    Create {
        /// The switch's name; `:` makes it the child of another (movies:star_wars)
        name: String,
        /// A human-readable name
        #[arg(long)]
        label: Option<String>,
        /// What the switch is for
        #[arg(long)]
        description: Option<String>,
        /// Every applicable condition must hold (instead of any one)
        #[arg(long)]
        compounded: bool,
        /// Do not turn off when the parent switch is off
        #[arg(long)]
        no_concent: bool,
        /// Bucket ids as crc32(SALT:id), so this switch's percentage picks
        /// other users than another switch's
        #[arg(long)]
        salt: Option<String>,
    },

    /// Make a switch selective: on for its allowed ids and conditions
    /// (creates it if needed)
    Enable {
        /// The switch's name
        name: String,
    },

    /// Turn a switch off for everybody; its rules are kept (creates it if
    /// needed)
    Disable {
        /// The switch's name
        name: String,
    },

    /// Turn an enabled switch off, or a disabled one on (selective if it
    /// has rules, else global)
    Toggle {
        /// The switch's name
        name: String,
    },

    /// Turn a switch on for everybody (creates it if needed)
    Global {
        /// The switch's name
        name: String,
    },

    /// Turn a switch on for a percentage of ids: those whose
    /// crc32(id) % 100 is below it (creates it if needed)
    Percentage {
        /// The switch's name
        name: String,
        /// A whole number from 0 to 100
        #[arg(value_parser = parse_percentage, allow_hyphen_values = true)]
        percentage: u32,
    },

    /// Add ids to a switch's allow-list (creates it if needed)
    Allow {
        /// The switch's name
        name: String,
        /// The ids to allow (after `--` if one starts with `-`)
        #[arg(required = true, num_args = 1..)]
        ids: Vec<String>,
    },

    /// Remove ids from a switch's allow-list
    Disallow {
        /// The switch's name
        name: String,
        /// The ids to remove (after `--` if one starts with `-`)
        #[arg(required = true, num_args = 1..)]
        ids: Vec<String>,
    },

    /// Turn a switch on for the ids that match a regular expression
    /// (creates it if needed)
    AllowMatching {
        /// The switch's name
        name: String,
        /// A regular expression (Rust regex syntax), e.g. '^staff-\d+$'
        #[arg(allow_hyphen_values = true)]
        regex: String,
    },

    /// Add, remove or list the conditions of a switch
    #[command(subcommand)]
    Condition(ConditionCommand),

    /// Set the variants (experiment arms) of a switch
    Variants {
        /// The switch's name
        name: String,
        /// The variants' names, in order
        #[arg(required_unless_present = "clear", conflicts_with = "clear")]
        variants: Vec<String>,
        /// Relative weights, one per variant: 50,25,25 (default: equal)
        #[arg(long, value_delimiter = ',', value_name = "W,W,...")]
        weights: Option<Vec<u32>>,
        /// Remove every variant
        #[arg(long)]
        clear: bool,
    },

    /// Delete a switch and its descendants (NAME:...)
    Delete {
        /// The switch's name
        name: String,
        /// Do not ask before deleting descendants too (needed when not on
        /// a terminal)
        #[arg(long, short)]
        yes: bool,
    },

    /// Tell whether a switch is on for some inputs, and why
    #[command(after_help = "\
Examples:
  gate check new_search --id 443301
  gate check senior_discount --input User='{\"id\":7,\"age\":70}'
  gate check beta --id alice --input Request='{\"secure\":true}' --json")]
    Check {
        /// The switch's name
        name: String,
        /// An id (a plain input whose identity is itself); repeatable
        #[arg(long = "id", value_name = "ID", allow_hyphen_values = true)]
        ids: Vec<String>,
        /// An input of kind KIND whose attributes are the fields of a JSON
        /// object (its "id" field is its identity); repeatable
        #[arg(long = "input", value_name = "KIND=JSON")]
        inputs: Vec<String>,
        /// Print the decision and the explanation as JSON
        #[arg(long)]
        json: bool,
    },

    /// Print every switch as JSON (what import reads)
    Export,

    /// Create and change switches from a JSON file written by export;
    /// switches not in the file are left alone
    Import {
        /// The file, or - for standard input
        file: PathBuf,
        /// Show what would be created and changed, and write nothing
        #[arg(long)]
        dry_run: bool,
    },

    /// Whether a write whose outcome was unknown (exit status 3) was
    /// applied; a write that has not reached Redis yet is cancelled, so the
    /// answer stays true
    Outcome {
        /// The operation id the failed command printed
        id: String,
    },

    /// Write the switches of a snapshot file back into the store (after
    /// it lost its data): every one it lacks, all or none; the nodes then
    /// follow the store again
    #[command(after_help = "\
Examples:
  gate --store redis://127.0.0.1:6379/0 restore --from /var/lib/myapp/gate-snapshot.json
  gate --store redis://127.0.0.1:6379/0 restore --as-is")]
    Restore {
        /// The snapshot file a node keeps (its snapshot_file setting)
        #[arg(long, value_name = "FILE", required_unless_present = "as_is")]
        from: Option<PathBuf>,
        /// Write nothing: take the store as it is now as the truth (after
        /// a deliberate flush); the nodes drop the switches it lacks
        #[arg(long, conflicts_with = "from")]
        as_is: bool,
    },

    /// Show the audit trail: who changed what and when, newest first
    History {
        /// Only this switch (and its descendants)
        name: Option<String>,
        /// How many entries at most
        #[arg(long, short = 'n', default_value_t = 20)]
        limit: usize,
        /// Print the entries as JSON
        #[arg(long)]
        json: bool,
    },
}

/// `gate condition ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum ConditionCommand {
    /// Add a condition: ARGUMENT's ATTRIBUTE judged by OP against VALUE
    #[command(after_help = "\
Examples:
  gate condition add senior --argument User --attribute age --op more_than --value 65
  gate condition add teens --argument User --attribute age --op between --value '{\"lower\":12,\"upper\":20}'
  gate condition add eu --argument User --attribute country --op one_of --value '[\"fr\",\"de\"]' --negative
  gate condition add admins --argument User --attribute is_admin --op truthy
  gate condition add staff --identity --op matches --value '^staff-'")]
    Add {
        /// The switch's name
        name: String,
        /// The kind of input the condition applies to (e.g. User), or @id
        /// for the identity of any input
        #[arg(
            long,
            required_unless_present = "identity",
            conflicts_with = "identity",
            value_name = "KIND"
        )]
        argument: Option<String>,
        /// Apply to the identity of any input (the same as --argument @id)
        #[arg(long)]
        identity: bool,
        /// The attribute of the input to judge (not for identity conditions)
        #[arg(long)]
        attribute: Option<String>,
        /// The operator
        #[arg(long, value_name = "OP", value_parser = OPERATORS)]
        op: String,
        /// The operand, as JSON (65, "fr", ["fr","de"], {"lower":12,"upper":20});
        /// text that is not JSON is a string. truthy takes none
        #[arg(long, allow_hyphen_values = true)]
        value: Option<String>,
        /// Invert the condition
        #[arg(long)]
        negative: bool,
    },

    /// Remove the condition at INDEX (as `condition list` numbers them)
    Remove {
        /// The switch's name
        name: String,
        /// The condition's index, from 0
        index: usize,
    },

    /// List the conditions of a switch with their indices
    List {
        /// The switch's name
        name: String,
    },
}

/// A percentage argument: a whole number from 0 to 100 (a trailing `%` is
/// accepted).
fn parse_percentage(text: &str) -> Result<u32, String> {
    let digits = text.trim().trim_end_matches('%');
    match digits.parse::<u32>() {
        Ok(p) if p <= 100 => Ok(p),
        _ => Err("a percentage is a whole number from 0 to 100".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn percentages() {
        assert_eq!(parse_percentage("20"), Ok(20));
        assert_eq!(parse_percentage("100%"), Ok(100));
        assert!(parse_percentage("101").is_err());
        assert!(parse_percentage("-5").is_err());
        assert!(parse_percentage("ten").is_err());
    }
}
