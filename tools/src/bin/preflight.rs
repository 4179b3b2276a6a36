//! `preflight`: refuses a release before it ships with missing or malformed
//! configuration, naming every problem by its variable. What it checks, and
//! how: `tools::preflight`.
//!
//! Exit status: 0 ready, 1 refused (problems listed), 2 usage or unreadable
//! input.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    tools::preflight::main(&args)
}
