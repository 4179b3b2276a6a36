//! What the dashboard functions may ask Polo, in our own types. The HTTP
//! client implements [`BillingApi`] over the hardened fetch layer and
//! converts Polo's wire types here (`TryFrom`), so no handler sees a wire
//! checkout, session, customer or product.

use super::api::{PoloError, SubscriptionLookup};
use super::wire;
use crate::domain::{AccountId, CheckoutId, CustomerId, PlanTier, ProductId, SubscriptionId};
use async_trait::async_trait;
use time::OffsetDateTime;

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
    pub items: Vec<wire::Subscription>,
    pub max_page: u32,
}

/// The dashboard's Polo calls. Subscriptions stay `wire::Subscription`
/// because they go through `transform::snapshot` with the catalogue, as
/// webhook snapshots do.
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
    ) -> Result<wire::Subscription, PoloError>;

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

/// Whether Polo still counts this subscription: anything but `canceled`,
/// `incomplete_expired` or an `ended_at` — `trialing`, `active` (also when
/// scheduled to cancel), `past_due`, `incomplete`, `unpaid`, `paused`, and a
/// status we do not know yet (refusing a checkout is the safe side).
fn has_not_ended(s: &wire::Subscription) -> bool {
    !matches!(
        s.status,
        wire::SubscriptionStatus::Canceled | wire::SubscriptionStatus::IncompleteExpired
    ) && s.ended_at.is_none()
}

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
        if let Some(live) = found.items.iter().find(|s| has_not_ended(s)) {
            return SubscriptionId::parse(&live.id)
                .map(Some)
                .map_err(|_| malformed("subscription.id"));
        }
        if page >= found.max_page.min(MAX_SUBSCRIPTION_PAGES) {
            return Ok(None);
        }
        page += 1;
    }
}

/// A wire field that did not parse into our type: Polo broke its contract.
fn malformed(field: &'static str) -> PoloError {
    PoloError::Malformed(field)
}

impl From<wire::CheckoutStatus> for CheckoutState {
    fn from(status: wire::CheckoutStatus) -> Self {
        match status {
            wire::CheckoutStatus::Open => Self::Open,
            wire::CheckoutStatus::Confirmed => Self::Confirmed,
            wire::CheckoutStatus::Succeeded => Self::Succeeded,
            wire::CheckoutStatus::Expired => Self::Expired,
            wire::CheckoutStatus::Failed => Self::Failed,
            wire::CheckoutStatus::Unknown => Self::Unknown,
        }
    }
}

impl TryFrom<wire::Checkout> for CheckoutSession {
    type Error = PoloError;
    fn try_from(c: wire::Checkout) -> Result<Self, PoloError> {
        Ok(Self {
            id: CheckoutId::parse(&c.id).map_err(|_| malformed("checkout.id"))?,
            url: c.url,
            client_secret: c.client_secret,
            state: c.status.into(),
            expires_at: c.expires_at,
            account: c
                .external_customer_id
                .as_deref()
                .map(AccountId::parse)
                .transpose()
                .map_err(|_| malformed("checkout.external_customer_id"))?,
            subscription: c
                .subscription_id
                .as_deref()
                .map(SubscriptionId::parse)
                .transpose()
                .map_err(|_| malformed("checkout.subscription_id"))?,
        })
    }
}

impl From<wire::CustomerSession> for PortalSession {
    fn from(s: wire::CustomerSession) -> Self {
        // The session token is a credential: it is dropped here.
        Self {
            url: s.customer_portal_url,
            expires_at: s.expires_at,
        }
    }
}

impl TryFrom<wire::Customer> for PoloCustomer {
    type Error = PoloError;
    fn try_from(c: wire::Customer) -> Result<Self, PoloError> {
        Ok(Self {
            id: CustomerId::parse(&c.id).map_err(|_| malformed("customer.id"))?,
            account: c
                .external_id
                .as_deref()
                .map(AccountId::parse)
                .transpose()
                .map_err(|_| malformed("customer.external_id"))?,
        })
    }
}

impl TryFrom<wire::Product> for PoloProduct {
    type Error = PoloError;
    fn try_from(p: wire::Product) -> Result<Self, PoloError> {
        Ok(Self {
            id: ProductId::parse(&p.id).map_err(|_| malformed("product.id"))?,
            name: p.name,
            archived: p.is_archived,
        })
    }
}

impl From<&SubscriptionChange> for wire::SubscriptionUpdate {
    fn from(change: &SubscriptionChange) -> Self {
        match change {
            SubscriptionChange::Product { product, proration } => Self::Product {
                product_id: product.as_str().to_owned(),
                proration_behavior: match proration {
                    Proration::ChargeNow => wire::ProrationBehavior::Invoice,
                    Proration::NextInvoice => wire::ProrationBehavior::Prorate,
                },
            },
            SubscriptionChange::CancelAtPeriodEnd(flag) => Self::CancelAtPeriodEnd {
                cancel_at_period_end: *flag,
            },
            SubscriptionChange::Revoke => Self::Revoke { revoke: true },
        }
    }
}

impl From<&NewCheckout> for wire::CheckoutCreate {
    fn from(c: &NewCheckout) -> Self {
        let mut metadata = wire::Metadata::new();
        metadata.insert("accountId".into(), c.account.as_str().into());
        metadata.insert("planTier".into(), c.tier.as_str().into());
        let (allow_trial, trial_interval, trial_interval_count) = match c.trial {
            TrialOffer::ProductDefault => (true, None, None),
            TrialOffer::Refused => (false, None, None),
            TrialOffer::Days(days) => (true, Some(wire::TrialInterval::Day), Some(days)),
        };
        Self {
            products: vec![c.product.as_str().to_owned()],
            metadata,
            external_customer_id: c.account.as_str().to_owned(),
            customer_email: None,
            success_url: c.success_url.clone(),
            return_url: c.return_url.clone(),
            embed_origin: c.embed_origin.clone(),
            allow_trial,
            trial_interval,
            trial_interval_count,
        }
    }
}
