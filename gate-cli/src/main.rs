//! `gate`: list, change, check and audit gate feature switches from the
//! command line, in a JSON file (`--store path/to/switches.json`, the
//! default being `./gate.json`) or in Redis (`--store redis://host:6379/0`).
//!
//! Run `gate --help`, or `gate SUBCOMMAND --help`. Errors are printed on
//! standard error and exit with status 1 (2 for a command line that could
//! not be parsed, 3 for a write whose outcome is unknown); colour is used
//! only on a terminal.

mod cli;
mod commands;
mod output;
mod store;

use std::fmt;
use std::io::{ErrorKind, Write as _};
use std::process::ExitCode;

use clap::Parser as _;

use crate::output::{Colour, Style};

/// Why a command failed: the message printed on standard error, and the
/// exit status.
#[derive(Debug)]
pub(crate) struct Failure {
    message: String,
    status: u8,
}

/// The exit status of a write whose outcome is unknown.
pub(crate) const OUTCOME_UNKNOWN: u8 = 3;

impl Failure {
    /// A failure with this message (exit status 1).
    pub(crate) fn new(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            status: 1,
        }
    }

    /// A write that may or may not have been applied (exit status 3).
    pub(crate) fn unknown(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            status: OUTCOME_UNKNOWN,
        }
    }

    /// The exit status.
    pub(crate) fn status(&self) -> u8 {
        self.status
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<gate::Error> for Failure {
    fn from(e: gate::Error) -> Failure {
        match e {
            gate::Error::OutcomeUnknown { .. } => Failure::unknown(outcome_unknown(&e)),
            e => Failure::new(e.to_string()),
        }
    }
}

/// The message of an unknown outcome, with the command that checks it.
pub(crate) fn outcome_unknown(e: &gate::Error) -> String {
    match e {
        gate::Error::OutcomeUnknown { id, .. } => {
            format!("{e}\n  check it with: gate outcome {id} (with the same --store and --prefix)")
        }
        e => e.to_string(),
    }
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let style = Style::for_stream(&std::io::stdout());
    let mut out = String::new();
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(format!("cannot start the async runtime: {e}")))
        .and_then(|runtime| runtime.block_on(commands::run(cli, style, &mut out)));
    // What was printed before a failure still goes out.
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
    {
        // `gate list | head` closes the pipe early: not an error.
        if e.kind() != ErrorKind::BrokenPipe {
            eprintln!("gate: cannot write to standard output: {e}");
            return ExitCode::FAILURE;
        }
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            let stderr = std::io::stderr();
            let label = Style::for_stream(&stderr).paint(Colour::Red, "error:");
            let _ = writeln!(stderr.lock(), "gate: {label} {failure}");
            ExitCode::from(failure.status())
        }
    }
}
