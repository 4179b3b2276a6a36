//! `POST /api/billing/checkout`: creates the Polo checkout when the user
//! clicks (a checkout expires after an hour), refusing when the account
//! has any Polo subscription that has not ended — known to our record, or
//! found by asking Polo itself (our record can be behind), so no account
//! ends up paying for two. A legacy PayPal subscriber gets a trial covering
//! the days already paid to PayPal.
//!
//! Double clicks make one checkout: the checkout is created with an
//! `Idempotency-Key` derived from the account, the tier, the mode and the
//! account's version, so every request that would make the same checkout —
//! a double click, a second tab, two Lambda instances racing — sends the
//! same key and Polo answers them all with the same checkout. There is no
//! record of ours between deriving the key and creating the checkout, so a
//! Lambda dying between the two leaves nothing to clean up: the next click
//! derives the same key. Once that checkout has expired (its hour is up) or
//! failed, the next key is derived from it and its id, so every request
//! still agrees on one new checkout. Another tier (or mode) derives another
//! key: a new checkout; the old one stays open at Polo until its hour ends
//! (polo-api.md has no call to expire a checkout early; docs/POLO.md).

use super::answer::{BillingResult, CheckoutMode, DashboardError};
use super::{parse_body, sold_tier, Call, Dashboard};
use crate::config::BillingProvider;
use crate::domain::AccountId;
use crate::domain::{AccountBilling, Provider};
use crate::polo::ports::{
    live_subscription, CheckoutSession, CheckoutState, NewCheckout, TrialOffer,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tracing::info;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CheckoutBody {
    plan_tier: String,
    #[serde(default)]
    mode: Option<Mode>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Mode {
    Redirect,
    Embedded,
}

pub(super) async fn checkout(
    d: &Dashboard,
    call: &Call<'_>,
) -> Result<BillingResult, DashboardError> {
    let body: CheckoutBody = parse_body(call.request)?;
    let tier = sold_tier(&body.plan_tier)?;
    let mode = match body.mode.unwrap_or(Mode::Redirect) {
        Mode::Redirect => CheckoutMode::Redirect,
        Mode::Embedded => CheckoutMode::Embedded,
    };
    if d.settings.billing_provider == BillingProvider::Paypal {
        return Ok(BillingResult::paypal(
            &d.settings.paypal_checkout_url,
            "Plans are sold through PayPal for now. Continue on PayPal to subscribe.",
        ));
    }
    let account = d
        .accounts
        .get(&call.account)
        .await
        .map_err(DashboardError::internal)?
        .ok_or_else(|| DashboardError::internal("the account is not in the account store"))?;
    let now = d.clock.now();
    if account.entitled_on_polo(now) {
        return Err(DashboardError::AlreadySubscribed);
    }
    if let Some(live) = live_subscription(d.polo.as_ref(), &call.account, call.deadline)
        .await
        .map_err(DashboardError::from_polo)?
    {
        info!(subscription_id = %live, "checkout refused: Polo holds a subscription that has not ended");
        return Err(DashboardError::AlreadySubscribed);
    }
    let product = d
        .catalogue
        .product_for(tier)
        .ok_or_else(|| DashboardError::internal("no product configured for a sold tier"))?;
    let trial = trial_offer(&account, now);
    let urls = &d.settings.urls;
    let mut checkout = NewCheckout {
        account: call.account.clone(),
        tier,
        product: product.clone(),
        success_url: urls.success_url(),
        return_url: urls.return_url(),
        embed_origin: (mode == CheckoutMode::Embedded).then(|| urls.embed_origin()),
        trial,
        idempotency_key: first_key(&call.account, tier.as_str(), mode, account.version),
    };
    let session = one_open_checkout(d, &mut checkout, call.deadline).await?;
    let url = urls.polo_url(&session.url)?;
    info!(checkout_id = %session.id, plan_tier = %tier, trial = ?trial, "checkout created");
    Ok(BillingResult {
        url: Some(url),
        mode: Some(mode),
        client_secret: match mode {
            CheckoutMode::Embedded => session.client_secret,
            CheckoutMode::Redirect => None,
        },
        checkout_id: Some(session.id.to_string()),
        expires_at: Some(session.expires_at),
        ..BillingResult::done(
            format!("Continue to Polo to subscribe to the {tier} plan."),
            Provider::Polo,
        )
    })
}

/// How many spent checkouts (expired or failed) are stepped over before
/// giving up: one an hour for a day without any change to the account.
const MAX_SPENT_CHECKOUTS: usize = 24;

fn digest(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0u8]);
    }
    format!("checkout-{}", &hex::encode(hash.finalize())[..40])
}

