//! Reconciliation: Polo's subscriptions are the truth, so for an account we
//! fetch every subscription of its customer and apply each through the one
//! `apply()` (a stale one stays stale; two live ones raise the duplicate
//! alarm), then re-derive the account at the current time so an entitlement
//! that ran out ends even when no webhook ever came. Used by the admin CLI
//! (one account, a list, every Polo subscriber) and by the hourly scheduled
//! `reconcile` function (accounts past expiry + grace, or `past_due`).

use crate::accounts::AccountStore;
use crate::clock::Clock;
use crate::domain::{self, AccountBilling, AccountId, Decision};
use crate::polo::catalogue::Catalogue;
use crate::polo::ports::BillingApi;
use crate::polo::ports::PoloError;
use crate::telemetry::{error_chain, MetricSink};
use crate::updater::{AccountUpdater, Cause, UpdateError, UpdateOutcome};
use std::sync::Arc;
use time::OffsetDateTime;
use tracing::{error, info, warn};

/// Polo pages read per account at most (100 subscriptions a page).
const MAX_PAGES: u32 = 20;
/// Accounts the scheduled run reads per page.
pub const SCHEDULED_PAGE: usize = 100;

/// What reconciling one account did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountReport {
    /// Subscriptions Polo holds for the account.
    pub subscriptions: usize,
    pub applied: usize,
    pub unchanged: usize,
    pub stale: usize,
    /// Subscriptions that could not be applied (unknown product...), with why.
    pub skipped: Vec<String>,
    /// The re-derivation at the current time changed the account (expiry).
    pub expired: bool,
}

