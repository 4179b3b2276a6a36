//! The webhook path's targets: the signature verifier, the event parser,
//! and the whole intake. An unsigned input never reaches the store, a
//! verified one ends completed, parked or pending, and no error quotes the
//! input.

use super::{assert_not_quoted, NOW, SECRET};
use base64::Engine;
use billing::accounts::InMemoryAccountStore;
use billing::clock::ManualClock;
use billing::domain::{AccountBilling, AccountId};
use billing::idempotency::{InMemoryIdempotencyStore, RecordStatus};
use billing::polo::catalogue::Catalogue;
use billing::polo::events::parse_event;
use billing::polo::routing::Endpoint;
use billing::polo::verifier::{sign, verify, SignatureHeaders, WebhookSecret};
use billing::ports::Ports;
use billing::provisioning::InMemoryProvisioner;
use billing::secrets::{CachedSecretSource, InMemorySecretSource, SecretId, SecretString};
use billing::telemetry::InMemoryMetrics;
use billing::webhook::WebhookKeys;
use std::sync::Arc;
use time::OffsetDateTime;

/// The signature verifier over `id \n timestamp \n signature \n body`;
/// whether it verified.
pub fn verifier(data: &[u8]) -> bool {
    let mut parts = data.splitn(4, |b| *b == b'\n');
    let id = parts.next().map(String::from_utf8_lossy);
    let timestamp = parts.next().map(String::from_utf8_lossy);
    let signature = parts.next().map(String::from_utf8_lossy);
    let body = parts.next().unwrap_or_default();
    let secrets = [WebhookSecret::new(&SecretString::new(SECRET)).expect("the target's secret")];
    let headers = SignatureHeaders {
        id: id.as_deref(),
        timestamp: timestamp.as_deref(),
        signature: signature.as_deref(),
    };
    match verify(body, headers, &secrets, NOW) {
        // Verified: the input carried the signature our secret makes.
        Ok(_) => {
            let (Some(id), Some(ts), Some(sig)) = (&id, &timestamp, &signature) else {
                panic!("verified without all three headers");
            };
            let ts: i64 = ts.trim().parse().expect("a verified timestamp is a number");
            let expected = sign(&SecretString::new(SECRET), id, ts, body).expect("sign");
            assert!(sig.contains(&expected), "verified a signature nobody made");
            true
        }
        Err(err) => {
            assert_not_quoted(&err.to_string(), data);
            false
        }
    }
}

/// The event parser over a verified body.
pub fn parser(data: &[u8]) {
    if let Err(err) = parse_event(data) {
        assert_not_quoted(&err.to_string(), data);
        assert_not_quoted(&format!("{err:?}"), data);
    }
}

