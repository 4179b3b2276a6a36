//! Polo wire types → domain types. The identity and tier rules of design.md
//! live here: the account is `customer.external_id` and nothing else (a
//! disagreeing `metadata.accountId` is refused), the tier comes only from
//! the product id. Every refusal is permanent and names its field.

use super::catalogue::Catalogue;
use super::ports::{
    CheckoutSession, CheckoutState, NewCheckout, PoloCustomer, PoloError, PoloProduct,
    PortalSession, Proration, SubscriptionChange, TrialOffer,
};
use super::wire::{self, SubscriptionStatus};
use crate::domain::{
    AccountId, BillingStatus, CheckoutId, CustomerId, ProductId, SubscriptionId,
    SubscriptionSnapshot,
};
use crate::idempotency::{ParkCode, ParkReason};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    #[error("data.customer.external_id: missing (no account)")]
    NoAccount,
    #[error("data.metadata.accountId: disagrees with data.customer.external_id")]
    AccountMismatch,
    #[error("data.product_id: not in the product catalogue")]
    UnknownProduct,
    #[error("data.status: unknown value")]
    UnknownStatus,
    #[error("{0}: invalid id")]
    InvalidId(&'static str),
    #[error("{0}: missing for this status")]
    MissingDate(&'static str),
    /// A date outside the years a subscription can hold, or a period that
    /// ends before it starts: our arithmetic on it (grace, expiry) must
    /// never leave the representable range.
    #[error("{0}: out of range")]
    OutOfRange(&'static str),
}

/// The years a Polo date may fall in. Far wider than any real subscription,
/// and far inside `time`'s range, so adding any grace period to such a date
/// (or comparing it) cannot overflow.
const EARLIEST_YEAR: i32 = 1970;
const LATEST_YEAR: i32 = 9000;

fn in_range(field: &'static str, at: Option<time::OffsetDateTime>) -> Result<(), SnapshotError> {
    match at {
        Some(at) if !(EARLIEST_YEAR..=LATEST_YEAR).contains(&at.year()) => {
            Err(SnapshotError::OutOfRange(field))
        }
        _ => Ok(()),
    }
}

/// Every date of the subscription is in range and its period is ordered.
fn dates_in_range(s: &wire::Subscription) -> Result<(), SnapshotError> {
    in_range("data.current_period_start", s.current_period_start)?;
    in_range("data.current_period_end", s.current_period_end)?;
    in_range("data.trial_start", s.trial_start)?;
    in_range("data.trial_end", s.trial_end)?;
    in_range("data.canceled_at", s.canceled_at)?;
    in_range("data.ends_at", s.ends_at)?;
    in_range("data.ended_at", s.ended_at)?;
    in_range("data.started_at", s.started_at)?;
    in_range("data.created_at", Some(s.created_at))?;
    in_range("data.modified_at", s.modified_at)?;
    if let (Some(start), Some(end)) = (s.current_period_start, s.current_period_end) {
        if end < start {
            return Err(SnapshotError::OutOfRange(
                "data.current_period_end: before data.current_period_start",
            ));
        }
    }
    if let (Some(start), Some(end)) = (s.trial_start, s.trial_end) {
        if end < start {
            return Err(SnapshotError::OutOfRange(
                "data.trial_end: before data.trial_start",
            ));
        }
    }
    Ok(())
}

impl SnapshotError {
    /// The parking reason for a webhook carrying this snapshot.
    pub fn park_reason(&self) -> ParkReason {
        let code = match self {
            Self::NoAccount => ParkCode::NoAccount,
            Self::AccountMismatch => ParkCode::AccountMismatch,
            Self::UnknownProduct => ParkCode::UnknownProduct,
            Self::UnknownStatus => ParkCode::UnknownEnum,
            Self::InvalidId(_) | Self::MissingDate(_) => ParkCode::Malformed,
            Self::OutOfRange(_) => ParkCode::OutOfRange,
        };
        ParkReason::new(code, self.to_string())
    }
}

/// Polo's status → design.md's lifecycle table.
fn billing_status(status: SubscriptionStatus) -> Result<BillingStatus, SnapshotError> {
    Ok(match status {
        SubscriptionStatus::Trialing => BillingStatus::Trial,
        SubscriptionStatus::Active => BillingStatus::Active,
        SubscriptionStatus::PastDue | SubscriptionStatus::Unpaid => BillingStatus::PastDue,
        SubscriptionStatus::Incomplete => BillingStatus::Incomplete,
        SubscriptionStatus::IncompleteExpired => BillingStatus::None,
        SubscriptionStatus::Paused => BillingStatus::Paused,
        SubscriptionStatus::Canceled => BillingStatus::Canceled,
        SubscriptionStatus::Unknown => return Err(SnapshotError::UnknownStatus),
    })
}

/// The account a Polo customer belongs to.
pub fn account_of(
    customer: &wire::Customer,
    metadata: &wire::Metadata,
) -> Result<AccountId, SnapshotError> {
    let external = customer
        .external_id
        .as_deref()
        .ok_or(SnapshotError::NoAccount)?;
    let account = AccountId::parse(external)
        .map_err(|_| SnapshotError::InvalidId("data.customer.external_id"))?;
    match metadata.get("accountId") {
        None | Some(serde_json::Value::Null) => Ok(account),
        Some(serde_json::Value::String(claimed)) if claimed == external => Ok(account),
        Some(_) => Err(SnapshotError::AccountMismatch),
    }
}

/// Converts a wire subscription, resolving its tier in the catalogue.
pub fn snapshot(
    s: &wire::Subscription,
    catalogue: &Catalogue,
) -> Result<SubscriptionSnapshot, SnapshotError> {
    let status = billing_status(s.status)?;
    dates_in_range(s)?;
    let account_id = account_of(&s.customer, &s.metadata)?;
    let product_id =
        ProductId::parse(&s.product_id).map_err(|_| SnapshotError::InvalidId("data.product_id"))?;
    let tier = catalogue
        .tier_of(&product_id)
        .ok_or(SnapshotError::UnknownProduct)?;
    match status {
        BillingStatus::Active if s.current_period_end.is_none() => {
            return Err(SnapshotError::MissingDate("data.current_period_end"))
        }
        BillingStatus::Trial if s.trial_end.is_none() && s.current_period_end.is_none() => {
            return Err(SnapshotError::MissingDate("data.trial_end"))
        }
        _ => {}
    }
    Ok(SubscriptionSnapshot {
        id: SubscriptionId::parse(&s.id).map_err(|_| SnapshotError::InvalidId("data.id"))?,
        account_id,
        customer_id: CustomerId::parse(&s.customer_id)
            .map_err(|_| SnapshotError::InvalidId("data.customer_id"))?,
        product_id,
        tier,
        status,
        current_period_end: s.current_period_end,
        trial_end: s.trial_end,
        started_at: s.started_at,
        cancel_at_period_end: s.cancel_at_period_end,
        watermark: s.watermark(),
    })
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
            id: CheckoutId::parse(&c.id).map_err(|_| PoloError::Malformed("checkout.id"))?,
            url: c.url,
            client_secret: c.client_secret,
            state: c.status.into(),
            expires_at: c.expires_at,
            account: c
                .external_customer_id
                .as_deref()
                .map(AccountId::parse)
                .transpose()
                .map_err(|_| PoloError::Malformed("checkout.external_customer_id"))?,
            subscription: c
                .subscription_id
                .as_deref()
                .map(SubscriptionId::parse)
                .transpose()
                .map_err(|_| PoloError::Malformed("checkout.subscription_id"))?,
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
            id: CustomerId::parse(&c.id).map_err(|_| PoloError::Malformed("customer.id"))?,
            account: c
                .external_id
                .as_deref()
                .map(AccountId::parse)
                .transpose()
                .map_err(|_| PoloError::Malformed("customer.external_id"))?,
        })
    }
}

