//! Sample deliveries from `events/`: the body of a shipped API Gateway event,
//! re-signed with a fresh timestamp, as Polo would send it.
//!
//! The shipped story (a trial, then a period still running with its
//! cancellation scheduled at the end) was written with real dates, and a
//! story read as written would age: from 2026-12-23 its period would have
//! ended, and every test expecting the access it grants would fail on the
//! calendar alone. So every date in a shipped body is moved when read by
//! [`shift`]: whole weeks since the suite last ran against the story as
//! written, the same for every reader in one process (the deliveries sent
//! and the subscriptions Polo holds agree).

use base64::Engine;
use billing::polo::verifier::sign;
use billing::secrets::SecretString;
use serde_json::Value;
use std::path::Path;
use std::sync::OnceLock;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// The day the suite last ran green against the shipped dates as written:
/// until a week after it, nothing moves.
const AS_WRITTEN: time::Date = time::macros::date!(2026 - 12 - 07);

/// How far the shipped events' dates move: whole weeks from [`AS_WRITTEN`]
/// to today, fixed at its first use in a process.
pub fn shift() -> Duration {
    static SHIFT: OnceLock<Duration> = OnceLock::new();
    *SHIFT.get_or_init(|| {
        let weeks = (OffsetDateTime::now_utc().date() - AS_WRITTEN).whole_weeks();
        Duration::weeks(weeks.max(0))
    })
}

/// `body` (a shipped Polo envelope) with every RFC 3339 date in it moved
/// by `by`; the bytes as they were when `by` is zero or the body is not
/// JSON (a bad-input sample stays bad).
pub fn rebase(body: &[u8], by: Duration) -> Vec<u8> {
    if by.is_zero() {
        return body.to_vec();
    }
    let Ok(mut json) = serde_json::from_slice::<Value>(body) else {
        return body.to_vec();
    };
    move_dates(&mut json, by);
    serde_json::to_vec(&json).unwrap_or_else(|_| body.to_vec())
}

fn move_dates(value: &mut Value, by: Duration) {
    match value {
        Value::String(text) => {
            if let Some(moved) = OffsetDateTime::parse(text, &Rfc3339)
                .ok()
                .and_then(|t| (t + by).format(&Rfc3339).ok())
            {
                *text = moved;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| move_dates(v, by)),
        Value::Object(fields) => fields.values_mut().for_each(|v| move_dates(v, by)),
        _ => {}
    }
}

/// The body an API Gateway event carries, base64 decoded where it says so.
fn body_of(event: &Value) -> Result<Vec<u8>, String> {
    let raw = event["body"].as_str().ok_or("no body")?;
    if event["isBase64Encoded"].as_bool().unwrap_or(false) {
        base64::engine::general_purpose::STANDARD
            .decode(raw)
            .map_err(|e| format!("body is not base64: {e}"))
    } else {
        Ok(raw.as_bytes().to_vec())
    }
}

/// A shipped API Gateway event (`events/<name>.json`) as text, its body's
/// dates moved by [`shift`] and encoded as it was.
pub fn shipped_event(events_dir: &Path, name: &str) -> Result<String, String> {
    let file = events_dir.join(format!("{name}.json"));
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let by = shift();
    if by.is_zero() {
        return Ok(text);
    }
    let mut event: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    let Ok(body) = body_of(&event) else {
        return Ok(text);
    };
    let moved = rebase(&body, by);
    event["body"] = if event["isBase64Encoded"].as_bool().unwrap_or(false) {
        base64::engine::general_purpose::STANDARD
            .encode(&moved)
            .into()
    } else {
        String::from_utf8_lossy(&moved).into_owned().into()
    };
    Ok(event.to_string())
}

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
    let body = rebase(
        &body_of(&event).map_err(|e| format!("{}: {e}", file.display()))?,
        shift(),
    );
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
    let body = body_of(&event).map_err(|e| format!("event: {e}"))?;
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
/// the newest version of each, dates moved by [`shift`].
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
        let body = rebase(
            &body_of(&event).map_err(|e| format!("{}: {e}", path.display()))?,
            shift(),
        );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_date_in_a_body_moves_by_the_shift_and_nothing_else_changes() {
        let body = br#"{"type":"subscription.active","timestamp":"2026-11-22T10:00:00Z","data":{"id":"sub_1","current_period_end":"2026-12-22T10:00:00.250Z","amount":2900,"items":["2026-01-31T00:00:00+01:00","not a date"]}}"#;

        let moved: Value = serde_json::from_slice(&rebase(body, Duration::weeks(3))).unwrap();

        assert_eq!(moved["timestamp"], "2026-12-13T10:00:00Z");
        assert_eq!(
            moved["data"]["current_period_end"],
            "2027-01-12T10:00:00.25Z"
        );
        assert_eq!(moved["data"]["items"][0], "2026-02-21T00:00:00+01:00");
        assert_eq!(moved["data"]["items"][1], "not a date");
        assert_eq!(moved["data"]["id"], "sub_1");
        assert_eq!(moved["data"]["amount"], 2900);
    }

    #[test]
    fn a_zero_shift_or_a_body_that_is_not_json_keeps_the_bytes() {
        let json = br#"{"timestamp": "2026-11-22T10:00:00Z"}"#;
        assert_eq!(rebase(json, Duration::ZERO), json.to_vec());
        assert_eq!(
            rebase(b"not json", Duration::weeks(1)),
            b"not json".to_vec()
        );
    }

    #[test]
    fn the_shift_is_whole_weeks_and_never_backwards() {
        let shift = shift();
        assert!(!shift.is_negative());
        assert_eq!(shift.whole_days() % 7, 0);
        assert!(
            shift.whole_weeks() >= (OffsetDateTime::now_utc().date() - AS_WRITTEN).whole_weeks()
        );
    }
}
