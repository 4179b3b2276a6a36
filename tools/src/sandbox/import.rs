//! Polo's subscription JSON (polo-api.md's `Subscription`, as a webhook's
//! `data` or an API answer carries it) taken in as the sandbox's record:
//! how a test or harness makes Polo hold a given state — a story's end, a
//! seeded subscriber — without walking a checkout to it. The customer comes
//! from the JSON's `customer` object and is kept if the sandbox knows it.

use super::model::{Customer, Interval, State, SubStatus, Subscription};
use super::Sandbox;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Why a subscription JSON cannot be taken in: the field and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("subscription JSON: {field}: {problem}")]
pub struct ImportError {
    pub field: &'static str,
    pub problem: String,
}

fn error(field: &'static str, problem: impl Into<String>) -> ImportError {
    ImportError {
        field,
        problem: problem.into(),
    }
}

fn text(wire: &Value, field: &'static str) -> Result<Option<String>, ImportError> {
    match &wire[field] {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(error(field, "not a string")),
    }
}

fn required(wire: &Value, field: &'static str) -> Result<String, ImportError> {
    text(wire, field)?
        .filter(|s| !s.is_empty())
        .ok_or(error(field, "missing"))
}

fn at(wire: &Value, field: &'static str) -> Result<Option<OffsetDateTime>, ImportError> {
    text(wire, field)?
        .map(|t| OffsetDateTime::parse(&t, &Rfc3339).map_err(|e| error(field, e.to_string())))
        .transpose()
}

impl Subscription {
    /// The sandbox's record of Polo's subscription JSON `wire`. A missing
    /// `current_period_start` reads as `created_at` (Polo omits it before
    /// the first period); a missing interval as a month.
    pub fn from_polo_json(wire: &Value) -> Result<Self, ImportError> {
        let status = required(wire, "status")?;
        let status =
            SubStatus::parse(&status).ok_or(error("status", format!("unknown: {status}")))?;
        let created_at = at(wire, "created_at")?.ok_or(error("created_at", "missing"))?;
        let recurring_interval = match text(wire, "recurring_interval")? {
            None => Interval::Month,
            Some(raw) => serde_json::from_value(Value::String(raw.clone()))
                .map_err(|_| error("recurring_interval", format!("unknown: {raw}")))?,
        };
        let amount = match &wire["amount"] {
            Value::Null => 0,
            v => v.as_i64().ok_or(error("amount", "not an integer"))?,
        };
        let cancel_at_period_end = match &wire["cancel_at_period_end"] {
            Value::Null => false,
            v => v
                .as_bool()
                .ok_or(error("cancel_at_period_end", "not a boolean"))?,
        };
        Ok(Self {
            id: required(wire, "id")?,
            status,
            product_id: required(wire, "product_id")?,
            customer_id: required(wire, "customer_id")?,
            metadata: wire["metadata"].as_object().cloned().unwrap_or_default(),
            current_period_start: at(wire, "current_period_start")?.unwrap_or(created_at),
            current_period_end: at(wire, "current_period_end")?,
            trial_start: at(wire, "trial_start")?,
            trial_end: at(wire, "trial_end")?,
            cancel_at_period_end,
            canceled_at: at(wire, "canceled_at")?,
            ends_at: at(wire, "ends_at")?,
            ended_at: at(wire, "ended_at")?,
            started_at: at(wire, "started_at")?,
            created_at,
            modified_at: at(wire, "modified_at")?,
            amount,
            currency: text(wire, "currency")?.unwrap_or_else(|| "usd".to_owned()),
            recurring_interval,
            checkout_id: text(wire, "checkout_id")?,
            fail_next_renewal: false,
        })
    }
}

impl State {
    /// Holds `wire` as Polo's subscription from now on (replacing one of the
    /// same id), and its customer if new. Returns the subscription's id.
    /// Nothing changes when the JSON is refused.
    pub fn import_subscription(&mut self, wire: &Value) -> Result<String, ImportError> {
        let subscription = Subscription::from_polo_json(wire)?;
        if self.product(&subscription.product_id).is_none() {
            return Err(error(
                "product_id",
                format!("not a sandbox product: {}", subscription.product_id),
            ));
        }
        let customer = &wire["customer"];
        let external_id = text(customer, "external_id").map_err(|e| ImportError {
            field: "customer.external_id",
            ..e
        })?;
        match self.customers.get(&subscription.customer_id) {
            Some(known) if known.external_id != external_id => {
                return Err(error(
                    "customer.external_id",
                    format!(
                        "customer {} already belongs to another external id",
                        subscription.customer_id
                    ),
                ))
            }
            Some(_) => {}
            None => self.insert_customer(Customer {
                id: subscription.customer_id.clone(),
                external_id,
                email: customer["email"]
                    .as_str()
                    .unwrap_or("imported@example.com")
                    .to_owned(),
                name: None,
                metadata: Default::default(),
                created_at: subscription.created_at,
            }),
        }
        let id = subscription.id.clone();
        self.insert_subscription(subscription);
        Ok(id)
    }
}

