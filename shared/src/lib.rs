//! The shared library behind every billing Lambda: the domain, the ports and
//! their adapters, the Polo module, and the handlers the thin binaries run.
//!
//! Where things live (every module, by what a newcomer looks for):
//! - [`domain`]: ids, money, plan tiers, account state, the one `apply()`
//!   transition; pure, no I/O.
//! - [`polo`]: the ONLY module that knows Polo: webhook verifier, events,
//!   routing, its ports (every call the crate may make), the API client and
//!   its in-memory double; its wire types are private to it.
//! - [`webhook`]: the shared intake every webhook function runs, the inbox
//!   (`PENDING`, backoff), its retry sweep, replay, and outcome → HTTP.
//! - [`dashboard`]: the four dashboard routes (checkout, portal, status,
//!   change-plan) and their one error → HTTP mapping.
//! - [`handlers`]: one handler per function (lifecycle, provisioning-sync,
//!   reconcile, webhook-retry).
//! - [`updater`]: read → `apply()` → compare-and-set + audit (+ push
//!   intent) → push → acknowledge: the one path every writer takes.
//! - [`reconcile`]: Polo's subscriptions as the truth, applied per account.
//! - Ports and their adapters: [`accounts`] (Convex, in-memory),
//!   [`idempotency`] (DynamoDB, in-memory), [`provisioning`] (signed HTTP
//!   push, in-memory), [`paypal`] (the legacy cancellation), [`secrets`]
//!   (Secrets Manager, env, cache, in-memory), [`clock`].
//! - Edges: [`http`] (https-only, deadline-bounded, retried outbound
//!   calls), [`signing`] (signatures on our outbound calls), [`aws`] (the
//!   AWS SDK's configuration), [`redact`] (what an error may say of input).
//! - Running: [`config`] (typed configuration read once at cold start),
//!   [`ports`] (the one composition root: every port, and the parts built
//!   from them), [`app`] (what a function builds once, per kind), [`telemetry`] (JSON logs, EMF
//!   metrics), [`cli_args`] (the CLIs' shared habits).

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
pub mod ports;
pub mod provisioning;
pub mod reconcile;
pub mod redact;
pub mod secrets;
pub mod signing;
pub mod telemetry;
pub mod updater;
pub mod webhook;
