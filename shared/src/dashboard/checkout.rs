//! `POST /api/billing/checkout`: creates the Polo checkout when the user
//! clicks (a checkout expires after an hour), refusing when the account
//! has any Polo subscription that has not ended — known to our record, or
//! found by asking Polo itself (our record can be behind), so no account
//! ends up paying for two. A legacy PayPal subscriber gets a trial covering
//! the days already paid to PayPal.

use super::answer::{BillingResult, CheckoutMode, DashboardError};
use super::{parse_body, sold_tier, Call, Dashboard};
use crate::config::BillingProvider;
use crate::domain::{AccountBilling, Provider};
use crate::polo::billing_api::{live_subscription, NewCheckout, TrialOffer};
use serde::Deserialize;
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
    let checkout = NewCheckout {
        account: call.account.clone(),
        tier,
        product: product.clone(),
        success_url: urls.success_url(),
        return_url: urls.return_url(),
        embed_origin: (mode == CheckoutMode::Embedded).then(|| urls.embed_origin()),
        trial,
    };
    let session = d
        .polo
        .create_checkout(&checkout, call.deadline)
        .await
        .map_err(DashboardError::from_polo)?;
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
    use crate::domain::{AccountId, PaypalLegacy, PlanTier};
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
}
