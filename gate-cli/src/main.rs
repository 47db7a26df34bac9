//! `gate`: list, change, check and audit gate feature switches from the
//! command line, in a JSON file (`--store path/to/switches.json`, the
//! default being `./gate.json`) or in Redis (`--store redis://host:6379/0`).
//!
//! Run `gate --help`, or `gate SUBCOMMAND --help`. Errors are printed on
//! standard error and exit with status 1 (2 for a command line that could
//! not be parsed); colour is used only on a terminal.

mod cli;
mod commands;
mod import;
mod output;
mod store;

use std::fmt;
use std::io::{ErrorKind, Write as _};
use std::process::ExitCode;

use clap::Parser as _;

use crate::output::{Colour, Style};

/// Why a command failed: the message printed on standard error.
#[derive(Debug)]
pub(crate) struct Failure(String);

impl Failure {
    /// A failure with this message.
    pub(crate) fn new(message: impl Into<String>) -> Failure {
        Failure(message.into())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<gate::Error> for Failure {
    fn from(e: gate::Error) -> Failure {
        Failure(e.to_string())
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
            ExitCode::FAILURE
        }
    }
}
