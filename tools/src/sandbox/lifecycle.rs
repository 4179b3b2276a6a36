//! The subscription lifecycle, as polo-api.md's "Typical sequences" tell
//! it: each transition changes the state, stamps `modified_at` from the
//! sandbox clock and returns the events Polo would send, in order.

use super::model::{
    new_id, CheckoutStatus, Emitted, Interval, Order, State, SubStatus, Subscription,
};
use time::OffsetDateTime;

/// Why a transition was refused (the API maps it to Polo's error JSON,
/// the hosted pages to a message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NotFound(&'static str),
    /// The field path and what is wrong with it.
    Invalid(String, String),
    /// The resource's state forbids it (Polo's 403).
    NotPermitted(String),
    Conflict(String),
}

impl State {
    pub(super) fn emit_subscription(&self, event_type: &'static str, id: &str) -> Option<Emitted> {
        let s = self.subscriptions.get(id)?;
        Some(Emitted {
            event_type,
            data: self.subscription_json(s),
        })
    }

    /// Records a paid order for the subscription and its `order.paid`.
    pub(super) fn paid_order(
        &mut self,
        subscription_id: &str,
        billing_reason: &'static str,
        total_amount: i64,
        at: OffsetDateTime,
    ) -> Option<Emitted> {
        let s = self.subscriptions.get(subscription_id)?;
        let order = Order {
            id: new_id(),
            billing_reason,
            subscription_id: s.id.clone(),
            subscription: self.subscription_json(s),
            customer_id: s.customer_id.clone(),
            product_id: s.product_id.clone(),
            total_amount,
            currency: s.currency.clone(),
            metadata: s.metadata.clone(),
            created_at: at,
        };
        let data = self.order_json(&order);
        self.orders.push(order);
        Some(Emitted {
            event_type: "order.paid",
            data,
        })
    }

    /// The hosted page's Pay: a customer (found or created), a subscription
    /// (trialing when a trial applies, else incomplete then active once
    /// paid), the checkout succeeded. Events: `subscription.created`
    /// (+ `subscription.active`) + `order.paid`.
    pub fn pay(
        &mut self,
        client_secret: &str,
        email: &str,
        now: OffsetDateTime,
    ) -> Result<(String, Vec<Emitted>), Refusal> {
        self.expire_checkouts(now);
        let checkout = self
            .checkout_by_secret(client_secret)
            .cloned()
            .ok_or(Refusal::NotFound("checkout"))?;
        if checkout.status != CheckoutStatus::Open {
            return Err(Refusal::NotPermitted(format!(
                "this checkout is {}",
                checkout.status.as_str()
            )));
        }
        let product = self
            .product(&checkout.product_id)
            .cloned()
            .ok_or(Refusal::NotFound("product"))?;
        let customer_id = self.ensure_customer(&checkout, email, now);
        let trial = match (checkout.allow_trial, checkout.trial, product.trial_days) {
            (false, _, _) => None,
            (true, Some(asked), _) => Some(asked),
            (true, None, Some(days)) if days > 0 => Some((Interval::Day, days)),
            _ => None,
        };
        let created = self.stamp(now);
        let (status, period_end) = match trial {
            Some((interval, count)) => (SubStatus::Trialing, interval.add(created, count)),
            None => (
                SubStatus::Incomplete,
                product.recurring_interval.add(created, 1),
            ),
        };
        let subscription = Subscription {
            id: new_id(),
            status,
            product_id: product.id.clone(),
            customer_id: customer_id.clone(),
            metadata: checkout.metadata.clone(),
            current_period_start: created,
            current_period_end: Some(period_end),
            trial_start: trial.map(|_| created),
            trial_end: trial.map(|_| period_end),
            cancel_at_period_end: false,
            canceled_at: None,
            ends_at: None,
            ended_at: None,
            started_at: trial.map(|_| created),
            created_at: created,
            modified_at: None,
            amount: product.price_amount,
            currency: product.currency.clone(),
            recurring_interval: product.recurring_interval,
            checkout_id: Some(checkout.id.clone()),
            fail_next_renewal: false,
        };
        let id = subscription.id.clone();
        self.insert_subscription(subscription);
        let mut events: Vec<Emitted> = self
            .emit_subscription("subscription.created", &id)
            .into_iter()
            .collect();
        let paid_at = if trial.is_none() {
            let paid = self.stamp(now);
            if let Some(s) = self.subscriptions.get_mut(&id) {
                s.status = SubStatus::Active;
                s.started_at = Some(paid);
                s.current_period_start = paid;
                s.current_period_end = Some(product.recurring_interval.add(paid, 1));
                s.modified_at = Some(paid);
            }
            events.extend(self.emit_subscription("subscription.active", &id));
            paid
        } else {
            created
        };
        let total = if trial.is_some() {
            0
        } else {
            product.price_amount
        };
        events.extend(self.paid_order(&id, "subscription_create", total, paid_at));
        if let Some(c) = self.checkouts.get_mut(&checkout.id) {
            c.status = CheckoutStatus::Succeeded;
            c.customer_id = Some(customer_id);
            c.subscription_id = Some(id.clone());
            c.modified_at = Some(paid_at);
        }
        Ok((checkout.id, events))
    }