/// The whole intake on in-memory ports, as API Gateway hands it a delivery.
/// Byte 0: which endpoint, whether the body is base64 in the event, whether
/// it is signed with the secret; the rest is the body. Returns the answer's
/// status and the records' statuses (`None`: not a deliverable input).
pub fn intake(data: &[u8]) -> Option<(u16, Vec<RecordStatus>)> {
    let (&flags, body) = data.split_first()?;
    let endpoint = Endpoint::ALL[usize::from(flags & 0x0f) % 5];
    let base64 = flags & 0x10 != 0;
    let signed = flags & 0x20 != 0;
    if !base64 && std::str::from_utf8(body).is_err() {
        // API Gateway sends a non-UTF-8 body base64-encoded, always.
        return None;
    }
    super::block_on(async {
        let now = OffsetDateTime::from_unix_timestamp(NOW).expect("NOW");
        let clock = Arc::new(ManualClock::new(now));
        let secrets = Arc::new(InMemorySecretSource::default());
        secrets.set(SecretId::PoloWebhook, format!(r#"["{SECRET}"]"#));
        let store = Arc::new(InMemoryIdempotencyStore::default());
        let accounts = Arc::new(InMemoryAccountStore::default());
        // The accounts and products of the sample events (events/).
        for account in ["acct_local_1", "acct_fuzz"] {
            if let Ok(id) = AccountId::parse(account) {
                accounts.insert(AccountBilling::new(id));
            }
        }
        let metrics = Arc::new(InMemoryMetrics::default());
        let ports = Ports {
            idempotency: Some(store.clone()),
            catalogue: Arc::new(
                Catalogue::from_lists(
                    "prod_local_starter",
                    "prod_local_pro",
                    "prod_local_enterprise",
                )
                .expect("a catalogue"),
            ),
            ..Ports::new(
                accounts,
                Arc::new(InMemoryProvisioner::default()),
                clock.clone(),
                metrics,
            )
        };
        let handler = ports.lifecycle_handler(&ports.updater());
        let keys = Arc::new(WebhookKeys::new(Arc::new(CachedSecretSource::new(
            secrets,
            clock.clone(),
        ))));
        let intake = ports
            .intake(
                endpoint,
                keys,
                handler,
                clock,
                billing::webhook::DEFAULT_LEASE,
            )
            .expect("the intake's ports");
        let id = "msg_fuzz";
        let signature = if signed {
            sign(&SecretString::new(SECRET), id, NOW, body).expect("sign")
        } else {
            "v1,bm90IHRoZSBzaWduYXR1cmUgb2YgdGhpcyBib2R5IGF0IGFsbCEhISE=".to_owned()
        };
        let event = event_json(&endpoint.path(), id, &signature, body, base64);
        let Ok(request) = lambda_http::request::from_str(&event) else {
            panic!("our own event JSON does not parse");
        };
        let mut context = lambda_http::Context::default();
        context.deadline = u64::try_from((NOW + 9) * 1000).unwrap_or(0);
        let request = lambda_http::RequestExt::with_lambda_context(request, context);
        let response = intake.handle(request).await;
        let status = response.status().as_u16();
        let records = store.snapshot();
        if signed {
            assert!(
                matches!(status, 200 | 202 | 413),
                "signed answered {status}"
            );
            for record in &records {
                assert!(
                    matches!(
                        record.status,
                        RecordStatus::Completed | RecordStatus::Parked | RecordStatus::Pending
                    ),
                    "a verified delivery ended {:?}",
                    record.status
                );
            }
        } else {
            assert_eq!(status, 401, "unsigned answered {status}");
            assert!(records.is_empty(), "an unsigned delivery reached the store");
        }
        let answer = String::from_utf8_lossy(response.body().as_ref()).into_owned();
        // The free text of an answer is its `detail`; the rest is our own
        // vocabulary (status, reason codes), which a body may happen to
        // contain without the answer quoting it (fuzz/regressions/intake/).
        let detail: serde_json::Value = serde_json::from_str(&answer).unwrap_or_default();
        assert_not_quoted(detail["detail"].as_str().unwrap_or_default(), body);
        Some((status, records.iter().map(|r| r.status).collect()))
    })
}

/// An API Gateway HTTP API (v2.0) event for one delivery.
fn event_json(path: &str, id: &str, signature: &str, body: &[u8], base64: bool) -> String {
    let body = if base64 {
        base64::engine::general_purpose::STANDARD.encode(body)
    } else {
        String::from_utf8_lossy(body).into_owned()
    };
    serde_json::json!({
        "version": "2.0",
        "routeKey": format!("POST {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "content-type": "application/json",
            "webhook-id": id,
            "webhook-timestamp": NOW.to_string(),
            "webhook-signature": signature,
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "fuzz",
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.10", "userAgent": "Polo-Webhooks/1.0"},
            "requestId": "fuzz",
            "routeKey": format!("POST {path}"),
            "stage": "$default",
            "time": "24/Nov/2026:22:00:00 +0000",
            "timeEpoch": NOW * 1000
        },
        "body": body,
        "isBase64Encoded": base64
    })
    .to_string()
}
