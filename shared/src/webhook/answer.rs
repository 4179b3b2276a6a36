//! The one place that turns a webhook outcome into an HTTP answer (design.md
//! "Webhook answers"). 4xx bodies name the header or field and the kind of
//! problem; 5xx bodies are opaque (the cause chain goes to the log).

use crate::idempotency::ParkCode;
use crate::polo::verifier::VerifyError;
use lambda_http::{Body, Response};

/// How a delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Verified and applied (or nothing to change).
    Processed,
    /// Verified, but older than what the account holds: nothing changed.
    Stale,
    /// Already completed or parked with the same body.
    Duplicate,
    /// Permanently unprocessable: parked with its payload (the code).
    Parked(ParkCode),
    /// Recorded with its payload; a transient fault downstream left it to
    /// the inbox, which retries it (nothing was half-applied).
    Accepted,
    /// Body over the size limit.
    TooLarge,
    /// Signature headers missing or wrong, or timestamp outside the window.
    Unauthenticated(VerifyError),
    /// Another attempt holds the claim; Polo retries.
    InProgress,
    /// The delivery could not be recorded (DynamoDB, or the webhook secret,
    /// unavailable): nothing written; Polo retries.
    Unavailable,
    /// A bug or a state no retry fixes on its own.
    Internal,
}

impl Answer {
    pub fn status(&self) -> u16 {
        match self {
            Self::Processed | Self::Stale | Self::Duplicate | Self::Parked(_) => 200,
            Self::Accepted => 202,
            Self::TooLarge => 413,
            Self::Unauthenticated(_) => 401,
            Self::InProgress => 409,
            Self::Unavailable => 503,
            Self::Internal => 500,
        }
    }

    /// The `Outcome` dimension of the `WebhookOutcome` metric.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Processed => "processed",
            Self::Stale => "stale",
            Self::Duplicate => "duplicate",
            Self::Parked(_) => "parked",
            Self::Accepted => "accepted",
            Self::TooLarge => "too_large",
            Self::Unauthenticated(_) => "signature_rejected",
            Self::InProgress => "in_progress",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }

    fn body(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Self::Processed => json!({"status": "processed"}),
            Self::Stale => json!({"status": "stale"}),
            Self::Duplicate => json!({"status": "duplicate"}),
            Self::Parked(code) => json!({"status": "parked", "reason": code.as_str()}),
            Self::Accepted => json!({"status": "accepted"}),
            Self::TooLarge => json!({
                "error": "payload_too_large",
                "detail": format!("body: larger than {} bytes", super::MAX_BODY_BYTES),
            }),
            Self::Unauthenticated(err) => {
                json!({"error": "invalid_signature", "detail": err.to_string()})
            }
            Self::InProgress => json!({
                "error": "in_progress",
                "detail": "this event is being processed by another attempt; retry later",
            }),
            Self::Unavailable => {
                json!({"error": "temporarily_unavailable", "detail": "retry later"})
            }
            Self::Internal => json!({"error": "internal"}),
        }
    }

    pub fn into_response(self) -> Response<Body> {
        let mut response = Response::new(Body::Text(self.body().to_string()));
        *response.status_mut() = http::StatusCode::from_u16(self.status())
            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        response
    }
}
