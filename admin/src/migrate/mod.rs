//! `migrate-paypal`: moves every PayPal subscriber onto the Polo side
//! without losing a paid day or charging twice. Per row of the export:
//! validate (a bad row is reported with its line and skipped), read the
//! account (unknown, or already entitled on Polo: left alone), ensure its
//! Polo customer by natural key, then mark the account `paypal` until its
//! paid-through date — its checkout then gives a Polo trial to that date.
//! Every step is idempotent and every finished row is journaled, so a rerun
//! after a crash or Ctrl-C skips what is done, creates nothing twice, and
//! reports every row as the first run would have.

pub mod journal;
pub mod report;
pub mod rows;

use billing::clock::Clock;
use billing::domain::PaypalLegacy;
use billing::polo::ports::BillingApi;
use billing::polo::ports::PoloError;
use billing::updater::{AccountUpdater, Cause, UpdateError};
use journal::Journal;
use report::{Outcome, ReportLine};
use rows::{PaypalStatus, Row};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;
use time::Duration;

/// What the migration talks to: the same ports the functions use.
#[derive(Clone)]
pub struct Ports {
    pub polo: Arc<dyn BillingApi>,
    pub updater: Arc<AccountUpdater>,
    pub clock: Arc<dyn Clock>,
}

pub struct Options {
    pub input: PathBuf,
    pub report: PathBuf,
    /// Where finished rows are recorded (required unless `dry_run`).
    pub journal: PathBuf,
    pub dry_run: bool,
    /// Rows in flight at once.
    pub concurrency: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub rows: usize,
    pub counts: BTreeMap<&'static str, usize>,
    /// Rows finished by an earlier run (skipped now, reported as they were).
    pub resumed: usize,
    /// Stopped (Ctrl-C) before every row was done: rerun to finish.
    pub interrupted: bool,
}

impl Summary {
    pub fn count(&self, outcome: Outcome) -> usize {
        self.counts.get(outcome.as_str()).copied().unwrap_or(0)
    }
}

fn line_of(row: &Row, outcome: Outcome, detail: impl Into<String>) -> ReportLine {
    ReportLine {
        line: row.line,
        paypal_subscription_id: row.paypal_subscription_id.clone(),
        account: row.account.to_string(),
        email: row.email.clone(),
        tier: row.tier.as_str().to_owned(),
        paid_through: row
            .paid_through
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_default(),
        outcome,
        detail: detail.into(),
    }
}

fn invalid_line(invalid: &rows::Invalid) -> ReportLine {
    ReportLine {
        line: invalid.line,
        paypal_subscription_id: invalid.paypal_subscription_id.clone(),
        account: String::new(),
        email: String::new(),
        tier: String::new(),
        paid_through: String::new(),
        outcome: Outcome::Invalid,
        detail: invalid.reason.clone(),
    }
}

