//! Polo payloads as polo-api.md describes them, and signed deliveries.

use billing::clock::SystemClock;
use billing::http::{RetryPolicy, SecureHttp};
use billing::polo::client::PoloClient;
use billing::polo::verifier::sign;
use billing::secrets::SecretString;
use billing::secrets::{CachedSecretSource, InMemorySecretSource, SecretId};
use serde_json::{json, Value};
use std::sync::Arc;

pub const WEBHOOK_SECRET: &str = "whsec_dGVzdC13ZWJob29rLXNlY3JldC0xMjM0NTY3ODkw";
pub const ROTATED_SECRET: &str = "whsec_cm90YXRlZC13ZWJob29rLXNlY3JldC0wOTg3NjU0MzIx";

/// A full `Subscription` object.
/// The Polo API key of the tests that run the real client (never logged:
/// the secret scan looks for it).
pub const API_KEY: &str = "polo_test_api_key_never_logged_7f3a";

/// The real Polo client against a stand-in at `base_url` (wiremock), with
/// the default retry policy and [`API_KEY`].
pub fn client(base_url: &str) -> PoloClient {
    let secrets = Arc::new(InMemorySecretSource::default());
    secrets.set(SecretId::PoloApiKey, API_KEY);
    let cached = Arc::new(CachedSecretSource::new(secrets, Arc::new(SystemClock)));
    let http = SecureHttp::new(true, RetryPolicy::default()).expect("an HTTP client");
    PoloClient::new(http, base_url.parse().expect("a URL"), cached)
}

pub fn subscription(id: &str, status: &str, account: &str) -> Value {
    json!({
        "id": id,
        "status": status,
        "product_id": "prod_pro_monthly",
        "customer_id": "cus_7d2f",
        "customer": {"id": "cus_7d2f", "external_id": account, "email": "ada@example.com"},
        "metadata": {"accountId": account, "planTier": "pro"},
        "current_period_start": "2026-11-01T00:00:00Z",
        "current_period_end": "2026-12-01T00:00:00Z",
        "trial_start": null,
        "trial_end": null,
        "cancel_at_period_end": false,
        "canceled_at": null,
        "ends_at": null,
        "ended_at": null,
        "started_at": "2026-11-01T00:00:00Z",
        "created_at": "2026-11-01T00:00:00Z",
        "modified_at": "2026-11-01T00:05:00Z",
        "amount": 2900,
        "currency": "usd",
        "recurring_interval": "month",
        "checkout_id": "chk_91ab"
    })
}

/// A full `Order` object (a renewal payment).
pub fn order(id: &str, subscription_id: &str, account: &str) -> Value {
    json!({
        "id": id,
        "status": "paid",
        "billing_reason": "subscription_cycle",
        "subscription_id": subscription_id,
        "subscription": subscription(subscription_id, "active", account),
        "customer": {"id": "cus_7d2f", "external_id": account, "email": "ada@example.com"},
        "product_id": "prod_pro_monthly",
        "total_amount": 2900,
        "currency": "usd",
        "created_at": "2026-12-01T00:00:00Z",
        "modified_at": null,
        "metadata": {}
    })
}

/// The webhook envelope's exact bytes.
pub fn envelope(event_type: &str, data: Value) -> Vec<u8> {
    json!({"type": event_type, "timestamp": "2026-11-24T22:00:00Z", "data": data})
        .to_string()
        .into_bytes()
}

/// The three signature headers for a delivery signed with `secret` at `ts`.
pub fn signed_headers(secret: &str, id: &str, ts: i64, body: &[u8]) -> Vec<(&'static str, String)> {
    let signature = sign(&SecretString::new(secret), id, ts, body).expect("a valid test secret");
    vec![
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", ts.to_string()),
        ("webhook-signature", signature),
    ]
}
