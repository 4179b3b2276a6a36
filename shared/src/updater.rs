//! Applies a change to a stored account and keeps the provisioning
//! orchestrator in step — the one path every writer takes (webhooks,
//! checkout confirmation, plan change, reconciliation, provisioning-sync).
//!
//! The provisioning protocol (design.md "Provisioning is level-triggered"),
//! which must hold for every interleaving of concurrent writers and every
//! crash point (tests/interleavings explores them):
//! 1. read the account; `apply()`;
//! 2. compare-and-set it with its audit row (on a version conflict: re-read
//!    and re-apply, a bounded number of times). When the result needs a
//!    push, the same write records the intent "pushing E at version v"
//!    (write-ahead), so the common case — no entitlement change, nothing
//!    outstanding — pays no extra write;
//! 3. push (account, E, v) only after that intent committed; a push whose
//!    intent lost its compare-and-set is never sent (the writer that won
//!    decides, from a fresh read);
//! 4. record the acknowledgement monotonically (kept unless a newer one is
//!    recorded, whatever the account version has become).
//!
//! An account needs a push while desired ≠ acknowledged or while an intent
//! is newer than the acknowledgement (a push whose outcome is unknown). A
//! failed push never fails the caller: `provisioning-sync` pushes every
//! account that needs it, through the same intent step.

use crate::accounts::{AccountStore, AccountStoreError, AuditEntry};
use crate::clock::Clock;
use crate::domain::{
    self, AccountBilling, AccountId, CustomerId, Decision, PaypalLegacy, Policy,
    ProvisionedEntitlement, SubscriptionSnapshot,
};
use crate::provisioning::{ProvisionError, Provisioner, ProvisioningRequest};
use crate::telemetry::{error_chain, MetricSink};
use std::sync::Arc;
use time::OffsetDateTime;
use tracing::{error, info, warn};

/// How many times a compare-and-set lost to a concurrent writer is retried.
const CAS_ATTEMPTS: usize = 4;

/// What caused a change: recorded in the audit row and the push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// The webhook id, checkout id or job run.
    pub event_id: String,
    /// The event type or job name.
    pub event_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateOutcome {
    Applied(AccountBilling),
    Unchanged(AccountBilling),
    Stale,
}

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("unknown account")]
    UnknownAccount,
    #[error("the account store refused the write: {0}")]
    Rejected(String),
    #[error("account store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<AccountStoreError> for UpdateError {
    fn from(err: AccountStoreError) -> Self {
        match err {
            AccountStoreError::NotFound => Self::UnknownAccount,
            AccountStoreError::Rejected(detail) => Self::Rejected(detail),
            other => Self::Unavailable(Box::new(other)),
        }
    }
}

pub struct AccountUpdater {
    pub accounts: Arc<dyn AccountStore>,
    pub provisioner: Arc<dyn Provisioner>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn MetricSink>,
    pub policy: Policy,
}

impl AccountUpdater {
    /// Applies a subscription snapshot to its account.
    pub async fn apply_snapshot(
        &self,
        snapshot: &SubscriptionSnapshot,
        cause: &Cause,
        deadline: OffsetDateTime,
    ) -> Result<UpdateOutcome, UpdateError> {
        let policy = self.policy;
        self.update(&snapshot.account_id, cause, deadline, |current, now| {
            domain::apply(current, snapshot, now, &policy)
        })
        .await
    }

    /// Re-derives an account at the current time (entitlement that ran out).
    pub async fn refresh(
        &self,
        account_id: &AccountId,
        cause: &Cause,
        deadline: OffsetDateTime,
    ) -> Result<UpdateOutcome, UpdateError> {
        self.update(account_id, cause, deadline, domain::refresh)
            .await
    }

