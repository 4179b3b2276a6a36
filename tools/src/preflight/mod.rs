//! `preflight`: refuses a release before it ships with missing or malformed
//! configuration, naming every problem by its variable. Ops run it against
//! an environment file (`KEY=VALUE` lines, `#` comments); `build.sh` runs it
//! before every release build.
//!
//! What it checks, for a release environment (`dev`, `staging`, `prod`):
//! - every template parameter has a value — from the file (the parameter's
//!   name as a variable: `PoloApiBaseUrl` is `POLO_API_BASE_URL`), from
//!   `samconfig.toml`'s `parameter_overrides` for that environment, or from
//!   its default — that matches its `AllowedValues` / `AllowedPattern`, and
//!   the template's `Rules` hold;
//! - the file and samconfig agree, samconfig names only real parameters and
//!   has its stack name, region and capabilities;
//! - no plain secret is in the file (deployed stages read every secret from
//!   Secrets Manager), no emulator endpoint, and no unknown name (a typo);
//!   the stack's own values (secret ARNs, table name), which the admin CLI
//!   reads from the same file once the stack exists, may be there;
//! - each function's environment, as the template builds it from those
//!   parameters (and those stack values), passes that function's own
//!   configuration parser (`DashboardConfig`, `WebhookConfig` with and
//!   without Polo, `SyncConfig`, `ReconcileConfig`): the same check the
//!   function runs at cold start.
//!
//! A file with `STAGE=local` is checked against the parsers only (the local
//! stack reads it as is). `--sam-env-vars events/env.json` checks the
//! `sam local invoke` file instead: an entry per function, only variables
//! the template declares (sam drops the others), and each function's
//! configuration reads. Values are never printed: some are secrets.
//!
//! The parts, each with its tests: `cli` (arguments, inputs, exit status),
//! `env_file`, `samconfig` (read with `toml`), `template` (read with
//! `serde_yaml`, CloudFormation's tags kept), `resolve` (CloudFormation
//! expressions), `parameters`, `rules`, `release`, `functions` (each
//! function's parser, and the `STAGE=local` mode), `sam_env_vars`, `report`.

mod cli;
mod env_file;
mod functions;
mod parameters;
mod release;
mod report;
mod resolve;
mod rules;
mod sam_env_vars;
mod samconfig;
mod template;

pub use cli::{main, run, Options};
pub use report::Report;