/// The key every request for this checkout derives alike.
fn first_key(account: &AccountId, tier: &str, mode: CheckoutMode, version: u64) -> String {
    let mode = match mode {
        CheckoutMode::Redirect => "redirect",
        CheckoutMode::Embedded => "embedded",
    };
    digest(&[account.as_str(), tier, mode, &version.to_string()])
}

/// The key after `spent`: as deterministic as the first.
fn next_key(key: &str, spent: &CheckoutSession) -> String {
    digest(&[key, spent.id.as_str()])
}

/// Creates (or gets back, by its key) the account's checkout, stepping past
/// ones that can no longer be paid.
async fn one_open_checkout(
    d: &Dashboard,
    checkout: &mut NewCheckout,
    deadline: OffsetDateTime,
) -> Result<CheckoutSession, DashboardError> {
    for _ in 0..MAX_SPENT_CHECKOUTS {
        let session = d
            .polo
            .create_checkout(checkout, deadline)
            .await
            .map_err(DashboardError::from_polo)?;
        match session.state {
            CheckoutState::Expired | CheckoutState::Failed => {
                info!(checkout_id = %session.id, state = session.state.as_str(), "the checkout for this key is spent; deriving the next");
                checkout.idempotency_key = next_key(&checkout.idempotency_key, &session);
            }
            _ => return Ok(session),
        }
    }
    Err(DashboardError::internal(
        "every checkout derived for this account was spent",
    ))
}

/// A PayPal subscriber still paid up gets a trial to the day their PayPal
/// period ends (rounded up: no lost day; billing starts when PayPal's ends:
/// no double charge). An account that already had a Polo subscription gets
/// no second trial; a first-time subscriber gets the product's own.
fn trial_offer(account: &AccountBilling, now: OffsetDateTime) -> TrialOffer {
    if let Some(paypal) = account
        .paypal
        .as_ref()
        .filter(|_| account.provider == Provider::Paypal)
    {
        let remaining = paypal.paid_through - now;
        if remaining.is_positive() {
            let days = (remaining.whole_seconds() + 86_399) / 86_400;
            return TrialOffer::Days(u32::try_from(days).unwrap_or(u32::MAX));
        }
        return TrialOffer::Refused;
    }
    if account.subscriptions.is_empty() {
        TrialOffer::ProductDefault
    } else {
        TrialOffer::Refused
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{PaypalLegacy, PlanTier};
    use time::macros::datetime;

    fn paypal_account(paid_through: OffsetDateTime) -> AccountBilling {
        let mut account = AccountBilling::new(AccountId::parse("acct_pp").unwrap());
        account.provider = Provider::Paypal;
        account.paypal = Some(PaypalLegacy {
            subscription_id: "I-PAYPAL1".into(),
            tier: PlanTier::Pro,
            paid_through,
        });
        account
    }

    #[test]
    fn a_paypal_subscriber_gets_a_trial_to_the_end_of_the_paid_period_rounded_up() {
        let now = datetime!(2026-11-26 12:00 UTC);
        let account = paypal_account(datetime!(2026-12-10 00:00 UTC));
        assert_eq!(trial_offer(&account, now), TrialOffer::Days(14));
        let exact = paypal_account(datetime!(2026-12-06 12:00 UTC));
        assert_eq!(trial_offer(&exact, now), TrialOffer::Days(10));
    }

    #[test]
    fn a_lapsed_paypal_subscriber_and_a_returning_customer_get_no_trial() {
        let now = datetime!(2026-11-26 12:00 UTC);
        assert_eq!(
            trial_offer(&paypal_account(datetime!(2026-11-01 00:00 UTC)), now),
            TrialOffer::Refused
        );
        let fresh = AccountBilling::new(AccountId::parse("acct_new").unwrap());
        assert_eq!(trial_offer(&fresh, now), TrialOffer::ProductDefault);
    }

    #[test]
    fn every_request_for_the_same_checkout_derives_the_same_key_and_any_difference_another() {
        let a = AccountId::parse("acct_1").unwrap();
        let key = first_key(&a, "pro", CheckoutMode::Redirect, 3);
        assert_eq!(key, first_key(&a, "pro", CheckoutMode::Redirect, 3));
        let others = [
            first_key(
                &AccountId::parse("acct_2").unwrap(),
                "pro",
                CheckoutMode::Redirect,
                3,
            ),
            first_key(&a, "starter", CheckoutMode::Redirect, 3),
            first_key(&a, "pro", CheckoutMode::Embedded, 3),
            first_key(&a, "pro", CheckoutMode::Redirect, 4),
        ];
        assert!(others.iter().all(|o| o != &key));
        assert!(key.len() <= 64 && key.starts_with("checkout-"));
    }
}