impl Sandbox {
    /// [`State::import_subscription`] under the sandbox's lock.
    pub fn import_subscription(&self, wire: &Value) -> Result<String, ImportError> {
        self.with_state(|state, _| state.import_subscription(wire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::model::Product;
    use serde_json::json;

    fn state() -> State {
        let mut state = State::default();
        state.products = vec![Product {
            id: "prod_local_pro".into(),
            name: "Pro".into(),
            description: String::new(),
            price_amount: 2900,
            currency: "usd".into(),
            recurring_interval: Interval::Month,
            trial_days: None,
            is_archived: false,
        }];
        state
    }

    fn wire() -> Value {
        json!({
            "id": "sub_1",
            "status": "active",
            "product_id": "prod_local_pro",
            "customer_id": "cus_1",
            "customer": {"id": "cus_1", "external_id": "acct_1", "email": "a@example.com"},
            "metadata": {"accountId": "acct_1"},
            "current_period_start": "2026-11-22T10:00:00Z",
            "current_period_end": "2026-12-22T10:00:00Z",
            "trial_start": null,
            "trial_end": null,
            "cancel_at_period_end": true,
            "canceled_at": "2026-11-23T09:00:00Z",
            "ends_at": "2026-12-22T10:00:00Z",
            "ended_at": null,
            "started_at": "2026-11-15T10:00:00Z",
            "created_at": "2026-11-15T10:00:00Z",
            "modified_at": "2026-11-23T09:00:00Z",
            "amount": 2900,
            "currency": "usd",
            "recurring_interval": "month",
            "checkout_id": null
        })
    }

    #[test]
    fn an_imported_subscription_renders_back_as_the_json_it_came_from() {
        let mut state = state();

        let id = state.import_subscription(&wire()).unwrap();

        let rendered = state.subscription_json(&state.subscriptions[&id]);
        for field in [
            "id",
            "status",
            "product_id",
            "customer_id",
            "metadata",
            "current_period_start",
            "current_period_end",
            "cancel_at_period_end",
            "canceled_at",
            "ends_at",
            "started_at",
            "created_at",
            "modified_at",
            "amount",
            "currency",
            "recurring_interval",
        ] {
            assert_eq!(rendered[field], wire()[field], "{field}");
        }
        assert_eq!(rendered["customer"]["external_id"], "acct_1");
        assert_eq!(state.customer_by_external("acct_1").unwrap().id, "cus_1");
        assert_eq!(state.subscriptions_of("cus_1").len(), 1);
    }

    #[test]
    fn a_later_import_of_the_same_id_replaces_the_subscription() {
        let mut state = state();
        state.import_subscription(&wire()).unwrap();
        let mut ended = wire();
        ended["status"] = json!("canceled");
        ended["ended_at"] = json!("2026-12-22T10:00:00Z");

        state.import_subscription(&ended).unwrap();

        assert_eq!(state.subscriptions.len(), 1);
        assert_eq!(state.subscriptions["sub_1"].status, SubStatus::Canceled);
        assert_eq!(state.subscriptions_of("cus_1").len(), 1);
    }

    #[test]
    fn each_bad_field_is_refused_by_name_and_changes_nothing() {
        let cases: [(&str, Value, &str); 7] = [
            ("id", Value::Null, "id"),
            ("status", json!("paused"), "status"),
            ("created_at", json!("yesterday"), "created_at"),
            ("current_period_end", json!(17), "current_period_end"),
            (
                "recurring_interval",
                json!("fortnight"),
                "recurring_interval",
            ),
            ("amount", json!("29.00"), "amount"),
            ("product_id", json!("prod_unknown"), "product_id"),
        ];
        for (field, value, named) in cases {
            let mut state = state();
            let mut bad = wire();
            bad[field] = value;

            let refused = state.import_subscription(&bad).unwrap_err();

            assert_eq!(refused.field, named, "{field}");
            assert!(refused.to_string().contains(named), "{refused}");
            assert!(state.subscriptions.is_empty(), "{field}");
            assert!(state.customers.is_empty(), "{field}");
        }
    }

    #[test]
    fn a_customer_already_held_for_another_account_is_refused() {
        let mut state = state();
        state.import_subscription(&wire()).unwrap();
        let mut other = wire();
        other["id"] = json!("sub_2");
        other["customer"]["external_id"] = json!("acct_2");

        let refused = state.import_subscription(&other).unwrap_err();

        assert_eq!(refused.field, "customer.external_id");
        assert!(!state.subscriptions.contains_key("sub_2"));
    }
}