    /// The PayPal migration: marks the account as a PayPal subscriber until
    /// its paid-through date (see `domain::mark_paypal`). `Ok(None)`: refused
    /// because a Polo subscription already grants access; nothing written.
    pub async fn mark_paypal(
        &self,
        account_id: &AccountId,
        legacy: &PaypalLegacy,
        customer: &CustomerId,
        cause: &Cause,
        deadline: OffsetDateTime,
    ) -> Result<Option<UpdateOutcome>, UpdateError> {
        let refused = std::sync::atomic::AtomicBool::new(false);
        let outcome = self
            .update(
                account_id,
                cause,
                deadline,
                |current, now| match domain::mark_paypal(
                    current,
                    legacy.clone(),
                    customer.clone(),
                    now,
                ) {
                    Ok(decision) => {
                        refused.store(false, std::sync::atomic::Ordering::SeqCst);
                        decision
                    }
                    Err(_) => {
                        refused.store(true, std::sync::atomic::Ordering::SeqCst);
                        Decision::Unchanged
                    }
                },
            )
            .await?;
        Ok((!refused.load(std::sync::atomic::Ordering::SeqCst)).then_some(outcome))
    }

    /// Records a PayPal cancellation's outcome on the account: cleared once
    /// PayPal cancelled it (or it was no longer active), one more attempt
    /// counted when it failed. A queue entry for another subscription (the
    /// account changed meanwhile) is left alone.
    pub async fn record_paypal_cancellation(
        &self,
        account_id: &AccountId,
        subscription_id: &str,
        done: bool,
        cause: &Cause,
        deadline: OffsetDateTime,
    ) -> Result<UpdateOutcome, UpdateError> {
        self.update(account_id, cause, deadline, |current, _now| {
            let Some(pending) = current
                .pending_paypal_cancellation
                .as_ref()
                .filter(|p| p.subscription_id == subscription_id)
            else {
                return Decision::Unchanged;
            };
            let mut next = current.clone();
            if done {
                next.pending_paypal_cancellation = None;
            } else {
                let mut counted = pending.clone();
                counted.attempts += 1;
                next.pending_paypal_cancellation = Some(counted);
            }
            next.version = current.version + 1;
            Decision::Apply(Box::new(domain::Applied {
                next,
                entitlement_changed: false,
                duplicate_subscriptions: false,
                paypal_cancellation_queued: false,
            }))
        })
        .await
    }

    async fn update(
        &self,
        account_id: &AccountId,
        cause: &Cause,
        deadline: OffsetDateTime,
        decide: impl Fn(&AccountBilling, OffsetDateTime) -> Decision,
    ) -> Result<UpdateOutcome, UpdateError> {
        for attempt in 1..=CAS_ATTEMPTS {
            let current = self
                .accounts
                .get(account_id)
                .await?
                .ok_or(UpdateError::UnknownAccount)?;
            let now = self.clock.now();
            let applied = match decide(&current, now) {
                Decision::Stale { held, received } => {
                    info!(%held, %received, "stale snapshot: the account holds a newer one");
                    self.metrics
                        .count("StaleEvent", &[("Source", &cause.event_type)]);
                    return Ok(UpdateOutcome::Stale);
                }
                Decision::Unchanged => {
                    // A retry after a failed push: push again now rather than
                    // waiting for provisioning-sync.
                    let account = self.provision(current, cause, deadline).await;
                    return Ok(UpdateOutcome::Unchanged(account));
                }
                Decision::Apply(mut applied) => {
                    if applied.next.needs_push() {
                        applied.next.record_intent(now);
                    }
                    applied
                }
            };
            let audit = AuditEntry::new(
                &cause.event_id,
                &cause.event_type,
                &current,
                &applied.next,
                now,
            );
            match self
                .accounts
                .compare_and_set(current.version, &applied.next, &audit)
                .await
            {
                Ok(()) => {}
                Err(AccountStoreError::Conflict { .. }) if attempt < CAS_ATTEMPTS => {
                    info!(attempt, "account changed concurrently; re-reading");
                    continue;
                }
                Err(err) => return Err(err.into()),
            }
            info!(
                version = applied.next.version,
                plan_tier = %applied.next.plan_tier,
                billing_status = applied.next.billing_status.as_str(),
                entitled = applied.next.desired_entitlement.entitled,
                "account updated"
            );
            if applied.duplicate_subscriptions {
                error!("two subscriptions grant access to one account: duplicate subscription");
                self.metrics.count("DuplicateSubscriptions", &[]);
            }
            if applied.paypal_cancellation_queued {
                info!("legacy PayPal subscription queued for cancellation");
                self.metrics.count("PaypalCancellationQueued", &[]);
            }
            let account = if applied
                .next
                .provisioning_intent
                .is_some_and(|i| i.version == applied.next.version)
            {
                self.push_recorded(applied.next, cause, deadline).await
            } else {
                applied.next
            };
            return Ok(UpdateOutcome::Applied(account));
        }
        Err(UpdateError::Unavailable(
            "compare-and-set kept losing to concurrent writers".into(),
        ))
    }

