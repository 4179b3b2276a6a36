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

impl ProvisionedEntitlement {
    /// Of two acknowledgements, the one for the newer version: an older one
    /// never replaces a newer (acknowledgements are monotonic).
    pub fn newest(a: Option<Self>, b: Option<Self>) -> Option<Self> {
        match (a, b) {
            (Some(a), Some(b)) => Some(if b.version > a.version { b } else { a }),
            (a, b) => a.or(b),
        }
    }
}

/// A push recorded on the account before it is sent (write-ahead): "pushing
/// this entitlement at this version". Until an acknowledgement of this
/// version or a newer one is recorded, the push's outcome is unknown and
/// the account needs a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisioningIntent {
    #[serde(flatten)]
    pub entitlement: Entitlement,
    /// The account version this intent was committed at: the push's version.
    pub version: u64,
    /// When it was recorded: the age of an unacknowledged push.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
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
    /// The last push recorded before it was sent (absent in accounts
    /// written before the intent existed: read as none).
    #[serde(default)]
    pub provisioning_intent: Option<ProvisioningIntent>,
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
            provisioning_intent: None,
            version: 0,
            paypal: None,
            pending_paypal_cancellation: None,
        }
    }

    /// The orchestrator may not hold what the account should have: its last
    /// acknowledgement differs from the desired entitlement (never
    /// provisioned counts as "not entitled"), or a push was recorded after
    /// the last acknowledgement and its outcome is unknown (it may have
    /// landed, with another entitlement than the one acknowledged).
    pub fn needs_push(&self) -> bool {
        let acknowledged = self.provisioned_entitlement;
        let provisioned = acknowledged
            .map(|p| p.entitlement)
            .unwrap_or(Entitlement::NONE);
        provisioned != self.desired_entitlement || self.unacknowledged_intent().is_some()
    }

    /// The recorded push no acknowledgement covers yet.
    pub fn unacknowledged_intent(&self) -> Option<&ProvisioningIntent> {
        self.provisioning_intent.as_ref().filter(|intent| {
            self.provisioned_entitlement
                .is_none_or(|acked| acked.version < intent.version)
        })
    }

    /// The recorded intent is for this very version and its desired
    /// entitlement: re-sending that push needs no new intent.
    pub fn intent_is_current(&self) -> bool {
        self.provisioning_intent
            .is_some_and(|i| i.version == self.version && i.entitlement == self.desired_entitlement)
    }

    /// Since when the account has needed a push: the desired entitlement's
    /// change, or the unacknowledged intent, whichever is older.
    pub fn needs_push_since(&self) -> Option<OffsetDateTime> {
        if !self.needs_push() {
            return None;
        }
        let acknowledged = self
            .provisioned_entitlement
            .map(|p| p.entitlement)
            .unwrap_or(Entitlement::NONE);
        let changed = (acknowledged != self.desired_entitlement)
            .then_some(self.entitlement_changed_at)
            .flatten();
        let intent = self.unacknowledged_intent().map(|i| i.at);
        match (changed, intent) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The account with a push of its desired entitlement recorded at the
    /// next version: the write-ahead step before any push.
    pub fn with_intent(&self, now: OffsetDateTime) -> Self {
        let mut next = self.clone();
        next.version = self.version + 1;
        next.record_intent(now);
        next
    }

    /// Records a push of the desired entitlement at this (not yet
    /// committed) version: folded into a write that is about to commit.
    pub fn record_intent(&mut self, now: OffsetDateTime) {
        self.provisioning_intent = Some(ProvisioningIntent {
            entitlement: self.desired_entitlement,
            version: self.version,
            at: now,
        });
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

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const AT: OffsetDateTime = datetime!(2026-11-15 12:00 UTC);
    const PRO: Entitlement = Entitlement {
        entitled: true,
        tier: PlanTier::Pro,
        expires_at: Some(datetime!(2026-12-02 00:00 UTC)),
    };

    fn account(version: u64, acked: Option<u64>, intent: Option<u64>) -> AccountBilling {
        let mut a = AccountBilling::new(AccountId::parse("acct_1").unwrap());
        a.version = version;
        a.desired_entitlement = PRO;
        a.entitlement_changed_at = Some(AT);
        a.provisioned_entitlement = acked.map(|version| ProvisionedEntitlement {
            entitlement: PRO,
            version,
        });
        a.provisioning_intent = intent.map(|version| ProvisioningIntent {
            entitlement: PRO,
            version,
            at: AT + time::Duration::minutes(1),
        });
        a
    }

    #[test]
    fn an_intent_newer_than_the_acknowledgement_needs_a_push_even_when_they_agree() {
        assert!(!account(3, Some(3), Some(3)).needs_push());
        assert!(!account(4, Some(3), Some(2)).needs_push());
        assert!(account(3, Some(1), Some(3)).needs_push());
        assert!(account(1, None, Some(1)).needs_push());
    }

    #[test]
    fn a_push_is_needed_since_the_older_of_the_change_and_the_intent() {
        let intent_only = account(3, Some(1), Some(3));
        assert_eq!(
            intent_only.needs_push_since(),
            Some(AT + time::Duration::minutes(1))
        );
        let both = account(1, None, Some(1));
        assert_eq!(both.needs_push_since(), Some(AT));
        assert_eq!(account(3, Some(3), Some(3)).needs_push_since(), None);
    }

    #[test]
    fn with_intent_records_the_desired_entitlement_at_the_next_version() {
        let next = account(3, Some(1), None).with_intent(AT);
        assert_eq!(next.version, 4);
        assert_eq!(
            next.provisioning_intent,
            Some(ProvisioningIntent {
                entitlement: PRO,
                version: 4,
                at: AT
            })
        );
        assert!(next.intent_is_current());
        let mut moved_on = next.clone();
        moved_on.version = 5;
        assert!(!moved_on.intent_is_current());
    }
}
