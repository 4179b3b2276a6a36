//! `provisioning-sync` (every minute): pushes every account that needs a
//! push — desired ≠ acknowledged, or a recorded push intent newer than the
//! acknowledgement (a push whose outcome is unknown) — at its current
//! version, through the same intent step as every writer, and reports the
//! oldest such account's age (alarmed past 10 minutes). This is what makes a crash, a
//! timeout or an orchestrator outage delay credentials instead of losing them.
//! Accounts are paged through in accountId order with a cursor, each pushed
//! once per run: one whose push keeps failing is counted as not pushed and
//! never holds back the ones after it, and a run out of time leaves a resume
//! point for the next ([`SyncPosition`]).
//! It also sends the queued PayPal cancellations of migrated subscribers
//! (retried every run; the oldest one's age is alarmed past a day).

use crate::accounts::AccountStore;
use crate::clock::Clock;
use crate::paypal::Canceller;
use crate::telemetry::{error_chain, MetricSink};
use crate::updater::{AccountUpdater, Cause};
use time::OffsetDateTime;
use tracing::{error, info, warn};

/// Accounts read per page.
const PAGE: usize = 100;
/// Kept back from the invocation's deadline: one account-store call's budget.
const STORE_CALL_RESERVE: time::Duration = time::Duration::seconds(3);
/// The invocation's last seconds, for the PayPal cancellations.
const PAYPAL_RESERVE: time::Duration = time::Duration::seconds(10);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub mismatched: usize,
    pub acknowledged: usize,
    /// Accounts pushed this run that still need a push (the orchestrator
    /// refused or failed, or the push could not be recorded).
    pub not_pushed: usize,
    /// The deadline came before every account needing a push was reached.
    pub out_of_time: bool,
    /// Where the next run should start when this one ran out of time: the
    /// last account it reached (`None`: it reached them all).
    pub resume_after: Option<String>,
    /// Seconds since the oldest account still needing a push started to
    /// (its entitlement change or unacknowledged intent; 0 if none).
    pub oldest_unacknowledged_seconds: i64,
    /// Seconds since the oldest push still unacknowledged was recorded
    /// (its outcome unknown: the orchestrator may hold it; 0 if none).
    pub oldest_unacknowledged_intent_seconds: i64,
}

/// Where the next `provisioning-sync` run starts, kept in the warm
/// function's memory between its every-minute runs.
///
/// Why a resume point rather than starting over at the first account every
/// run: a run reaches each account once, in accountId order, but a push
/// that fails slowly (a timeout) costs seconds, so a run can end before
/// the last page however cheap pages are. Starting over would then hand
/// every run's time to the same first accounts and the ones behind them
/// would starve; starting after the last account reached, and wrapping
/// round to the beginning, gives every account its turn within a few runs.
/// A cold start (or a lost position) begins at the start again, which is
/// where a run with no resume point begins anyway: the position is only
/// ever a place in accountId order, never needed for correctness.
#[derive(Debug, Default)]
pub struct SyncPosition(std::sync::Mutex<Option<String>>);

impl SyncPosition {
    pub fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set(&self, resume_after: Option<String>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = resume_after;
    }
}

