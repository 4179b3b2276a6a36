//! How the sandbox's records render as Polo's JSON (polo-api.md's
//! `Checkout`, `Subscription`, `Order`, `Customer`, `Product`): built from
//! the contract here, not from the shared crate's wire types, so a drift
//! between the two shows up in tests.

use super::model::{Checkout, Customer, Order, Product, State, Subscription};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

impl State {
    pub fn customer_json(&self, id: &str) -> Value {
        self.customers.get(id).map_or(Value::Null, customer_json)
    }

    pub fn subscription_json(&self, s: &Subscription) -> Value {
        let customer = self.customers.get(&s.customer_id);
        json!({
            "id": s.id,
            "status": s.status.as_str(),
            "product_id": s.product_id,
            "product": self.product(&s.product_id).map(product_json),
            "customer_id": s.customer_id,
            "customer": {
                "id": s.customer_id,
                "external_id": customer.and_then(|c| c.external_id.clone()),
                "email": customer.map(|c| c.email.clone()),
            },
            "metadata": s.metadata,
            "current_period_start": rfc3339(s.current_period_start),
            "current_period_end": s.current_period_end.map(rfc3339),
            "trial_start": s.trial_start.map(rfc3339),
            "trial_end": s.trial_end.map(rfc3339),
            "cancel_at_period_end": s.cancel_at_period_end,
            "canceled_at": s.canceled_at.map(rfc3339),
            "ends_at": s.ends_at.map(rfc3339),
            "ended_at": s.ended_at.map(rfc3339),
            "started_at": s.started_at.map(rfc3339),
            "created_at": rfc3339(s.created_at),
            "modified_at": s.modified_at.map(rfc3339),
            "amount": s.amount,
            "currency": s.currency,
            "recurring_interval": s.recurring_interval.as_str(),
            "checkout_id": s.checkout_id,
        })
    }

    pub fn order_json(&self, o: &Order) -> Value {
        let customer = self.customers.get(&o.customer_id);
        json!({
            "id": o.id,
            "status": "paid",
            "paid": true,
            "billing_reason": o.billing_reason,
            "subscription_id": o.subscription_id,
            "subscription": o.subscription,
            "customer_id": o.customer_id,
            "customer": {
                "id": o.customer_id,
                "external_id": customer.and_then(|c| c.external_id.clone()),
                "email": customer.map(|c| c.email.clone()),
            },
            "product_id": o.product_id,
            "total_amount": o.total_amount,
            "currency": o.currency,
            "created_at": rfc3339(o.created_at),
            "modified_at": Value::Null,
            "metadata": o.metadata,
        })
    }

    pub fn checkout_json(&self, c: &Checkout, public_url: &str) -> Value {
        let product = self.product(&c.product_id);
        json!({
            "id": c.id,
            "url": checkout_url(public_url, &c.client_secret),
            "client_secret": c.client_secret,
            "status": c.status.as_str(),
            "expires_at": rfc3339(c.expires_at),
            "created_at": rfc3339(c.created_at),
            "modified_at": c.modified_at.map(rfc3339),
            "customer_id": c.customer_id,
            "external_customer_id": c.external_customer_id,
            "customer_email": c.customer_email,
            "product_id": c.product_id,
            "products": c.products,
            "amount": product.map(|p| p.price_amount),
            "currency": product.map(|p| p.currency.clone()),
            "subscription_id": c.subscription_id,
            "metadata": c.metadata,
            "embed_origin": c.embed_origin,
            "success_url": c.success_url,
            "return_url": c.return_url,
            "allow_trial": c.allow_trial,
            "trial_interval": c.trial.map(|(i, _)| i.as_str()),
            "trial_interval_count": c.trial.map(|(_, n)| n),
        })
    }
}

pub fn customer_json(c: &Customer) -> Value {
    json!({
        "id": c.id,
        "external_id": c.external_id,
        "email": c.email,
        "name": c.name,
        "metadata": c.metadata,
        "created_at": rfc3339(c.created_at),
        "modified_at": Value::Null,
    })
}

pub fn product_json(p: &Product) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "description": p.description,
        "is_recurring": true,
        "is_archived": p.is_archived,
        "recurring_interval": p.recurring_interval.as_str(),
        "prices": [{
            "id": format!("price_{}", p.id),
            "amount_type": "fixed",
            "price_amount": p.price_amount,
            "price_currency": p.currency,
            "recurring_interval": p.recurring_interval.as_str(),
        }],
    })
}

/// The hosted checkout page of a checkout.
pub fn checkout_url(public_url: &str, client_secret: &str) -> String {
    format!(
        "{}/checkout/{client_secret}",
        public_url.trim_end_matches('/')
    )
}

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}
