//! The ops CLI's library: every command over the same shared crate and
//! ports as the functions. `main.rs` only parses arguments and maps
//! results to exit codes.
//!
//! - [`cli`]: the commands and their `--help`.
//! - [`migrate`]: `migrate-paypal` (rows, journal, report).
//! - [`commands`]: `reconcile` and `replay`.
//! - [`metrics`]: metrics into the log (stdout is the CLI's output).
//! - [`progress`]: progress bars on stderr (hidden under `--json`).

pub mod cli;
pub mod commands;
pub mod metrics;
pub mod migrate;
pub mod progress;
