//! Polo's webhook bodies for the binary tests that build their own
//! lifecycles (one subscription per account, Polo's wire JSON), and the
//! signed API Gateway event that carries one to a binary.

use base64::Engine;
use serde_json::{json, Value};
use std::path::Path;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tools::local::LOCAL_WEBHOOK_SECRET;
use tools::sample::resign_event;

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).expect("a formattable time")
}

/// One account's subscription at one point of its life (Polo's wire JSON).
pub fn subscription(account: &str, status: &str, minute: i64, period_end: OffsetDateTime) -> Value {
    let now = OffsetDateTime::now_utc();
    let created = now - time::Duration::hours(2);
    let canceled = status == "canceled";
    json!({
        "id": format!("sub_{account}"),
        "status": status,
        "product_id": "prod_local_pro",
        "customer_id": format!("cus_{account}"),
        "customer": {"id": format!("cus_{account}"), "external_id": account, "email": "race@example.com"},
        "metadata": {"accountId": account, "planTier": "pro"},
        "current_period_start": rfc3339(created),
        "current_period_end": rfc3339(period_end),
        "trial_start": (status == "trialing").then(|| rfc3339(created)),
        "trial_end": (status == "trialing").then(|| rfc3339(period_end)),
        "cancel_at_period_end": false,
        "canceled_at": canceled.then(|| rfc3339(created + time::Duration::minutes(minute))),
        "ends_at": canceled.then(|| rfc3339(created + time::Duration::minutes(minute))),
        "ended_at": canceled.then(|| rfc3339(created + time::Duration::minutes(minute))),
        "started_at": rfc3339(created),
        "created_at": rfc3339(created),
        "modified_at": rfc3339(created + time::Duration::minutes(minute)),
        "amount": 2900,
        "currency": "usd",
        "recurring_interval": "month",
        "checkout_id": null,
    })
}

pub fn order(account: &str, embedded: Value) -> Value {
    json!({
        "id": format!("ord_{account}"),
        "status": "paid",
        "billing_reason": "subscription_cycle",
        "subscription_id": format!("sub_{account}"),
        "subscription": embedded,
        "customer": {"id": format!("cus_{account}"), "external_id": account, "email": "race@example.com"},
        "product_id": "prod_local_pro",
        "total_amount": 2900,
        "currency": "usd",
        "created_at": rfc3339(OffsetDateTime::now_utc()),
        "modified_at": rfc3339(OffsetDateTime::now_utc()),
        "metadata": {},
    })
}

/// An API Gateway event for `binary` carrying `body`, built from the
/// binary's shipped event (base64 body when `base64`) and signed.
pub fn delivery(binary: &str, id: &str, body: &str, base64: bool) -> String {
    let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let shipped = std::fs::read_to_string(events.join(format!("{binary}.json"))).unwrap();
    let mut event: Value = serde_json::from_str(&shipped).unwrap();
    event["isBase64Encoded"] = json!(base64);
    event["body"] = if base64 {
        json!(base64::engine::general_purpose::STANDARD.encode(body))
    } else {
        json!(body)
    };
    event["headers"]["content-length"] = json!(body.len().to_string());
    let now = OffsetDateTime::now_utc().unix_timestamp();
    resign_event(&event.to_string(), id, LOCAL_WEBHOOK_SECRET, now).unwrap()
}
