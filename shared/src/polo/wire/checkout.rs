//! Wire types of the calls the dashboard makes: checkouts, customer
//! sessions, customers, products, subscription updates and list pages.
//! Requests serialise exactly as polo-api.md lists their fields; responses
//! keep only what we read (unknown fields are ignored, unknown enum values
//! land in `Unknown`).

use super::{Metadata, RecurringInterval};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckoutStatus {
    Open,
    Expired,
    Confirmed,
    Failed,
    Succeeded,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrialInterval {
    Day,
    Week,
    Month,
    Year,
}

/// `POST /v1/checkouts/`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckoutCreate {
    /// The first is preselected; we always send exactly one.
    pub products: Vec<String>,
    pub metadata: Metadata,
    pub external_customer_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_email: Option<String>,
    pub success_url: String,
    pub return_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embed_origin: Option<String>,
    pub allow_trial: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trial_interval: Option<TrialInterval>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trial_interval_count: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkout {
    pub id: String,
    pub url: String,
    #[serde(default)]
    pub client_secret: Option<String>,
    pub status: CheckoutStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(default)]
    pub customer_id: Option<String>,
    #[serde(default)]
    pub external_customer_id: Option<String>,
    #[serde(default)]
    pub product_id: Option<String>,
    #[serde(default)]
    pub subscription_id: Option<String>,
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub embed_origin: Option<String>,
}

/// `POST /v1/customer-sessions/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerSessionCreate {
    pub external_customer_id: String,
    pub return_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerSession {
    pub id: String,
    /// A bearer credential for the portal: never logged, never returned.
    pub token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub customer_portal_url: String,
    pub customer_id: String,
}

/// `POST /v1/customers/`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerCreate {
    pub external_id: String,
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub metadata: Metadata,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProrationBehavior {
    /// Charge the prorated difference now.
    Invoice,
    /// Carry the prorated difference to the next invoice.
    Prorate,
}

/// `PATCH /v1/subscriptions/{id}`: exactly one of these shapes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum SubscriptionUpdate {
    Product {
        product_id: String,
        proration_behavior: ProrationBehavior,
    },
    CancelAtPeriodEnd {
        cancel_at_period_end: bool,
    },
    Revoke {
        revoke: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub is_recurring: bool,
    #[serde(default)]
    pub is_archived: bool,
    #[serde(default)]
    pub recurring_interval: Option<RecurringInterval>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pagination {
    pub total_count: u64,
    pub max_page: u32,
}

/// A page of a list endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub pagination: Pagination,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_subscription_update_serialises_to_exactly_its_fields() {
        let change = SubscriptionUpdate::Product {
            product_id: "prod_pro".into(),
            proration_behavior: ProrationBehavior::Invoice,
        };
        assert_eq!(
            serde_json::to_value(&change).unwrap(),
            serde_json::json!({"product_id": "prod_pro", "proration_behavior": "invoice"})
        );
        let cancel = SubscriptionUpdate::CancelAtPeriodEnd {
            cancel_at_period_end: true,
        };
        assert_eq!(
            serde_json::to_value(&cancel).unwrap(),
            serde_json::json!({"cancel_at_period_end": true})
        );
    }

    #[test]
    fn an_unknown_checkout_status_is_kept_as_unknown() {
        let raw = r#"{"id":"c","url":"https://x","status":"vanished","expires_at":"2026-11-01T00:00:00Z"}"#;
        let checkout: Checkout = serde_json::from_str(raw).unwrap();
        assert_eq!(checkout.status, CheckoutStatus::Unknown);
    }
}
