//! `GET /api/billing/status[?checkout_id=..]`: the caller's billing state.
//! With a `checkout_id` (the success URL's), the checkout is fetched and
//! must be the caller's; once it succeeded, its subscription is fetched and
//! applied through `apply()` and the provisioning push, so the user lands
//! back upgraded with credentials issued, before any webhook arrives.

use super::answer::DashboardError;
use super::{Call, Dashboard};
use crate::domain::{AccountBilling, CheckoutId, PlanTier, Provider};
use crate::polo::ports::CheckoutState;
use crate::polo::ports::PoloError;
use crate::updater::{Cause, UpdateError};
use lambda_http::RequestExt;
use serde::Serialize;
use time::OffsetDateTime;
use tracing::{info, warn};

/// design.md's status shape, plus the checkout's progress when asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusView {
    pub account_id: String,
    pub provider: Provider,
    pub plan_tier: PlanTier,
    pub billing_status: &'static str,
    pub entitled: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub premium_expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub renews_at: Option<OffsetDateTime>,
    pub cancel_at_period_end: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub trial_ends_at: Option<OffsetDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkout: Option<CheckoutProgress>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckoutProgress {
    pub id: String,
    pub status: &'static str,
}

impl StatusView {
    pub fn of(account: &AccountBilling, now: OffsetDateTime) -> Self {
        let desired = account.desired_entitlement;
        Self {
            account_id: account.account_id.to_string(),
            provider: account.provider,
            plan_tier: account.plan_tier,
            billing_status: account.billing_status.as_str(),
            entitled: desired.entitled && desired.expires_at.is_none_or(|until| now < until),
            premium_expires_at: account.premium_expires_at,
            renews_at: account.renews_at,
            cancel_at_period_end: account.cancel_at_period_end,
            trial_ends_at: account.trial_ends_at,
            checkout: None,
        }
    }
}

pub(super) async fn status(d: &Dashboard, call: &Call<'_>) -> Result<StatusView, DashboardError> {
    let raw = call
        .request
        .query_string_parameters_ref()
        .and_then(|q| q.first("checkout_id").map(str::to_owned));
    let progress = match raw {
        Some(raw) => Some(confirm_checkout(d, call, &raw).await?),
        None => None,
    };
    let account = d.account_or_new(&call.account).await?;
    let mut view = StatusView::of(&account, d.clock.now());
    view.checkout = progress;
    Ok(view)
}

/// Fetches the caller's checkout and, once it succeeded, applies its
/// subscription. Anything not the caller's is `checkout_not_found`, with
/// nothing applied.
async fn confirm_checkout(
    d: &Dashboard,
    call: &Call<'_>,
    raw: &str,
) -> Result<CheckoutProgress, DashboardError> {
    let id = CheckoutId::parse(raw)
        .map_err(|e| DashboardError::invalid("checkout_id", format!("not a checkout id ({e})")))?;
    let checkout = d
        .polo
        .get_checkout(&id, call.deadline)
        .await
        .map_err(|err| match err {
            PoloError::NotFound => DashboardError::CheckoutNotFound,
            err => DashboardError::from_polo(err),
        })?;
    if checkout.account.as_ref() != Some(&call.account) {
        warn!(checkout_id = %id, "refused: the checkout belongs to another account");
        return Err(DashboardError::CheckoutNotFound);
    }
    let progress = CheckoutProgress {
        id: id.to_string(),
        status: checkout.state.as_str(),
    };
    let (CheckoutState::Succeeded, Some(subscription)) = (checkout.state, checkout.subscription)
    else {
        return Ok(progress);
    };
    let found = d
        .polo
        .get_subscription(&subscription, call.deadline)
        .await
        .map_err(DashboardError::from_polo)?;
    let snapshot = found
        .snapshot(&d.catalogue)
        .map_err(DashboardError::internal)?;
    if snapshot.account_id != call.account {
        warn!(checkout_id = %id, "refused: the checkout's subscription belongs to another account");
        return Err(DashboardError::CheckoutNotFound);
    }
    let cause = Cause {
        event_id: format!("checkout:{id}"),
        event_type: "checkout.succeeded".to_owned(),
    };
    let outcome = d
        .updater
        .apply_snapshot(&snapshot, &cause, call.deadline)
        .await
        .map_err(|err| match err {
            UpdateError::UnknownAccount => {
                DashboardError::internal("the account is not in the account store")
            }
            err => DashboardError::internal(err),
        })?;
    info!(checkout_id = %id, subscription_id = %subscription, outcome = ?outcome_name(&outcome), "checkout confirmed");
    Ok(progress)
}

fn outcome_name(outcome: &crate::updater::UpdateOutcome) -> &'static str {
    match outcome {
        crate::updater::UpdateOutcome::Applied(_) => "applied",
        crate::updater::UpdateOutcome::Unchanged(_) => "unchanged",
        crate::updater::UpdateOutcome::Stale => "stale",
    }
}