/// What a run over several accounts did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    pub accounts: usize,
    pub changed: usize,
    pub failed: Vec<(AccountId, String)>,
    /// The run ran out of time: more accounts wait for the next run.
    pub backlog: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("Polo failed")]
    Polo(#[from] PoloError),
    #[error("the account could not be updated")]
    Update(#[from] UpdateError),
    #[error("the account store could not list accounts")]
    List(#[source] crate::accounts::AccountStoreError),
}

pub struct Reconciler {
    pub polo: Arc<dyn BillingApi>,
    pub updater: Arc<AccountUpdater>,
    pub accounts: Arc<dyn AccountStore>,
    pub catalogue: Arc<Catalogue>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn MetricSink>,
}

impl Reconciler {
    /// Applies every Polo subscription of `account`, then its expiry.
    pub async fn account(
        &self,
        account: &AccountId,
        run: &str,
        deadline: OffsetDateTime,
    ) -> Result<AccountReport, ReconcileError> {
        let cause = Cause {
            event_id: format!("reconcile:{run}"),
            event_type: "reconcile".to_owned(),
        };
        let mut report = AccountReport::default();
        // The account as the last apply left it (`None`: not known).
        let mut last: Option<AccountBilling> = None;
        let mut page = 1;
        loop {
            let answer = self
                .polo
                .list_subscriptions(account, page, deadline)
                .await?;
            for found in &answer.items {
                report.subscriptions += 1;
                let snapshot = match found.snapshot(&self.catalogue) {
                    Ok(s) if &s.account_id == account => s,
                    Ok(_) => {
                        report
                            .skipped
                            .push(format!("{}: another account's", found.id()));
                        continue;
                    }
                    Err(err) => {
                        report.skipped.push(format!("{}: {err}", found.id()));
                        continue;
                    }
                };
                last = match self
                    .updater
                    .apply_snapshot(&snapshot, &cause, deadline)
                    .await?
                {
                    UpdateOutcome::Applied(account) => {
                        report.applied += 1;
                        Some(account)
                    }
                    UpdateOutcome::Unchanged(account) => {
                        report.unchanged += 1;
                        Some(account)
                    }
                    UpdateOutcome::Stale => {
                        report.stale += 1;
                        None
                    }
                };
            }
            if page >= answer.max_page.min(MAX_PAGES) {
                break;
            }
            page += 1;
        }
        // The re-derivation reads the account again only when the one just
        // written (or read) would change or still needs a push: a
        // reconcile of an account in step is one read, not two. A writer
        // that raced in since derived at its own, later `now`.
        let settled = last.is_some_and(|known| {
            !known.needs_push()
                && matches!(
                    domain::refresh(&known, self.clock.now()),
                    Decision::Unchanged
                )
        });
        report.expired = !settled
            && matches!(
                self.updater.refresh(account, &cause, deadline).await?,
                UpdateOutcome::Applied(_)
            );
        if !report.skipped.is_empty() {
            warn!(account_id = %account, skipped = ?report.skipped, "reconcile skipped subscriptions");
        }
        info!(account_id = %account, ?report, "account reconciled");
        Ok(report)
    }

    /// Reconciles each account; one account's failure does not stop the rest.
    pub async fn accounts(
        &self,
        ids: &[AccountId],
        run: &str,
        deadline: OffsetDateTime,
    ) -> RunReport {
        self.accounts_with(ids, run, deadline, &|_| {}).await
    }

    /// [`Self::accounts`], telling `on_account` after each account (an
    /// operator's progress bar).
    pub async fn accounts_with(
        &self,
        ids: &[AccountId],
        run: &str,
        deadline: OffsetDateTime,
        on_account: &(dyn Fn(&AccountId) + Sync),
    ) -> RunReport {
        let mut report = RunReport::default();
        for id in ids {
            if self.clock.now() >= deadline {
                report.backlog = true;
                break;
            }
            report.accounts += 1;
            match self.account(id, run, deadline).await {
                Ok(r) if r.applied > 0 || r.expired => report.changed += 1,
                Ok(_) => {}
                Err(err) => {
                    error!(account_id = %id, error = %error_chain(&err), "reconcile failed for an account");
                    report.failed.push((id.clone(), err.to_string()));
                }
            }
            on_account(id);
        }
        report
    }

    /// Every account with a Polo subscription, page by page.
    pub async fn all_subscribers(
        &self,
        run: &str,
        deadline: OffsetDateTime,
    ) -> Result<RunReport, ReconcileError> {
        self.all_subscribers_with(run, deadline, &|_| {}).await
    }

    /// [`Self::all_subscribers`], telling `on_account` after each account.
    pub async fn all_subscribers_with(
        &self,
        run: &str,
        deadline: OffsetDateTime,
        on_account: &(dyn Fn(&AccountId) + Sync),
    ) -> Result<RunReport, ReconcileError> {
        let mut total = RunReport::default();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .accounts
                .list_polo_subscribers(cursor.as_deref(), 100)
                .await
                .map_err(ReconcileError::List)?;
            let part = self
                .accounts_with(&page.account_ids, run, deadline, on_account)
                .await;
            total.accounts += part.accounts;
            total.changed += part.changed;
            total.failed.extend(part.failed);
            if part.backlog {
                total.backlog = true;
                return Ok(total);
            }
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(total),
            }
        }
    }

    /// The hourly safety net: accounts past expiry + grace or `past_due`,
    /// paged through with the store's cursor until none are left or the
    /// deadline comes (then `backlog`, alarmed).
    ///
    /// Each run starts over: runs are an hour apart, so a resume point kept
    /// in memory would rarely survive to the next one. The store lists the
    /// accounts whose entitlement has lapsed (credentials to revoke) before
    /// the `past_due` ones (not entitled already; reconciled for a
    /// recovery), so a backlog of `past_due` accounts never holds back a
    /// revocation.
    pub async fn scheduled(
        &self,
        run: &str,
        deadline: OffsetDateTime,
    ) -> Result<RunReport, ReconcileError> {
        // One `now` for the whole run, so that an account cannot move from
        // one of the store's passes to the other between two pages.
        let now = self.clock.now();
        let mut report = RunReport::default();
        let mut cursor: Option<String> = None;
        loop {
            if self.clock.now() >= deadline {
                report.backlog = true;
                break;
            }
            let page = self
                .accounts
                .list_expired(now, cursor.as_deref(), SCHEDULED_PAGE)
                .await
                .map_err(ReconcileError::List)?;
            let ids: Vec<AccountId> = page.accounts.into_iter().map(|a| a.account_id).collect();
            let part = self.accounts(&ids, run, deadline).await;
            report.accounts += part.accounts;
            report.changed += part.changed;
            report.failed.extend(part.failed);
            if part.backlog {
                report.backlog = true;
                break;
            }
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        self.metrics.record(
            "ReconcileFailedAccounts",
            report.failed.len() as f64,
            "Count",
            &[],
        );
        self.metrics.record(
            "ReconcileBacklog",
            if report.backlog { 1.0 } else { 0.0 },
            "Count",
            &[],
        );
        info!(
            accounts = report.accounts,
            changed = report.changed,
            failed = report.failed.len(),
            backlog = report.backlog,
            "scheduled reconcile finished"
        );
        Ok(report)
    }
}
