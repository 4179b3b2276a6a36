//! The webhook functions' event handler: turns a Polo event into the
//! account's new state through the one `apply()` and the account updater.
//! Subscription events carry the snapshot; `order.paid` carries a possibly
//! stale one, so the subscription is fetched from Polo and that is applied.

use crate::idempotency::{ParkCode, ParkReason};
use crate::polo::catalogue::Catalogue;
use crate::polo::events::{EventData, PoloEvent};
use crate::polo::ports::{PoloError, SubscriptionLookup};
use crate::polo::{OrderChange, PoloOrder};
use crate::updater::{AccountUpdater, Cause, UpdateError, UpdateOutcome};
use crate::webhook::{DeliveryContext, EventHandler, HandleError, Handled};
use async_trait::async_trait;
use std::sync::Arc;
use tracing::info;

pub struct LifecycleHandler {
    pub updater: Arc<AccountUpdater>,
    pub catalogue: Arc<Catalogue>,
    /// Needed by payment-succeeded only.
    pub polo: Option<Arc<dyn SubscriptionLookup>>,
}

fn permanent(code: ParkCode, detail: &str) -> HandleError {
    HandleError::Permanent(ParkReason::new(code, detail))
}

impl LifecycleHandler {
    /// The subscription an `order.paid` is about, as Polo has it now.
    async fn paid_subscription(
        &self,
        order: &PoloOrder,
        ctx: &DeliveryContext,
    ) -> Result<Option<crate::domain::SubscriptionSnapshot>, HandleError> {
        let (id, order_account) = match order
            .change()
            .map_err(|e| HandleError::Permanent(e.park_reason()))?
        {
            OrderChange::NotPaid => {
                info!(status = %order.status_name(), "order not paid: nothing to apply");
                return Ok(None);
            }
            OrderChange::OneOff => {
                info!("a one-off order: no subscription to apply");
                return Ok(None);
            }
            OrderChange::Subscription { id, account } => (id, account),
        };
        let polo = self.polo.as_ref().ok_or_else(|| {
            HandleError::Transient("no Polo client configured for order events".into())
        })?;
        let found = polo
            .get_subscription(&id, ctx.deadline)
            .await
            .map_err(classify_polo)?;
        let snapshot = found
            .snapshot(&self.catalogue)
            .map_err(|e| HandleError::Permanent(e.park_reason()))?;
        if snapshot.account_id != order_account {
            return Err(permanent(
                ParkCode::AccountMismatch,
                "data.customer.external_id: differs from the subscription's account",
            ));
        }
        Ok(Some(snapshot))
    }
}

#[async_trait]
impl EventHandler for LifecycleHandler {
    async fn handle(
        &self,
        event: &PoloEvent,
        ctx: &DeliveryContext,
    ) -> Result<Handled, HandleError> {
        let snapshot = match &event.data {
            EventData::Subscription(s) => s
                .snapshot(&self.catalogue)
                .map_err(|e| HandleError::Permanent(e.park_reason()))?,
            EventData::Order(order) => match self.paid_subscription(order, ctx).await? {
                Some(snapshot) => snapshot,
                None => return Ok(Handled::Unchanged),
            },
        };
        let cause = Cause {
            event_id: ctx.webhook_id.clone(),
            event_type: event.event_type.as_str().to_owned(),
        };
        match self
            .updater
            .apply_snapshot(&snapshot, &cause, ctx.deadline)
            .await
        {
            Ok(UpdateOutcome::Applied(_)) => Ok(Handled::Applied),
            Ok(UpdateOutcome::Unchanged(_)) => Ok(Handled::Unchanged),
            Ok(UpdateOutcome::Stale) => Ok(Handled::Stale),
            Err(UpdateError::UnknownAccount) => Err(permanent(
                ParkCode::UnknownAccount,
                "data.customer.external_id: no such account",
            )),
            // A refusal that is not about the account (a bug or a setting on
            // our side) is retried until fixed, then alarmed — never parked.
            Err(err @ (UpdateError::Rejected(_) | UpdateError::Unavailable(_))) => {
                Err(HandleError::Transient(Box::new(err)))
            }
        }
    }
}

/// design.md's fault rule for Polo's answers on the webhook path: only an
/// answer about the event itself parks it — Polo's own 404 for its
/// subscription id, or a 400/422 refusing that id. A refused API key (a
/// rotated or wrong secret), throttling, a bare 404 (a wrong base URL), a
/// 409 on a read, an undecodable answer or an outage is an operator's or
/// Polo's problem: transient, so the event waits in the inbox.
fn classify_polo(err: PoloError) -> HandleError {
    match err {
        PoloError::NotFound => permanent(
            ParkCode::UnknownSubscription,
            "data.subscription_id: not found at Polo",
        ),
        PoloError::Validation(detail) => HandleError::Permanent(ParkReason::new(
            ParkCode::PoloRefused,
            format!("data.subscription_id: refused by Polo: {detail}"),
        )),
        err @ (PoloError::Auth
        | PoloError::Conflict
        | PoloError::RateLimited { .. }
        | PoloError::Malformed(_)
        | PoloError::Unavailable(_)) => HandleError::Transient(Box::new(err)),
    }
}