    fn ensure_customer(
        &mut self,
        checkout: &super::model::Checkout,
        email: &str,
        now: OffsetDateTime,
    ) -> String {
        if let Some(id) = checkout.customer_id.clone() {
            return id;
        }
        if let Some(existing) = checkout
            .external_customer_id
            .as_deref()
            .and_then(|e| self.customer_by_external(e))
        {
            return existing.id.clone();
        }
        let customer = super::model::Customer {
            id: new_id(),
            external_id: checkout.external_customer_id.clone(),
            email: email.to_owned(),
            name: None,
            metadata: Default::default(),
            created_at: self.stamp(now),
        };
        let id = customer.id.clone();
        self.insert_customer(customer);
        id
    }

    /// The hosted page's "card declined": the checkout fails, nothing else.
    pub fn decline(&mut self, client_secret: &str, now: OffsetDateTime) -> Result<(), Refusal> {
        self.expire_checkouts(now);
        let id = self
            .checkout_by_secret(client_secret)
            .map(|c| (c.id.clone(), c.status))
            .ok_or(Refusal::NotFound("checkout"))?;
        if id.1 != CheckoutStatus::Open {
            return Err(Refusal::NotPermitted(format!(
                "this checkout is {}",
                id.1.as_str()
            )));
        }
        let at = self.stamp(now);
        if let Some(c) = self.checkouts.get_mut(&id.0) {
            c.status = CheckoutStatus::Failed;
            c.modified_at = Some(at);
        }
        Ok(())
    }

    fn live_subscription(&mut self, id: &str) -> Result<&mut Subscription, Refusal> {
        let s = self
            .subscriptions
            .get_mut(id)
            .ok_or(Refusal::NotFound("subscription"))?;
        if s.status.is_live() || s.status == SubStatus::PastDue {
            Ok(s)
        } else {
            Err(Refusal::NotPermitted(format!(
                "the subscription is {}",
                s.status.as_str()
            )))
        }
    }

    /// A plan change: `subscription.updated` (+ `order.paid` for the
    /// prorated difference when invoiced now).
    pub fn change_product(
        &mut self,
        id: &str,
        product_id: &str,
        invoice_now: bool,
        now: OffsetDateTime,
    ) -> Result<Vec<Emitted>, Refusal> {
        let product = self
            .product(product_id)
            .filter(|p| !p.is_archived)
            .cloned()
            .ok_or_else(|| Refusal::Invalid("product_id".into(), "no such product".into()))?;
        let at = self.stamp(now);
        let s = self.live_subscription(id)?;
        if s.product_id == product.id {
            return Err(Refusal::Invalid(
                "product_id".into(),
                "the subscription is already on this product".into(),
            ));
        }
        let difference = (product.price_amount - s.amount).max(0);
        s.product_id = product.id.clone();
        s.amount = product.price_amount;
        s.recurring_interval = product.recurring_interval;
        s.modified_at = Some(at);
        let mut events: Vec<Emitted> = self
            .emit_subscription("subscription.updated", id)
            .into_iter()
            .collect();
        if invoice_now && difference > 0 {
            events.extend(self.paid_order(id, "subscription_update", difference, at));
        }
        Ok(events)
    }

    /// Cancel at period end (`updated` + `canceled`, access continues) or
    /// undo it (`updated` + `uncanceled`). Asking for the current state
    /// changes nothing and sends nothing.
    pub fn set_cancel_at_period_end(
        &mut self,
        id: &str,
        cancel: bool,
        now: OffsetDateTime,
    ) -> Result<Vec<Emitted>, Refusal> {
        let at = self.stamp(now);
        let s = self.live_subscription(id)?;
        if s.cancel_at_period_end == cancel {
            return Ok(Vec::new());
        }
        s.cancel_at_period_end = cancel;
        s.canceled_at = cancel.then_some(at);
        s.ends_at = if cancel { s.current_period_end } else { None };
        s.modified_at = Some(at);
        let second = if cancel {
            "subscription.canceled"
        } else {
            "subscription.uncanceled"
        };
        Ok(["subscription.updated", second]
            .into_iter()
            .filter_map(|t| self.emit_subscription(t, id))
            .collect())
    }

    /// Immediate revoke: `updated`, `canceled`, `revoked` together.
    pub fn revoke(&mut self, id: &str, now: OffsetDateTime) -> Result<Vec<Emitted>, Refusal> {
        let at = self.stamp(now);
        let s = self.live_subscription(id)?;
        s.status = SubStatus::Canceled;
        s.cancel_at_period_end = false;
        s.canceled_at = Some(at);
        s.ends_at = Some(at);
        s.ended_at = Some(at);
        s.modified_at = Some(at);
        Ok([
            "subscription.updated",
            "subscription.canceled",
            "subscription.revoked",
        ]
        .into_iter()
        .filter_map(|t| self.emit_subscription(t, id))
        .collect())
    }
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
