//! `POST /api/billing/plan`: moves the current Polo subscription to another
//! tier's product and applies Polo's answer through `apply()`.
//!
//! Proration: an upgrade is invoiced now (`invoice`: the prorated
//! difference is charged at once, so a higher tier is paid before it is
//! used); a downgrade is credited on the next invoice (`prorate`).
//!
//! Never an untrue answer about money: when the change fails in a way that
//! may have reached Polo (a timeout after Polo applied it, a lost answer,
//! 5xx or 429 after retries), the subscription is read again and the answer
//! says what is true — changed (applied here too), not changed
//! (`polo_unavailable`), or, when the re-read fails as well,
//! `outcome_unknown`: "check again in a minute", never "nothing changed".

use super::answer::{BillingResult, DashboardError};
use super::{parse_body, sold_tier, Call, Dashboard};
use crate::domain::{BillingStatus, Provider};
use crate::polo::ports::PoloError;
use crate::polo::ports::{Proration, SubscriptionChange};
use crate::telemetry::error_chain;
use crate::updater::Cause;
use serde::Deserialize;
use tracing::{error, info, warn};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PlanBody {
    plan_tier: String,
}

pub(super) async fn change_plan(
    d: &Dashboard,
    call: &Call<'_>,
) -> Result<BillingResult, DashboardError> {
    let body: PlanBody = parse_body(call.request)?;
    let tier = sold_tier(&body.plan_tier)?;
    let account = d.account_or_new(&call.account).await?;
    if account.provider == Provider::Paypal {
        return Ok(BillingResult::paypal(
            &d.settings.paypal_manage_url,
            "Your plan is billed through PayPal. Manage it on PayPal, or choose a plan to move to Polo.",
        ));
    }
    let now = d.clock.now();
    let current = account
        .current_subscription_id
        .as_ref()
        .and_then(|id| account.subscription(id))
        .filter(|s| {
            s.entitled(now) && matches!(s.status, BillingStatus::Active | BillingStatus::Trial)
        })
        .ok_or(DashboardError::NoSubscription(
            "no entitled Polo subscription",
        ))?;
    if current.tier == tier {
        return Err(DashboardError::SamePlan(tier));
    }
    let product = d
        .catalogue
        .product_for(tier)
        .ok_or_else(|| DashboardError::internal("no product configured for a sold tier"))?;
    let proration = if tier > current.tier {
        Proration::ChargeNow
    } else {
        Proration::NextInvoice
    };
    let change = SubscriptionChange::Product {
        product: product.clone(),
        proration,
    };
    let updated = match d
        .polo
        .update_subscription(&current.id, &change, call.deadline)
        .await
    {
        Ok(updated) => updated,
        Err(PoloError::NotFound) => {
            return Err(DashboardError::NoSubscription(
                "Polo has no such subscription",
            ))
        }
        Err(err) if err.is_transient() => {
            // It may have reached Polo: ask what is true now, with a few
            // seconds of our own (the change may have used Polo's budget).
            match d
                .polo
                .get_subscription(&current.id, call.reread_deadline)
                .await
            {
                Ok(now) if now.is_on(product) => {
                    warn!(error = %error_chain(&err), "the plan change failed, but Polo's subscription shows it made");
                    now
                }
                Ok(_) => {
                    info!("the plan change failed and Polo's subscription is unchanged");
                    return Err(DashboardError::PoloUnavailable(err));
                }
                Err(reread) => {
                    error!(error = %error_chain(&reread), "the plan change failed and its re-read too: outcome unknown");
                    return Err(DashboardError::OutcomeUnknown(err));
                }
            }
        }
        Err(err) => return Err(DashboardError::from_polo(err)),
    };
    info!(subscription_id = %current.id, from = %current.tier, to = %tier, ?proration, "plan changed at Polo");
    // Polo has made the change: it stands even if recording it here fails
    // (the subscription.updated webhook applies the same snapshot).
    let cause = Cause {
        event_id: format!("plan-change:{}", call.request_id),
        event_type: "plan.changed".to_owned(),
    };
    match updated.snapshot(&d.catalogue) {
        Ok(snapshot) if snapshot.account_id == call.account => {
            if let Err(err) = d
                .updater
                .apply_snapshot(&snapshot, &cause, call.deadline)
                .await
            {
                error!(error = %error_chain(&err), "plan changed at Polo but not yet recorded; the webhook will apply it");
            }
        }
        Ok(_) => error!("Polo answered a subscription of another account; not applied"),
        Err(err) => error!(error = %err, "Polo's subscription did not convert; not applied"),
    }
    Ok(BillingResult::done(
        format!("Your plan is now {tier}. Polo bills the difference as described on your invoice."),
        Provider::Polo,
    ))
}
