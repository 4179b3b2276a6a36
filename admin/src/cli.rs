//! The commands, their arguments and the `--help` that teaches them.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Billing operations: move PayPal subscribers to Polo, repair accounts
/// from Polo's own state, and replay parked webhook events.
///
/// Configuration comes from the environment, exactly as the functions read
/// it (see .env.example): STAGE, POLO_ENVIRONMENT, POLO_API_BASE_URL,
/// POLO_PLAN_ID_*, CONVEX_SITE_URL, PROVISIONING_URL, the secrets (Secrets
/// Manager ARNs, or plain values with STAGE=local) and, for `replay`,
/// IDEMPOTENCY_TABLE. A missing variable is named before anything runs.
///
/// Exit codes: 0 done; 1 done, but some rows or accounts failed for a
/// transient reason (rerun: finished work is skipped); 2 bad usage or
/// configuration (nothing ran); 3 interrupted (rerun to finish).
#[derive(Debug, Parser)]
#[command(name = "admin", version, about, long_about)]
pub struct Cli {
    /// Print one JSON object (the summary) on stdout instead of text; for scripts.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Move PayPal subscribers onto Polo without losing a paid day.
    ///
    /// Reads a PayPal subscriber export (CSV, header:
    /// paypal_subscription_id,account_id,email,plan,status,next_billing_time).
    /// For each ACTIVE row: ensures the Polo customer (looked up by account
    /// id first; created only if absent), then marks the account as a PayPal
    /// subscriber until next_billing_time. It keeps its plan until then, and
    /// its Polo checkout starts with a trial to that date, so it is charged
    /// by Polo exactly when PayPal's period ends. Once the Polo subscription
    /// is entitled, the PayPal one is cancelled automatically.
    ///
    /// A bad row is reported with its line number and skipped. Every
    /// finished row is journaled: rerunning after a crash or Ctrl-C skips
    /// finished rows and creates nothing twice; the report then lists every
    /// row as an uninterrupted run would.
    #[command(name = "migrate-paypal")]
    MigratePaypal(MigrateArgs),

    /// Re-apply Polo's subscriptions to accounts (repairs a lost webhook).
    ///
    /// Fetches every subscription of each account's Polo customer and
    /// applies it through the same rules as the webhooks: an older snapshot
    /// changes nothing; an access period that ran out is ended; credentials
    /// are issued or revoked to match.
    Reconcile(ReconcileArgs),

    /// List, reprocess or discard parked webhook events (after the fix).
    #[command(subcommand)]
    Replay(ReplayCommand),

    /// The webhook inbox: deliveries recorded but not finished yet
    /// (`PENDING` after a transient fault, or `IN_PROGRESS`).
    #[command(subcommand)]
    Inbox(InboxCommand),
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The PayPal subscriber export (CSV).
    pub export: PathBuf,
    /// Where to write the report CSV (one line per input row).
    #[arg(long, default_value = "paypal-migration-report.csv")]
    pub report: PathBuf,
    /// The journal of finished rows (reused by a rerun). Default: the
    /// export's path with `.journal.jsonl` appended.
    #[arg(long)]
    pub journal: Option<PathBuf>,
    /// Validate and report what would happen; change nothing anywhere.
    #[arg(long)]
    pub dry_run: bool,
    /// Rows processed at once (Polo's rate limits are honoured per call).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct ReconcileArgs {
    /// One account id (repeat for several).
    #[arg(long = "account", value_name = "ACCOUNT_ID")]
    pub accounts: Vec<String>,
    /// Every account that has a Polo subscription.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Subcommand)]
pub enum ReplayCommand {
    /// Parked events: key, reason, age, account, event type.
    List {
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Reprocess parked events (the signature's time window is skipped: they
    /// were verified on arrival). Idempotent: a replayed event is not parked
    /// any more, so replaying it again does nothing. A replay that fails
    /// leaves the event parked, as it was. `--all` skips `body_conflict`
    /// records (a second body under a known id): name each one to replay it.
    Run(ReplayRunArgs),
    /// Resolve a parked event WITHOUT applying it (e.g. a test event sent to
    /// production). Recorded on the event with the reason; it then expires
    /// like a completed one (30 days).
    Discard {
        /// The parked record's key (as `replay list` shows it).
        key: String,
        /// Why it is discarded (kept on the record, and logged).
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum InboxCommand {
    /// Open deliveries, earliest due first: key, status, attempts, age.
    List {
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// After fixing the cause: every PENDING delivery (or the one named) is
    /// made due now, then the retry sweep runs (what `webhook-retry` does
    /// every minute, without waiting out the backoff).
    Retry {
        /// A PENDING record's key (as `inbox list` shows it).
        key: Option<String>,
    },
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct ReplayRunArgs {
    /// The parked record's key (as `replay list` shows it).
    pub key: Option<String>,
    /// Every parked event.
    #[arg(long)]
    pub all: bool,
}
