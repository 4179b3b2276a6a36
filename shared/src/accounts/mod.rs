//! The `AccountStore` port: the app's accounts (Convex is the source of
//! truth). Every write is a compare-and-set on the account version, with the
//! audit row written in the same transaction, so a concurrent change is
//! never overwritten and no change goes unrecorded.

pub mod convex;
mod memory;

pub use convex::ConvexAccountStore;
pub use memory::{AccountOp, InMemoryAccountStore};

use crate::domain::{
    AccountBilling, AccountId, BillingStatus, PlanTier, Provider, ProvisionedEntitlement,
};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The audit row of one change: what caused it and before → after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// The Polo event (webhook id), checkout, or job that caused the change.
    pub event_id: String,
    pub event_type: String,
    pub before: AuditSummary,
    pub after: AuditSummary,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// The fields a support engineer reads in an audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditSummary {
    pub version: u64,
    pub provider: Provider,
    pub plan_tier: PlanTier,
    pub billing_status: BillingStatus,
    pub entitled: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub premium_expires_at: Option<OffsetDateTime>,
}

impl From<&AccountBilling> for AuditSummary {
    fn from(a: &AccountBilling) -> Self {
        Self {
            version: a.version,
            provider: a.provider,
            plan_tier: a.plan_tier,
            billing_status: a.billing_status,
            entitled: a.desired_entitlement.entitled,
            premium_expires_at: a.premium_expires_at,
        }
    }
}

/// What a writer says about a change: its cause. The store builds the
/// audit row's before and after itself from the stored and the written
/// state (Convex does; so does the in-memory store), so a caller cannot
/// record a trail that disagrees with what happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(deny_unknown_fields)]
pub struct AuditCause {
    pub event_id: String,
    pub event_type: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl From<&AuditEntry> for AuditCause {
    fn from(entry: &AuditEntry) -> Self {
        Self {
            event_id: entry.event_id.clone(),
            event_type: entry.event_type.clone(),
            at: entry.at,
        }
    }
}

impl AuditEntry {
    /// The row a store writes: the caller's cause, its own before and after.
    pub fn recorded(cause: AuditCause, before: &AccountBilling, after: &AccountBilling) -> Self {
        Self {
            event_id: cause.event_id,
            event_type: cause.event_type,
            before: before.into(),
            after: after.into(),
            at: cause.at,
        }
    }

    pub fn new(
        event_id: impl Into<String>,
        event_type: impl Into<String>,
        before: &AccountBilling,
        after: &AccountBilling,
        at: OffsetDateTime,
    ) -> Self {
        Self {
            event_id: event_id.into(),
            event_type: event_type.into(),
            before: before.into(),
            after: after.into(),
            at,
        }
    }
}

/// A page of account ids and where the next page starts (`None`: done).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub account_ids: Vec<AccountId>,
    pub cursor: Option<String>,
}

/// A page of accounts and where the next page starts (`None`: done). The
/// cursor is opaque: pass it back as it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountPage {
    pub accounts: Vec<AccountBilling>,
    pub cursor: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountStoreError {
    #[error("account not found")]
    NotFound,
    /// Someone else changed the account since it was read: re-read, re-apply.
    #[error("version conflict (expected {expected}, current {current:?})")]
    Conflict { expected: u64, current: Option<u64> },
    /// The store refused the request as malformed: a bug on our side.
    #[error("account store refused the request: {0}")]
    Rejected(String),
    /// Unreachable, timed out, or failing: transient, retry.
    #[error("account store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

#[async_trait]
pub trait AccountStore: Send + Sync {
    async fn get(
        &self,
        account_id: &AccountId,
    ) -> Result<Option<AccountBilling>, AccountStoreError>;

    /// Writes `next` (whose version is `expected_version + 1`) if the stored
    /// version is still `expected_version`, and the audit row with it. The
    /// acknowledgement is the one exception to "write what was sent": the
    /// store keeps the newer of its own and `next`'s, since acknowledgements
    /// are recorded without a version check and may have landed after
    /// `next` was read.
    async fn compare_and_set(
        &self,
        expected_version: u64,
        next: &AccountBilling,
        audit: &AuditEntry,
    ) -> Result<(), AccountStoreError>;

    /// Records that the orchestrator acknowledged a push, monotonically and
    /// whatever the account's version has become: kept unless an
    /// acknowledgement of a newer version is already recorded. `Ok(true)`:
    /// recorded; `Ok(false)`: a newer one was there. The account version is
    /// not bumped (it changes no billing state), so it never makes a
    /// concurrent writer's compare-and-set fail. An acknowledgement of a
    /// version the account never reached is refused.
    async fn acknowledge_provisioning(
        &self,
        account_id: &AccountId,
        acknowledged: &ProvisionedEntitlement,
    ) -> Result<bool, AccountStoreError>;

    /// Accounts that need a push (`AccountBilling::needs_push`): desired ≠
    /// acknowledged, or a recorded intent newer than the acknowledgement; a
    /// page at a time in accountId order (the cursor is the last id of a
    /// full page when more follow), so every one is reached however many
    /// before it keep failing.
    async fn list_provisioning_mismatches(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<AccountPage, AccountStoreError>;

    /// Accounts entitled past their expiry at `now`, or `past_due`, a page
    /// at a time. The order is the adapter's (Convex lists `past_due` ones
    /// first); a page may hold fewer than `limit` while more follow.
    async fn list_expired(
        &self,
        now: OffsetDateTime,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<AccountPage, AccountStoreError>;

    /// Accounts with a Polo subscription, a page at a time.
    async fn list_polo_subscribers(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page, AccountStoreError>;

    /// Accounts with a queued PayPal cancellation, a page at a time in
    /// accountId order.
    async fn list_pending_paypal_cancellations(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<AccountPage, AccountStoreError>;
}

/// The rule `list_expired` implements, shared by every adapter's tests.
pub fn is_expired(account: &AccountBilling, now: OffsetDateTime) -> bool {
    let lapsed = account.desired_entitlement.entitled
        && account
            .desired_entitlement
            .expires_at
            .is_some_and(|at| at <= now);
    lapsed || account.billing_status == BillingStatus::PastDue
}
