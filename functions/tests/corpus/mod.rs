//! The bad-input corpus (issue 22 item 2): each case an API Gateway HTTP
//! API v2 event as Lambda hands it to a webhook function, and the answer it
//! must get. Built from the shipped `events/` so every case differs from a
//! real delivery in exactly the one way its name says.

pub mod cases;

use base64::Engine;
use billing::polo::verifier::sign;
use billing::secrets::SecretString;
use serde_json::{json, Value};

/// What a case must be answered: the status, and the body's `status`
/// (`processed`, `stale`, `parked:<reason>`…) or `error` (`invalid_signature`,
/// `payload_too_large`); `Refused` when the runtime itself refuses the event
/// (an invocation error: API Gateway would answer 502 and Polo retry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    Answer(u64, &'static str),
    Refused,
}

pub struct Case {
    pub name: String,
    pub event: String,
    pub expect: Expect,
    /// Whether the delivery is signed with the function's secret (only a
    /// signed delivery may leave an idempotency record).
    pub signed: bool,
}

/// The wrong key a forger would use (never configured anywhere).
pub const WRONG_KEY: &str = "whsec_Zm9yZ2VyLWtleS1ub3QtdGhlLXJlYWwtb25l";

/// One delivery's parts before they become an event.
#[derive(Clone)]
pub struct Delivery {
    pub path: String,
    pub id: String,
    pub timestamp: String,
    pub signature: Option<String>,
    pub body: Vec<u8>,
    pub base64: bool,
    /// Extra or replacing headers (names as given: case is part of a case).
    pub headers: Vec<(String, String)>,
    /// Headers to leave out.
    pub without: Vec<&'static str>,
}

impl Delivery {
    /// A delivery of `body` to `path`, signed with `secret` at `now`.
    pub fn signed(path: &str, id: &str, body: &[u8], secret: &str, now: i64) -> Self {
        Self {
            path: path.to_owned(),
            id: id.to_owned(),
            timestamp: now.to_string(),
            signature: Some(sign(&SecretString::new(secret), id, now, body).expect("a signature")),
            body: body.to_vec(),
            base64: std::str::from_utf8(body).is_err(),
            headers: Vec::new(),
            without: Vec::new(),
        }
    }

    pub fn event(&self) -> String {
        let mut headers = serde_json::Map::new();
        headers.insert("content-type".into(), "application/json".into());
        headers.insert(
            "host".into(),
            "abc123defg.execute-api.us-east-1.amazonaws.com".into(),
        );
        headers.insert("user-agent".into(), "Polo-Webhooks/1.0".into());
        headers.insert("x-forwarded-proto".into(), "https".into());
        headers.insert("webhook-id".into(), self.id.clone().into());
        headers.insert("webhook-timestamp".into(), self.timestamp.clone().into());
        if let Some(signature) = &self.signature {
            headers.insert("webhook-signature".into(), signature.clone().into());
        }
        for name in &self.without {
            headers.remove(*name);
        }
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone().into());
        }
        let body = if self.base64 {
            base64::engine::general_purpose::STANDARD.encode(&self.body)
        } else {
            String::from_utf8_lossy(&self.body).into_owned()
        };
        let route = format!("POST {}", self.path);
        json!({
            "version": "2.0",
            "routeKey": route,
            "rawPath": self.path,
            "rawQueryString": "",
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "abc123defg",
                "domainName": "abc123defg.execute-api.us-east-1.amazonaws.com",
                "domainPrefix": "abc123defg",
                "http": {"method": "POST", "path": self.path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.10", "userAgent": "Polo-Webhooks/1.0"},
                "requestId": format!("corpus-{}", self.id),
                "routeKey": route,
                "stage": "$default",
                "time": "06/Dec/2026:22:00:00 +0000",
                "timeEpoch": 1_796_594_400_000_i64
            },
            "body": body,
            "isBase64Encoded": self.base64
        })
        .to_string()
    }
}

/// Sets `pointer` (a JSON pointer) in `body` to `value`, or removes it when
/// `value` is `None`.
pub fn edit(body: &Value, pointer: &str, value: Option<Value>) -> Vec<u8> {
    let mut body = body.clone();
    let (parent, key) = pointer.rsplit_once('/').expect("a pointer with a parent");
    let target = body
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("no object at {parent}"));
    match value {
        Some(value) => {
            target.insert(key.to_owned(), value);
        }
        None => {
            target.remove(key);
        }
    }
    serde_json::to_vec(&body).expect("JSON")
}

/// Every leaf of `value` replaced by null.
pub fn nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        if v.is_object() { nulls(v) } else { Value::Null },
                    )
                })
                .collect(),
        ),
        _ => Value::Null,
    }
}

/// `body` with every number written as a string.
pub fn numbers_as_strings(value: &Value) -> Value {
    match value {
        Value::Number(n) => Value::String(n.to_string()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), numbers_as_strings(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(numbers_as_strings).collect()),
        other => other.clone(),
    }
}