/// Runs the migration. `on_row` sees every row as it finishes (progress);
/// `stop` ends the run between rows (Ctrl-C). `Err` only when the input,
/// journal or report cannot be used at all.
pub async fn run(
    ports: &Ports,
    options: &Options,
    on_row: &(dyn Fn(&ReportLine) + Send + Sync),
    stop: &AtomicBool,
) -> Result<(Summary, Vec<ReportLine>), String> {
    let parsed = rows::read(&options.input)?;
    let (journal, done) = if options.dry_run {
        (None, Default::default())
    } else {
        let (journal, done) = Journal::open(&options.journal)?;
        (Some(Arc::new(journal)), done)
    };
    let mut summary = Summary {
        rows: parsed.len(),
        ..Summary::default()
    };
    let mut lines = Vec::with_capacity(parsed.len());
    let permits = Arc::new(tokio::sync::Semaphore::new(options.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for entry in parsed {
        let key = match &entry {
            Ok(row) => journal::key(row.line, &row.paypal_subscription_id),
            Err(invalid) => journal::key(invalid.line, &invalid.paypal_subscription_id),
        };
        if let Some(finished) = done.get(&key) {
            summary.resumed += 1;
            on_row(finished);
            lines.push(finished.clone());
            continue;
        }
        if stop.load(Ordering::SeqCst) {
            summary.interrupted = true;
            break;
        }
        let row = match entry {
            Ok(row) => row,
            Err(invalid) => {
                let line = invalid_line(&invalid);
                if let Some(journal) = &journal {
                    journal.record(&line).await?;
                }
                on_row(&line);
                lines.push(line);
                continue;
            }
        };
        let permit = Arc::clone(&permits)
            .acquire_owned()
            .await
            .map_err(|e| format!("internal: {e}"))?;
        let ports = ports.clone();
        let journal = journal.clone();
        let dry_run = options.dry_run;
        tasks.spawn(async move {
            let line = migrate_row(&ports, &row, dry_run).await;
            let recorded = match (&journal, line.outcome.is_final()) {
                (Some(journal), true) => journal.record(&line).await,
                _ => Ok(()),
            };
            drop(permit);
            recorded.map(|()| line)
        });
        // Report rows as they finish, not only at the end.
        while let Some(finished) = tasks.try_join_next() {
            let line = finished.map_err(|e| format!("internal: {e}"))??;
            on_row(&line);
            lines.push(line);
        }
    }
    while let Some(finished) = tasks.join_next().await {
        let line = finished.map_err(|e| format!("internal: {e}"))??;
        on_row(&line);
        lines.push(line);
    }
    for line in &lines {
        *summary.counts.entry(line.outcome.as_str()).or_default() += 1;
    }
    report::write(&options.report, &mut lines)?;
    Ok((summary, lines))
}

/// One valid row, every step idempotent.
async fn migrate_row(ports: &Ports, row: &Row, dry_run: bool) -> ReportLine {
    if row.status != PaypalStatus::Active {
        return line_of(row, Outcome::SkippedInactive, row.status.as_str());
    }
    let Some(paid_through) = row.paid_through else {
        return line_of(row, Outcome::Invalid, "next_billing_time: missing");
    };
    let now = ports.clock.now();
    let deadline = now + Duration::seconds(60);
    let account = match ports.updater.accounts.get(&row.account).await {
        Ok(Some(account)) => account,
        Ok(None) => return line_of(row, Outcome::UnknownAccount, "not in the account store"),
        Err(err) => return line_of(row, Outcome::Failed, format!("account store: {err}")),
    };
    if account.entitled_on_polo(now) {
        return line_of(
            row,
            Outcome::AlreadyOnPolo,
            "an entitled Polo subscription exists",
        );
    }
    if dry_run {
        let detail = match ports
            .polo
            .customer_for_account(&row.account, deadline)
            .await
        {
            Ok(Some(_)) => "Polo customer exists",
            Ok(None) => "Polo customer would be created",
            Err(err) => return line_of(row, Outcome::Failed, format!("Polo: {err}")),
        };
        return line_of(row, Outcome::WouldMigrate, detail);
    }
    let customer = match ports
        .polo
        .ensure_customer(&row.account, &row.email, deadline)
        .await
    {
        Ok(customer) => customer,
        Err(PoloError::Validation(detail)) => {
            return line_of(
                row,
                Outcome::Invalid,
                format!("Polo refused the customer: {detail}"),
            )
        }
        Err(err) => return line_of(row, Outcome::Failed, format!("Polo: {err}")),
    };
    let legacy = PaypalLegacy {
        subscription_id: row.paypal_subscription_id.clone(),
        tier: row.tier,
        paid_through,
    };
    let cause = Cause {
        event_id: format!("migrate-paypal:{}", row.paypal_subscription_id),
        event_type: "paypal.migrated".to_owned(),
    };
    match ports
        .updater
        .mark_paypal(&row.account, &legacy, &customer.id, &cause, deadline)
        .await
    {
        Ok(Some(_)) => line_of(row, Outcome::Migrated, ""),
        Ok(None) => line_of(
            row,
            Outcome::AlreadyOnPolo,
            "an entitled Polo subscription exists",
        ),
        Err(UpdateError::UnknownAccount) => {
            line_of(row, Outcome::UnknownAccount, "not in the account store")
        }
        Err(err) => line_of(row, Outcome::Failed, format!("account store: {err}")),
    }
}