    /// Pushes the desired entitlement if the account needs a push: records
    /// the intent at the next version (compare-and-set; on a conflict the
    /// account is re-read and decided again), then pushes and records the
    /// acknowledgement. Never fails: an account left needing a push is
    /// `provisioning-sync`'s.
    pub async fn provision(
        &self,
        account: AccountBilling,
        cause: &Cause,
        deadline: OffsetDateTime,
    ) -> AccountBilling {
        let mut account = account;
        for attempt in 1..=CAS_ATTEMPTS {
            if !account.needs_push() {
                return account;
            }
            if account.intent_is_current() {
                // The intent for this very version is recorded (a push that
                // crashed, failed or lost its answer): the same push again,
                // no new write.
                return self.push_recorded(account, cause, deadline).await;
            }
            let next = account.with_intent(self.clock.now());
            let audit = AuditEntry::new(
                &cause.event_id,
                "provisioning.intent",
                &account,
                &next,
                self.clock.now(),
            );
            match self
                .accounts
                .compare_and_set(account.version, &next, &audit)
                .await
            {
                Ok(()) => return self.push_recorded(next, cause, deadline).await,
                Err(AccountStoreError::Conflict { .. }) if attempt < CAS_ATTEMPTS => {
                    // A newer writer decides: never push the version we read.
                    info!(
                        attempt,
                        "account changed before the push intent; re-reading"
                    );
                    match self.accounts.get(&account.account_id).await {
                        Ok(Some(fresh)) => account = fresh,
                        Ok(None) => return account,
                        Err(err) => {
                            warn!(error = %error_chain(&err), "could not re-read the account; provisioning-sync will push");
                            return account;
                        }
                    }
                }
                Err(err) => {
                    warn!(error = %error_chain(&err), "could not record the push intent; provisioning-sync will push");
                    return account;
                }
            }
        }
        account
    }

    /// Sends the push whose intent `account` has just committed (at
    /// `account.version`), then records its acknowledgement.
    async fn push_recorded(
        &self,
        mut account: AccountBilling,
        cause: &Cause,
        deadline: OffsetDateTime,
    ) -> AccountBilling {
        let request =
            ProvisioningRequest::for_account(&account, &cause.event_type, &cause.event_id);
        match self.provisioner.push(&request, deadline).await {
            Ok(()) => {}
            Err(err) => {
                let outcome = match err {
                    ProvisionError::Rejected(_) => "rejected",
                    ProvisionError::Unavailable(_) => "failed",
                };
                warn!(error = %error_chain(&err), "provisioning push failed; provisioning-sync will retry");
                self.metrics
                    .count("ProvisioningPush", &[("Outcome", outcome)]);
                return account;
            }
        }
        self.metrics.count("ProvisioningPush", &[("Outcome", "ok")]);
        let acknowledged = ProvisionedEntitlement {
            entitlement: account.desired_entitlement,
            version: account.version,
        };
        match self
            .accounts
            .acknowledge_provisioning(&account.account_id, &acknowledged)
            .await
        {
            Ok(_) => {
                account.provisioned_entitlement = ProvisionedEntitlement::newest(
                    account.provisioned_entitlement,
                    Some(acknowledged),
                );
            }
            Err(err) => {
                // The intent stays newer than the acknowledgement, so the
                // account still needs a push: the next sync pushes again.
                warn!(error = %error_chain(&err), "could not record the provisioning acknowledgement");
            }
        }
        account
    }
}
