//! `POST /api/billing/portal`: a fresh Polo customer-portal link per call
//! (the link is short-lived). A PayPal subscriber is sent to PayPal's
//! management page instead, and told so.
//!
//! Under `BILLING_PROVIDER=paypal` (the rollback), accounts without Polo
//! billing history get the PayPal page too; accounts already billed by
//! Polo still get Polo's portal — a rollback must not strand them.

use super::answer::{BillingResult, DashboardError};
use super::{Call, Dashboard};
use crate::config::BillingProvider;
use crate::domain::Provider;
use crate::polo::ports::PoloError;

pub(super) async fn portal(
    d: &Dashboard,
    call: &Call<'_>,
) -> Result<BillingResult, DashboardError> {
    let account = d.account_or_new(&call.account).await?;
    if account.provider == Provider::Paypal {
        return Ok(BillingResult::paypal(
            &d.settings.paypal_manage_url,
            "Your subscription is billed through PayPal. Manage it on PayPal.",
        ));
    }
    let polo_history = account.polo_customer_id.is_some() || !account.subscriptions.is_empty();
    if !polo_history {
        if d.settings.billing_provider == BillingProvider::Paypal {
            return Ok(BillingResult::paypal(
                &d.settings.paypal_manage_url,
                "Billing is managed through PayPal for now.",
            ));
        }
        return Err(DashboardError::NoSubscription("no Polo billing history"));
    }
    let session = d
        .polo
        .create_portal_session(&call.account, &d.settings.urls.return_url(), call.deadline)
        .await
        .map_err(|err| match err {
            PoloError::NotFound => DashboardError::NoSubscription("Polo has no such customer"),
            err => DashboardError::from_polo(err),
        })?;
    let url = d.settings.urls.polo_url(&session.url)?;
    Ok(BillingResult {
        url: Some(url),
        expires_at: Some(session.expires_at),
        ..BillingResult::done(
            "Opening the Polo billing portal to manage your subscription.",
            Provider::Polo,
        )
    })
}
