//! `provisioning-sync` (every minute): pushes every account that needs a
//! push — desired ≠ acknowledged, or a recorded push intent newer than the
//! acknowledgement (a push whose outcome is unknown) — at its current
//! version, through the same intent step as every writer, and reports the
//! oldest such account's age (alarmed past 10 minutes). This is what makes a crash, a
//! timeout or an orchestrator outage delay credentials instead of losing them.
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

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub mismatched: usize,
    pub acknowledged: usize,
    /// Seconds since the oldest account still needing a push started to
    /// (its entitlement change or unacknowledged intent; 0 if none).
    pub oldest_unacknowledged_seconds: i64,
    /// Seconds since the oldest push still unacknowledged was recorded
    /// (its outcome unknown: the orchestrator may hold it; 0 if none).
    pub oldest_unacknowledged_intent_seconds: i64,
}

#[derive(Debug, thiserror::Error)]
#[error("could not list provisioning mismatches")]
pub struct SyncError(#[source] crate::accounts::AccountStoreError);

pub async fn run(
    updater: &AccountUpdater,
    accounts: &dyn AccountStore,
    clock: &dyn Clock,
    metrics: &dyn MetricSink,
    run_id: &str,
    deadline: OffsetDateTime,
) -> Result<SyncReport, SyncError> {
    let cause = Cause {
        event_id: format!("provisioning-sync:{run_id}"),
        event_type: "provisioning-sync".to_owned(),
    };
    let mut report = SyncReport::default();
    let mut oldest: Option<OffsetDateTime> = None;
    let mut oldest_intent: Option<OffsetDateTime> = None;
    let mut seen = std::collections::HashSet::new();
    loop {
        let page = accounts
            .list_provisioning_mismatches(PAGE)
            .await
            .map_err(|e| {
                error!(error = %error_chain(&e), "provisioning-sync could not list mismatches");
                SyncError(e)
            })?;
        // An account still listed after its push failed would come back on
        // every page: stop once a page holds nothing new.
        let fresh: Vec<_> = page
            .into_iter()
            .filter(|a| seen.insert(a.account_id.clone()))
            .collect();
        if fresh.is_empty() || clock.now() >= deadline {
            break;
        }
        for account in fresh {
            report.mismatched += 1;
            let since = account.needs_push_since();
            let after = updater.provision(account, &cause, deadline).await;
            if after.needs_push() {
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
    info!(
        mismatched = report.mismatched,
        acknowledged = report.acknowledged,
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
    let queued = updater
        .accounts
        .list_pending_paypal_cancellations(PAGE)
        .await
        .map_err(SyncError)?;
    let mut report = PaypalReport::default();
    let mut oldest: Option<OffsetDateTime> = None;
    for account in queued {
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
    let deadline = i128::from(event.context.deadline)
        .checked_mul(1_000_000)
        .and_then(|ns| OffsetDateTime::from_unix_timestamp_nanos(ns).ok())
        .filter(|_| event.context.deadline > 0)
        .unwrap_or_else(|| app.clock.now() + time::Duration::seconds(50));
    let report = run(
        &app.updater,
        &*app.updater.accounts,
        &*app.clock,
        &*app.metrics,
        &event.context.request_id,
        deadline,
    )
    .await
    .map_err(|e| Box::new(e) as lambda_runtime::Error)?;
    let paypal = cancel_paypal(
        &app.updater,
        app.paypal.as_deref(),
        &event.context.request_id,
        deadline,
    )
    .await
    .map_err(|e| Box::new(e) as lambda_runtime::Error)?;
    Ok(serde_json::json!({
        "mismatched": report.mismatched,
        "acknowledged": report.acknowledged,
        "oldestUnacknowledgedSeconds": report.oldest_unacknowledged_seconds,
        "oldestUnacknowledgedIntentSeconds": report.oldest_unacknowledged_intent_seconds,
        "paypalCancelled": paypal.sent,
        "paypalFailed": paypal.failed,
        "oldestPaypalPendingSeconds": paypal.oldest_pending_seconds,
    }))
}