impl TryFrom<wire::Product> for PoloProduct {
    type Error = PoloError;
    fn try_from(p: wire::Product) -> Result<Self, PoloError> {
        Ok(Self {
            id: ProductId::parse(&p.id).map_err(|_| PoloError::Malformed("product.id"))?,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PlanTier;

    fn wire_subscription() -> wire::Subscription {
        serde_json::from_value(serde_json::json!({
            "id": "sub_1", "status": "unpaid", "product_id": "prod_p", "customer_id": "cus_1",
            "customer": {"id": "cus_1", "external_id": "acct_1"},
            "metadata": {"accountId": "acct_1", "planTier": "enterprise"},
            "current_period_end": "2026-12-01T00:00:00Z",
            "created_at": "2026-11-01T00:00:00Z", "modified_at": "2026-11-02T00:00:00Z"
        }))
        .unwrap()
    }

    fn catalogue() -> Catalogue {
        Catalogue::from_lists("prod_s", "prod_p", "prod_e").unwrap()
    }

    #[test]
    fn the_tier_comes_from_the_product_never_from_metadata() {
        let s = snapshot(&wire_subscription(), &catalogue()).unwrap();
        assert_eq!(s.tier, PlanTier::Pro);
        assert_eq!(s.status, BillingStatus::PastDue, "unpaid maps to past_due");
        assert_eq!(s.watermark, time::macros::datetime!(2026-11-02 00:00 UTC));
    }

    #[test]
    fn a_disagreeing_metadata_account_is_refused() {
        let mut w = wire_subscription();
        w.metadata.insert("accountId".into(), "acct_other".into());
        assert_eq!(
            snapshot(&w, &catalogue()).unwrap_err(),
            SnapshotError::AccountMismatch
        );
        assert_eq!(
            SnapshotError::AccountMismatch.park_reason().code,
            "account_mismatch"
        );
    }

    #[test]
    fn no_external_id_means_no_account() {
        let mut w = wire_subscription();
        w.customer.external_id = None;
        assert_eq!(
            snapshot(&w, &catalogue()).unwrap_err(),
            SnapshotError::NoAccount
        );
    }

    #[test]
    fn an_unknown_product_is_refused_not_guessed() {
        let mut w = wire_subscription();
        w.product_id = "prod_mystery".into();
        assert_eq!(
            snapshot(&w, &catalogue()).unwrap_err(),
            SnapshotError::UnknownProduct
        );
    }

    #[test]
    fn an_active_subscription_without_a_period_end_is_malformed() {
        let mut w = wire_subscription();
        w.status = SubscriptionStatus::Active;
        w.current_period_end = None;
        let err = snapshot(&w, &catalogue()).unwrap_err();
        assert_eq!(
            err.park_reason().detail,
            "data.current_period_end: missing for this status"
        );
    }
}
