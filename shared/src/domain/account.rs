//! An account's billing state as the app stores it (Convex), and the domain
//! form of a Polo subscription snapshot. Serialised camelCase: this is the
//! shape of the account-store contract (tests/contract/convex).

use super::ids::{AccountId, CustomerId, ProductId, SubscriptionId};
use super::plan::PlanTier;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Polo,
    /// Legacy: not yet migrated to Polo.
    Paypal,
}

/// design.md's lifecycle table, after mapping Polo's statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillingStatus {
    None,
    Trial,
    Active,
    PastDue,
    Incomplete,
    Paused,
    Canceled,
}

impl BillingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Trial => "trial",
            Self::Active => "active",
            Self::PastDue => "past_due",
            Self::Incomplete => "incomplete",
            Self::Paused => "paused",
            Self::Canceled => "canceled",
        }
    }
}

/// What the orchestrator should do with the account's managed credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entitlement {
    pub entitled: bool,
    pub tier: PlanTier,
    /// When access ends unless a renewal arrives (grace included).
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

impl Entitlement {
    pub const NONE: Entitlement = Entitlement {
        entitled: false,
        tier: PlanTier::Free,
        expires_at: None,
    };
}

/// The last entitlement the orchestrator acknowledged, and for which
/// account version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisionedEntitlement {
    #[serde(flatten)]
    pub entitlement: Entitlement,
    pub version: u64,
}

/// A Polo subscription as last applied to the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KnownSubscription {
    pub id: SubscriptionId,
    pub product_id: ProductId,
    pub tier: PlanTier,
    pub status: BillingStatus,
    /// Ordering key: the snapshot's `modified_at` (or `created_at`).
    #[serde(with = "time::serde::rfc3339")]
    pub watermark: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub current_period_end: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub trial_end: Option<OffsetDateTime>,
    pub cancel_at_period_end: bool,
    /// Access ends at this instant (grace included); `None`: no access.
    #[serde(with = "time::serde::rfc3339::option")]
    pub entitled_until: Option<OffsetDateTime>,
}

impl KnownSubscription {
    pub fn entitled(&self, now: OffsetDateTime) -> bool {
        self.entitled_until.is_some_and(|until| now < until)
    }
}

/// A not-yet-migrated PayPal subscriber.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaypalLegacy {
    pub subscription_id: String,
    pub tier: PlanTier,
    /// Paid up to this instant: keeps its tier until then.
    #[serde(with = "time::serde::rfc3339")]
    pub paid_through: OffsetDateTime,
}

/// A PayPal subscription to cancel now that Polo took over (retried by
/// `provisioning-sync`, alarmed after a day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingPaypalCancellation {
    pub subscription_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub queued_at: OffsetDateTime,
    pub attempts: u32,
}

/// An account's billing state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountBilling {
    pub account_id: AccountId,
    pub provider: Provider,
    pub plan_tier: PlanTier,
    pub billing_status: BillingStatus,
    /// End of the paid (or trial) period as Polo or PayPal states it.
    #[serde(with = "time::serde::rfc3339::option")]
    pub premium_expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub renews_at: Option<OffsetDateTime>,
    pub cancel_at_period_end: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub trial_ends_at: Option<OffsetDateTime>,
    pub polo_customer_id: Option<CustomerId>,
    pub subscriptions: Vec<KnownSubscription>,
    pub current_subscription_id: Option<SubscriptionId>,
    pub desired_entitlement: Entitlement,
    /// When the desired entitlement last changed: the age of a provisioning
    /// mismatch is measured from here.
    #[serde(with = "time::serde::rfc3339::option")]
    pub entitlement_changed_at: Option<OffsetDateTime>,
    pub provisioned_entitlement: Option<ProvisionedEntitlement>,
    /// Compare-and-set version: every committed change adds one.
    pub version: u64,
    pub paypal: Option<PaypalLegacy>,
    pub pending_paypal_cancellation: Option<PendingPaypalCancellation>,
}

impl AccountBilling {
    /// A Polo-side account with no billing history.
    pub fn new(account_id: AccountId) -> Self {
        Self {
            account_id,
            provider: Provider::Polo,
            plan_tier: PlanTier::Free,
            billing_status: BillingStatus::None,
            premium_expires_at: None,
            renews_at: None,
            cancel_at_period_end: false,
            trial_ends_at: None,
            polo_customer_id: None,
            subscriptions: Vec::new(),
            current_subscription_id: None,
            desired_entitlement: Entitlement::NONE,
            entitlement_changed_at: None,
            provisioned_entitlement: None,
            version: 0,
            paypal: None,
            pending_paypal_cancellation: None,
        }
    }

    /// The orchestrator has not acknowledged what the account should have.
    /// Never provisioned counts as "not entitled".
    pub fn needs_push(&self) -> bool {
        let provisioned = self
            .provisioned_entitlement
            .map(|p| p.entitlement)
            .unwrap_or(Entitlement::NONE);
        provisioned != self.desired_entitlement
    }

    /// A Polo subscription grants access at `now` (checkout refuses a
    /// second one; the PayPal migration leaves such an account alone).
    pub fn entitled_on_polo(&self, now: OffsetDateTime) -> bool {
        self.provider == Provider::Polo && self.subscriptions.iter().any(|s| s.entitled(now))
    }

    pub fn subscription(&self, id: &SubscriptionId) -> Option<&KnownSubscription> {
        self.subscriptions.iter().find(|s| &s.id == id)
    }
}

/// A Polo subscription as the domain sees it: the account it belongs to,
/// its tier (from the product catalogue) and its lifecycle fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionSnapshot {
    pub id: SubscriptionId,
    pub account_id: AccountId,
    pub customer_id: CustomerId,
    pub product_id: ProductId,
    pub tier: PlanTier,
    pub status: BillingStatus,
    pub current_period_end: Option<OffsetDateTime>,
    pub trial_end: Option<OffsetDateTime>,
    pub started_at: Option<OffsetDateTime>,
    pub cancel_at_period_end: bool,
    pub watermark: OffsetDateTime,
}
