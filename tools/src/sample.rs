//! Sample deliveries from `events/`: the body of a shipped API Gateway event,
//! re-signed with a fresh timestamp, as Polo would send it.

use base64::Engine;
use billing::polo::verifier::sign;
use billing::secrets::SecretString;
use std::path::Path;

pub struct SignedDelivery {
    pub path: String,
    pub body: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
}

/// Reads `events/webhook-<slug>.json` and signs its body for `webhook_id`.
pub fn load(
    events_dir: &Path,
    slug: &str,
    webhook_id: &str,
    secret: &str,
    now_unix: i64,
) -> Result<SignedDelivery, String> {
    let file = events_dir.join(format!("webhook-{slug}.json"));
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let event: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    let raw = event["body"]
        .as_str()
        .ok_or(format!("{}: no body", file.display()))?;
    let body = if event["isBase64Encoded"].as_bool().unwrap_or(false) {
        base64::engine::general_purpose::STANDARD
            .decode(raw)
            .map_err(|e| format!("{}: body is not base64: {e}", file.display()))?
    } else {
        raw.as_bytes().to_vec()
    };
    let path = event["rawPath"]
        .as_str()
        .ok_or(format!("{}: no rawPath", file.display()))?
        .to_owned();
    let signature = sign(&SecretString::new(secret), webhook_id, now_unix, &body)
        .map_err(|e| format!("secret: {e}"))?;
    Ok(SignedDelivery {
        path,
        body,
        headers: vec![
            ("content-type", "application/json".to_owned()),
            ("webhook-id", webhook_id.to_owned()),
            ("webhook-timestamp", now_unix.to_string()),
            ("webhook-signature", signature),
        ],
    })
}

/// Re-signs a shipped API Gateway event (JSON text) for `webhook_id` at
/// `now_unix`, keeping everything else as shipped: the smoke tests send the
/// real `events/` files through the real binaries.
pub fn resign_event(
    event_json: &str,
    webhook_id: &str,
    secret: &str,
    now_unix: i64,
) -> Result<String, String> {
    let mut event: serde_json::Value =
        serde_json::from_str(event_json).map_err(|e| format!("event: {e}"))?;
    let raw = event["body"].as_str().ok_or("event: no body")?;
    let body = if event["isBase64Encoded"].as_bool().unwrap_or(false) {
        base64::engine::general_purpose::STANDARD
            .decode(raw)
            .map_err(|e| format!("event body is not base64: {e}"))?
    } else {
        raw.as_bytes().to_vec()
    };
    let signature = sign(&SecretString::new(secret), webhook_id, now_unix, &body)
        .map_err(|e| format!("secret: {e}"))?;
    let headers = event["headers"]
        .as_object_mut()
        .ok_or("event: no headers object")?;
    headers.insert("webhook-id".into(), webhook_id.into());
    headers.insert("webhook-timestamp".into(), now_unix.to_string().into());
    headers.insert("webhook-signature".into(), signature.into());
    Ok(event.to_string())
}

/// The subscriptions of the sample events (the `data` of every subscription
/// event and the `subscription` embedded in orders) as Polo knows them now:
/// the newest version of each.
pub fn subscriptions(events_dir: &Path) -> Result<Vec<billing::polo::PoloSubscription>, String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(events_dir) else {
        return Ok(found);
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_webhook = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
            n.starts_with("webhook-") && n.ends_with(".json") && n != "webhook-retry.json"
        });
        if !is_webhook {
            continue;
        }
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let event: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let raw = event["body"].as_str().unwrap_or_default();
        let body = if event["isBase64Encoded"].as_bool().unwrap_or(false) {
            base64::engine::general_purpose::STANDARD
                .decode(raw)
                .map_err(|e| format!("{}: {e}", path.display()))?
        } else {
            raw.as_bytes().to_vec()
        };
        let envelope: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| format!("{}: {e}", path.display()))?;
        let data = &envelope["data"];
        let candidate = if envelope["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("order."))
        {
            data["subscription"].clone()
        } else {
            data.clone()
        };
        if let Ok(subscription) =
            serde_json::from_value::<billing::polo::PoloSubscription>(candidate)
        {
            found.push(subscription);
        }
    }
    found.sort_by(|a, b| a.id().cmp(b.id()).then(b.watermark().cmp(&a.watermark())));
    found.dedup_by(|later, first| later.id() == first.id());
    Ok(found)
}

/// `subscription.active` for `account`: `product` for a year from `now`
/// (credentials issued), as Polo delivers it.
pub fn activation(account: &str, product: &str, now: time::OffsetDateTime) -> Vec<u8> {
    let at = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    serde_json::json!({
        "type": "subscription.active",
        "timestamp": at(now),
        "data": {
            "id": format!("sub_{account}"),
            "status": "active",
            "product_id": product,
            "customer_id": format!("cus_{account}"),
            "customer": {"id": format!("cus_{account}"), "external_id": account, "email": "sample@example.com"},
            "metadata": {"accountId": account},
            "current_period_start": at(now),
            "current_period_end": at(now + time::Duration::days(365)),
            "trial_start": null,
            "trial_end": null,
            "cancel_at_period_end": false,
            "canceled_at": null,
            "ends_at": null,
            "ended_at": null,
            "started_at": at(now),
            "created_at": at(now),
            "modified_at": at(now),
            "amount": 2900,
            "currency": "usd",
            "recurring_interval": "month",
            "checkout_id": null,
        }
    })
    .to_string()
    .into_bytes()
}
