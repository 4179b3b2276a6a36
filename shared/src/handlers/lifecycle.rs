//! The webhook functions' event handler: turns a Polo event into the
//! account's new state through the one `apply()` and the account updater.
//! Subscription events carry the snapshot; `order.paid` carries a possibly
//! stale one, so the subscription is fetched from Polo and that is applied.

use crate::domain::SubscriptionId;
use crate::idempotency::ParkReason;
use crate::polo::api::{PoloError, SubscriptionLookup};
use crate::polo::catalogue::Catalogue;
use crate::polo::events::{EventData, PoloEvent};
use crate::polo::transform;
use crate::polo::wire::{Order, OrderStatus};
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

fn permanent(code: &str, detail: &str) -> HandleError {
    HandleError::Permanent(ParkReason::new(code, detail))
}

impl LifecycleHandler {
    /// The subscription an `order.paid` is about, as Polo has it now.
    async fn paid_subscription(
        &self,
        order: &Order,
        ctx: &DeliveryContext,
    ) -> Result<Option<crate::domain::SubscriptionSnapshot>, HandleError> {
        if order.status != OrderStatus::Paid {
            info!(status = ?order.status, "order not paid: nothing to apply");
            return Ok(None);
        }
        let Some(raw_id) = order.subscription_id.as_deref() else {
            info!("a one-off order: no subscription to apply");
            return Ok(None);
        };
        let order_account = transform::account_of(&order.customer, &order.metadata)
            .map_err(|e| HandleError::Permanent(e.park_reason()))?;
        let id = SubscriptionId::parse(raw_id)
            .map_err(|_| permanent("malformed", "data.subscription_id: invalid id"))?;
        let polo = self.polo.as_ref().ok_or_else(|| {
            HandleError::Transient("no Polo client configured for order events".into())
        })?;
        let wire = polo
            .get_subscription(&id, ctx.deadline)
            .await
            .map_err(classify_polo)?;
        let snapshot = transform::snapshot(&wire, &self.catalogue)
            .map_err(|e| HandleError::Permanent(e.park_reason()))?;
        if snapshot.account_id != order_account {
            return Err(permanent(
                "account_mismatch",
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
            EventData::Subscription(s) => transform::snapshot(s, &self.catalogue)
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
                "unknown_account",
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
            "unknown_subscription",
            "data.subscription_id: not found at Polo",
        ),
        PoloError::Validation(detail) => HandleError::Permanent(ParkReason::new(
            "polo_refused",
            format!("data.subscription_id: refused by Polo: {detail}"),
        )),
        err @ (PoloError::Auth
        | PoloError::Conflict
        | PoloError::RateLimited { .. }
        | PoloError::Malformed(_)
        | PoloError::Unavailable(_)) => HandleError::Transient(Box::new(err)),
    }
}
