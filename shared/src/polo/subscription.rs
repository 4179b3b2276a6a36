//! Polo's subscriptions and orders as the rest of the crate holds them:
//! opaque values (the wire struct is a private field) whose only ways out
//! are domain types — a [`SubscriptionSnapshot`] through the catalogue, an
//! [`OrderChange`], a [`SubscriptionId`]. A port that answers with Polo's
//! subscription answers with this, so no caller can reach a wire field.

use super::catalogue::Catalogue;
use super::transform::{self, SnapshotError};
use super::wire;
use crate::domain::{AccountId, ProductId, SubscriptionId, SubscriptionSnapshot};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A subscription exactly as Polo sent it (its JSON form is Polo's, so test
/// fixtures and the local stack's sample events load into it directly).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PoloSubscription(wire::Subscription);

impl PoloSubscription {
    #[cfg(test)]
    pub(super) fn wire(&self) -> &wire::Subscription {
        &self.0
    }

    pub(super) fn wire_mut(&mut self) -> &mut wire::Subscription {
        &mut self.0
    }

    /// Polo's id for it, as sent (not yet checked as a [`SubscriptionId`]).
    pub fn id(&self) -> &str {
        &self.0.id
    }

    /// The domain snapshot: account, tier (from the catalogue, never from
    /// metadata), status and dates, or the field that refuses it.
    pub fn snapshot(&self, catalogue: &Catalogue) -> Result<SubscriptionSnapshot, SnapshotError> {
        transform::snapshot(&self.0, catalogue)
    }

    /// Whether it is on `product` (a re-read after an uncertain plan change).
    pub fn is_on(&self, product: &ProductId) -> bool {
        self.0.product_id == product.as_str()
    }

    /// The ordering key: `modified_at`, or `created_at` until first modified.
    pub fn watermark(&self) -> OffsetDateTime {
        self.0.watermark()
    }

    /// Whether Polo still counts this subscription: anything but `canceled`,
    /// `incomplete_expired` or an `ended_at` — `trialing`, `active` (also
    /// when scheduled to cancel), `past_due`, `incomplete`, `unpaid`,
    /// `paused`, and a status we do not know yet (refusing a checkout is the
    /// safe side).
    pub fn has_not_ended(&self) -> bool {
        !matches!(
            self.0.status,
            wire::SubscriptionStatus::Canceled | wire::SubscriptionStatus::IncompleteExpired
        ) && self.0.ended_at.is_none()
    }

    /// `customer.external_id`: the account Polo says it belongs to.
    pub fn external_customer_id(&self) -> Option<&str> {
        self.0.customer.external_id.as_deref()
    }

    /// Polo's status word, for logs only.
    pub fn status_name(&self) -> String {
        format!("{:?}", self.0.status)
    }
}

impl From<wire::Subscription> for PoloSubscription {
    fn from(subscription: wire::Subscription) -> Self {
        Self(subscription)
    }
}

/// An order as Polo sent it (`order.paid`'s `data`).
#[derive(Debug, Clone, PartialEq)]
pub struct PoloOrder(wire::Order);

/// What a paid order asks of us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderChange {
    /// Not paid (pending, refunded): nothing to apply.
    NotPaid,
    /// A one-off purchase: no subscription to apply.
    OneOff,
    /// A paid subscription order: apply the subscription as Polo has it now
    /// (the copy embedded in the order may be stale), which must belong to
    /// `account`.
    Subscription {
        id: SubscriptionId,
        account: AccountId,
    },
}

impl PoloOrder {
    pub(super) fn new(order: wire::Order) -> Self {
        Self(order)
    }

    pub(super) fn wire(&self) -> &wire::Order {
        &self.0
    }

    /// What the order asks of us, or the field that refuses it.
    pub fn change(&self) -> Result<OrderChange, SnapshotError> {
        let order = &self.0;
        if order.status != wire::OrderStatus::Paid {
            return Ok(OrderChange::NotPaid);
        }
        let Some(raw_id) = order.subscription_id.as_deref() else {
            return Ok(OrderChange::OneOff);
        };
        let account = transform::account_of(&order.customer, &order.metadata)?;
        let id = SubscriptionId::parse(raw_id)
            .map_err(|_| SnapshotError::InvalidId("data.subscription_id"))?;
        Ok(OrderChange::Subscription { id, account })
    }

    /// Polo's id for it, as sent.
    pub fn id(&self) -> &str {
        &self.0.id
    }

    /// Polo's status word, for logs only.
    pub fn status_name(&self) -> String {
        format!("{:?}", self.0.status)
    }
}
