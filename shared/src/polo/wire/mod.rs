//! Polo's wire types, exactly as polo-api.md describes them. Every wire enum
//! has an `Unknown` catch-all so a new value parks an event instead of
//! failing deserialisation of everything around it.

mod checkout;

pub use checkout::{
    Checkout, CheckoutCreate, CheckoutStatus, CustomerCreate, CustomerSession,
    CustomerSessionCreate, Page, Product, ProrationBehavior, SubscriptionUpdate, TrialInterval,
};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub type Metadata = serde_json::Map<String, serde_json::Value>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    Incomplete,
    IncompleteExpired,
    Trialing,
    Active,
    PastDue,
    Canceled,
    Unpaid,
    Paused,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecurringInterval {
    Day,
    Week,
    Month,
    Year,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub id: String,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub id: String,
    pub status: SubscriptionStatus,
    pub product_id: String,
    pub customer_id: String,
    pub customer: Customer,
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub current_period_start: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub current_period_end: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub trial_start: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub trial_end: Option<OffsetDateTime>,
    #[serde(default)]
    pub cancel_at_period_end: bool,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub canceled_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ends_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub modified_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub amount: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub recurring_interval: Option<RecurringInterval>,
    #[serde(default)]
    pub checkout_id: Option<String>,
}

impl Subscription {
    /// The ordering key: `modified_at`, or `created_at` until first modified.
    pub fn watermark(&self) -> OffsetDateTime {
        self.modified_at.unwrap_or(self.created_at)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Pending,
    Paid,
    Refunded,
    PartiallyRefunded,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillingReason {
    Purchase,
    SubscriptionCreate,
    SubscriptionCycle,
    SubscriptionUpdate,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub id: String,
    pub status: OrderStatus,
    pub billing_reason: BillingReason,
    #[serde(default)]
    pub subscription_id: Option<String>,
    /// Embedded and possibly stale: kept raw, never trusted over a fetch.
    #[serde(default)]
    pub subscription: Option<serde_json::Value>,
    pub customer: Customer,
    #[serde(default)]
    pub product_id: Option<String>,
    pub total_amount: i64,
    pub currency: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub modified_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub metadata: Metadata,
}
