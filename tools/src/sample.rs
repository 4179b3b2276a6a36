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
    let raw = event["body"].as_str().ok_or(format!("{}: no body", file.display()))?;
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
