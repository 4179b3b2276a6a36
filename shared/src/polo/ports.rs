//! The Polo API as ports: everything the rest of the crate may ask Polo, in
//! our own types, and the typed errors it gets back. The HTTP client
//! (`client`) implements them over the hardened fetch layer and converts
//! Polo's answers in `transform` (`From`/`TryFrom`); `memory::InMemoryPolo`
//! implements them for unit tests. No wire type appears here.

use super::subscription::PoloSubscription;
use crate::domain::{AccountId, CheckoutId, CustomerId, PlanTier, ProductId, SubscriptionId};
use async_trait::async_trait;
use time::OffsetDateTime;

#[derive(Debug, thiserror::Error)]
pub enum PoloError {
    #[error("Polo refused our credentials")]
    Auth,
    #[error("not found at Polo")]
    NotFound,
    #[error("conflict at Polo")]
    Conflict,
    /// Polo's `detail`, which names the offending field.
    #[error("Polo refused the request: {0}")]
    Validation(String),
    #[error("rate limited by Polo")]
    RateLimited { retry_after_seconds: Option<u64> },
    /// Polo answered 2xx with a body that breaks its contract (names the field).
    #[error("Polo answered a malformed {0}")]
    Malformed(&'static str),
    /// Unreachable, timed out, or 5xx after retries.
    #[error("Polo unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl PoloError {
    /// Worth retrying later (by Polo's redelivery or the caller).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Unavailable(_))
    }
}

/// Reads a subscription's current state (the payment-succeeded handler
/// trusts this over the possibly stale copy embedded in `order.paid`).
#[async_trait]
pub trait SubscriptionLookup: Send + Sync {
    async fn get_subscription(
        &self,
        id: &SubscriptionId,
        deadline: OffsetDateTime,
    ) -> Result<PoloSubscription, PoloError>;
}

/// Whether a checkout offers a trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrialOffer {
    /// The product's own trial, if it has one (a first subscription).
    ProductDefault,
    /// No trial (the account already had a subscription).
    Refused,
    /// A trial of exactly this many days (a PayPal subscriber's remaining
    /// paid days: no lost day, no double charge).
    Days(u32),
}

/// A checkout to create when the user clicks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCheckout {
    pub account: AccountId,
    pub tier: PlanTier,
    pub product: ProductId,
    /// May contain the literal `{CHECKOUT_ID}`, which Polo fills in.
    pub success_url: String,
    pub return_url: String,
    /// Set for an in-app embedded checkout.
    pub embed_origin: Option<String>,
    pub trial: TrialOffer,
    /// Sent as `Idempotency-Key`: requests that must make one checkout (a
    /// double click, two tabs, two Lambda instances) send the same key and
    /// get the same checkout back.
    pub idempotency_key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckoutState {
    Open,
    /// Paid, waiting for Polo to finish.
    Confirmed,
    Succeeded,
    Expired,
    Failed,
    Unknown,
}

impl CheckoutState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Confirmed => "confirmed",
            Self::Succeeded => "succeeded",
            Self::Expired => "expired",
            Self::Failed => "failed",
            Self::Unknown => "unknown",
        }
    }
}

/// A checkout as Polo holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutSession {
    pub id: CheckoutId,
    /// The hosted page (checked against the allow-list before it is returned).
    pub url: String,
    /// For the embedded checkout.
    pub client_secret: Option<String>,
    pub state: CheckoutState,
    pub expires_at: OffsetDateTime,
    /// Whose checkout it is (`external_customer_id`); `None` if Polo lost it.
    pub account: Option<AccountId>,
    /// Set once it succeeded.
    pub subscription: Option<SubscriptionId>,
}

/// A short-lived customer-portal link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalSession {
    pub url: String,
    pub expires_at: OffsetDateTime,
}

/// How a plan change is charged (documented in docs/openapi.yaml).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proration {
    /// Upgrades: the prorated difference is invoiced now, so the higher
    /// tier is paid for before it is used.
    ChargeNow,
    /// Downgrades: the prorated credit lands on the next invoice.
    NextInvoice,
}

/// A change to a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionChange {
    Product {
        product: ProductId,
        proration: Proration,
    },
    CancelAtPeriodEnd(bool),
    Revoke,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoloCustomer {
    pub id: CustomerId,
    pub account: Option<AccountId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoloProduct {
    pub id: ProductId,
    pub name: String,
    pub archived: bool,
}

/// One page of an account's subscriptions (1-based `page`).
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionPage {
    pub items: Vec<PoloSubscription>,
    pub max_page: u32,
}

/// The dashboard's Polo calls. Subscriptions come back as
/// [`PoloSubscription`], which becomes a domain snapshot only through the
/// catalogue, as webhook snapshots do.
#[async_trait]
pub trait BillingApi: SubscriptionLookup {
    async fn create_checkout(
        &self,
        checkout: &NewCheckout,
        deadline: OffsetDateTime,
    ) -> Result<CheckoutSession, PoloError>;

    async fn get_checkout(
        &self,
        id: &CheckoutId,
        deadline: OffsetDateTime,
    ) -> Result<CheckoutSession, PoloError>;

    async fn create_portal_session(
        &self,
        account: &AccountId,
        return_url: &str,
        deadline: OffsetDateTime,
    ) -> Result<PortalSession, PoloError>;

    async fn list_subscriptions(
        &self,
        account: &AccountId,
        page: u32,
        deadline: OffsetDateTime,
    ) -> Result<SubscriptionPage, PoloError>;

    async fn update_subscription(
        &self,
        id: &SubscriptionId,
        change: &SubscriptionChange,
        deadline: OffsetDateTime,
    ) -> Result<PoloSubscription, PoloError>;

    /// `None` when Polo has no customer for the account.
    async fn customer_for_account(
        &self,
        account: &AccountId,
        deadline: OffsetDateTime,
    ) -> Result<Option<PoloCustomer>, PoloError>;

    /// Looks up first and treats 409 as "already exists": a retried create
    /// never makes a second customer.
    async fn ensure_customer(
        &self,
        account: &AccountId,
        email: &str,
        deadline: OffsetDateTime,
    ) -> Result<PoloCustomer, PoloError>;

    async fn list_products(&self, deadline: OffsetDateTime) -> Result<Vec<PoloProduct>, PoloError>;
}

/// The most pages of an account's subscriptions read before giving up
/// (an account has one or two; this only bounds a misbehaving answer).
const MAX_SUBSCRIPTION_PAGES: u32 = 20;

/// The account's first Polo subscription that has not ended, asked of Polo
/// itself: our account record can be behind (a webhook not landed yet, a
/// second tab, a subscription made in Polo's own UI). `None`: none.
pub async fn live_subscription(
    polo: &dyn BillingApi,
    account: &AccountId,
    deadline: OffsetDateTime,
) -> Result<Option<SubscriptionId>, PoloError> {
    let mut page = 1;
    loop {
        let found = polo.list_subscriptions(account, page, deadline).await?;
        if let Some(live) = found.items.iter().find(|s| s.has_not_ended()) {
            return SubscriptionId::parse(live.id())
                .map(Some)
                .map_err(|_| PoloError::Malformed("subscription.id"));
        }
        if page >= found.max_page.min(MAX_SUBSCRIPTION_PAGES) {
            return Ok(None);
        }
        page += 1;
    }
}
