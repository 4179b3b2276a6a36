//! The shared library behind every billing Lambda: the domain, the ports and
//! their adapters, the Polo module, and the handlers the thin binaries run.
//!
//! Where things live:
//! - [`config`]: typed configuration read once at cold start.
//! - [`telemetry`]: JSON logs and CloudWatch Embedded Metric Format lines.
//! - [`clock`]: the `Clock` port (real time, or a clock tests move by hand).
//! - [`secrets`]: the `SecretSource` port, Secrets Manager and env adapters.
//! - [`polo`]: the ONLY module that knows Polo: webhook verifier, wire types.
//! - [`idempotency`]: the `IdempotencyStore` port (DynamoDB and in-memory).
//! - [`webhook`]: the shared intake every webhook function runs.
//! - [`handlers`]: one handler per function.
//! - [`app`]: what a function builds once at cold start.
//! - [`aws`]: the AWS SDK configuration (its HTTPS client's trust store).

pub mod accounts;
pub mod app;
pub mod aws;
pub mod cli_args;
pub mod clock;
pub mod config;
pub mod dashboard;
pub mod domain;
pub mod handlers;
pub mod http;
pub mod idempotency;
pub mod paypal;
pub mod polo;
pub mod provisioning;
pub mod reconcile;
pub mod secrets;
pub mod signing;
pub mod telemetry;
pub mod updater;
pub mod webhook;