#[derive(Debug, thiserror::Error)]
#[error("could not list provisioning mismatches")]
pub struct SyncError(#[source] crate::accounts::AccountStoreError);

/// One run from the first account (see [`run_from`]).
pub async fn run(
    updater: &AccountUpdater,
    accounts: &dyn AccountStore,
    clock: &dyn Clock,
    metrics: &dyn MetricSink,
    run_id: &str,
    deadline: OffsetDateTime,
) -> Result<SyncReport, SyncError> {
    run_from(updater, accounts, clock, metrics, run_id, deadline, None).await
}

/// One run: pages through every account needing a push, in accountId order
/// after `start`, then from the beginning up to `start` (a run that starts
/// at the beginning makes one pass), pushing each account reached once.
/// An account whose push fails is counted in `not_pushed` and left for the
/// next run; it never holds back the accounts after it.
pub async fn run_from(
    updater: &AccountUpdater,
    accounts: &dyn AccountStore,
    clock: &dyn Clock,
    metrics: &dyn MetricSink,
    run_id: &str,
    deadline: OffsetDateTime,
    start: Option<&str>,
) -> Result<SyncReport, SyncError> {
    let cause = Cause {
        event_id: format!("provisioning-sync:{run_id}"),
        event_type: "provisioning-sync".to_owned(),
    };
    let mut report = SyncReport::default();
    let mut oldest: Option<OffsetDateTime> = None;
    let mut oldest_intent: Option<OffsetDateTime> = None;
    let mut reached: Option<String> = None;
    // (first cursor, last account of the pass): after `start` to the end,
    // then the beginning up to `start`.
    let mut passes = vec![(start.map(str::to_owned), None)];
    if let Some(start) = start {
        passes.push((None, Some(start.to_owned())));
    }
    'passes: for (mut cursor, until) in passes {
        loop {
            if clock.now() >= deadline {
                report.out_of_time = true;
                break 'passes;
            }
            let page = accounts
                .list_provisioning_mismatches(cursor.as_deref(), PAGE)
                .await
                .map_err(|e| {
                    error!(error = %error_chain(&e), "provisioning-sync could not list mismatches");
                    // Cannot tell which accounts wait: a breaching datum.
                    for metric in [
                        "ProvisioningMismatchAgeSeconds",
                        "ProvisioningUnacknowledgedIntentAgeSeconds",
                    ] {
                        metrics.record(
                            metric,
                            crate::telemetry::metrics::UNKNOWN_AGE_SECONDS,
                            "Seconds",
                            &[],
                        );
                    }
                    SyncError(e)
                })?;
            for account in page.accounts {
                if until
                    .as_deref()
                    .is_some_and(|until| account.account_id.as_str() > until)
                {
                    break 'passes;
                }
                if clock.now() >= deadline {
                    report.out_of_time = true;
                    break 'passes;
                }
                reached = Some(account.account_id.as_str().to_owned());
                report.mismatched += 1;
                let since = account.needs_push_since();
                let account_id = account.account_id.clone();
                let after = updater.provision(account, &cause, deadline).await;
                if after.needs_push() {
                    report.not_pushed += 1;
                    warn!(account_id = %account_id, "provisioning-sync could not push the account; next run pushes it again");
                    if let Some(at) = after.needs_push_since().or(since) {
                        oldest = Some(oldest.map_or(at, |o| o.min(at)));
                    }
                    // A retry re-sends the recorded intent of the same version
                    // (no new one), so its time is when that push first went out.
                    if let Some(at) = after.unacknowledged_intent().map(|i| i.at) {
                        oldest_intent = Some(oldest_intent.map_or(at, |o| o.min(at)));
                    }
                } else {
                    report.acknowledged += 1;
                }
            }
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    if report.out_of_time {
        report.resume_after = reached.or_else(|| start.map(str::to_owned));
    }
    let age = |at: Option<OffsetDateTime>| {
        at.map(|at| (clock.now() - at).whole_seconds().max(0))
            .unwrap_or(0)
    };
    report.oldest_unacknowledged_seconds = age(oldest);
    report.oldest_unacknowledged_intent_seconds = age(oldest_intent);
    metrics.record(
        "ProvisioningMismatchAgeSeconds",
        report.oldest_unacknowledged_seconds as f64,
        "Seconds",
        &[],
    );
    metrics.record(
        "ProvisioningUnacknowledgedIntentAgeSeconds",
        report.oldest_unacknowledged_intent_seconds as f64,
        "Seconds",
        &[],
    );
    metrics.record(
        "ProvisioningNotPushedAccounts",
        report.not_pushed as f64,
        "Count",
        &[],
    );
    info!(
        mismatched = report.mismatched,
        acknowledged = report.acknowledged,
        not_pushed = report.not_pushed,
        out_of_time = report.out_of_time,
        oldest_unacknowledged_seconds = report.oldest_unacknowledged_seconds,
        oldest_unacknowledged_intent_seconds = report.oldest_unacknowledged_intent_seconds,
        "provisioning-sync finished"
    );
    Ok(report)
}

/// What a run did with the queued PayPal cancellations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaypalReport {
    pub sent: usize,
    pub failed: usize,
    /// Seconds since the oldest cancellation still pending was queued.
    pub oldest_pending_seconds: i64,
}

/// Sends every queued PayPal cancellation (`canceller: None` when PayPal is
/// not configured: nothing is sent, the age still reported and alarmed).
pub async fn cancel_paypal(
    updater: &AccountUpdater,
    canceller: Option<&dyn Canceller>,
    run_id: &str,
    deadline: OffsetDateTime,
) -> Result<PaypalReport, SyncError> {
    let cause = Cause {
        event_id: format!("provisioning-sync:{run_id}"),
        event_type: "paypal.cancellation".to_owned(),
    };
    let mut report = PaypalReport::default();
    let mut oldest: Option<OffsetDateTime> = None;
    let mut cursor: Option<String> = None;
    // Out of time, the accounts not read wait for the next run (and are
    // missing from this run's age, which the earlier runs' ages covered).
    while updater.clock.now() < deadline {
        let page = updater
            .accounts
            .list_pending_paypal_cancellations(cursor.as_deref(), PAGE)
            .await
            .map_err(|e| {
                error!(error = %error_chain(&e), "provisioning-sync could not list PayPal cancellations");
                // A migrated customer may be charged twice while this lasts:
                // never let it pass as "nothing pending".
                updater.metrics.record(
                    "PaypalCancellationPendingAgeSeconds",
                    crate::telemetry::metrics::UNKNOWN_AGE_SECONDS,
                    "Seconds",
                    &[],
                );
                SyncError(e)
            })?;
        for account in page.accounts {
            let Some(pending) = account.pending_paypal_cancellation.clone() else {
                continue;
            };
            let outcome = match canceller {
                Some(paypal) if updater.clock.now() < deadline => Some(
                    paypal
                        .cancel(&pending.subscription_id, "Moved to Polo billing", deadline)
                        .await,
                ),
                _ => None,
            };
            let done = match &outcome {
                Some(Ok(how)) => {
                    info!(account_id = %account.account_id, outcome = ?how, "PayPal subscription cancelled");
                    report.sent += 1;
                    true
                }
                Some(Err(err)) => {
                    warn!(account_id = %account.account_id, error = %error_chain(err), "PayPal cancellation failed; retried next run");
                    report.failed += 1;
                    false
                }
                None => false,
            };
            if outcome.is_some() {
                if let Err(err) = updater
                    .record_paypal_cancellation(
                        &account.account_id,
                        &pending.subscription_id,
                        done,
                        &cause,
                        deadline,
                    )
                    .await
                {
                    // PayPal's cancel is idempotent: the next run sends it again.
                    warn!(account_id = %account.account_id, error = %error_chain(&err), "could not record the PayPal cancellation");
                }
            }
            if !done {
                oldest = Some(oldest.map_or(pending.queued_at, |o| o.min(pending.queued_at)));
            }
        }
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    report.oldest_pending_seconds = oldest
        .map(|at| (updater.clock.now() - at).whole_seconds().max(0))
        .unwrap_or(0);
    updater.metrics.record(
        "PaypalCancellationPendingAgeSeconds",
        report.oldest_pending_seconds as f64,
        "Seconds",
        &[],
    );
    Ok(report)
}

/// The scheduled function's handler: one run per EventBridge event, bounded
/// by the invocation's deadline.
pub async fn handle_scheduled(
    app: &crate::app::SyncApp,
    event: lambda_runtime::LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, lambda_runtime::Error> {
    let deadline = crate::http::deadline::lambda_deadline(event.context.deadline)
        .unwrap_or_else(|| app.clock.now() + time::Duration::seconds(50));
    // The last Convex call may start just before its deadline and take its
    // own budget: stop early enough for it to finish inside the invocation,
    // and leave the PayPal cancellations their share.
    let paypal_deadline = deadline - STORE_CALL_RESERVE;
    let sync_deadline = paypal_deadline - PAYPAL_RESERVE;
    let synced = run_from(
        &app.updater,
        &*app.updater.accounts,
        &*app.clock,
        &*app.metrics,
        &event.context.request_id,
        sync_deadline,
        app.position.get().as_deref(),
    )
    .await;
    if let Ok(report) = &synced {
        app.position.set(report.resume_after.clone());
    }
    // The PayPal cancellations run even when the pushes could not be
    // listed: each job reports (and alarms) on its own.
    let paypal = cancel_paypal(
        &app.updater,
        app.paypal.as_deref(),
        &event.context.request_id,
        paypal_deadline,
    )
    .await;
    let report = synced.map_err(|e| Box::new(e) as lambda_runtime::Error)?;
    let paypal = paypal.map_err(|e| Box::new(e) as lambda_runtime::Error)?;
    Ok(serde_json::json!({
        "mismatched": report.mismatched,
        "acknowledged": report.acknowledged,
        "notPushed": report.not_pushed,
        "outOfTime": report.out_of_time,
        "oldestUnacknowledgedSeconds": report.oldest_unacknowledged_seconds,
        "oldestUnacknowledgedIntentSeconds": report.oldest_unacknowledged_intent_seconds,
        "paypalCancelled": paypal.sent,
        "paypalFailed": paypal.failed,
        "oldestPaypalPendingSeconds": paypal.oldest_pending_seconds,
    }))
}
