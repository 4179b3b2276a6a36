//! The Convex adapter's answer decoding (`accounts::convex::answers`), given
//! any status and body: a success decodes or is `Unavailable` (never a
//! verdict about the account); only Convex's own error bodies on 404/409
//! say "no such account" or "lost the compare-and-set"; 401/403/429/5xx are
//! `Unavailable` whatever their body; a decoding error never quotes the
//! body.

use super::assert_not_quoted;
use billing::accounts::convex::answers::{
    decode, AccountBody, AccountsBody, AcknowledgedBody, PageBody,
};
use billing::accounts::AccountStoreError;
use billing::http::{FetchError, FetchResponse};
use serde::de::DeserializeOwned;

const STATUSES: [u16; 12] = [200, 201, 204, 400, 401, 403, 404, 409, 422, 429, 500, 503];

/// Byte 0: the status (low nibble) and the call (high nibble); the rest is
/// the body. Returns the class of the outcome.
pub fn convex_answers(data: &[u8]) -> Option<&'static str> {
    let (&flags, body) = data.split_first()?;
    let status = STATUSES[usize::from(flags & 0x0f) % STATUSES.len()];
    Some(match (flags >> 4) % 5 {
        0 => check::<AccountBody>(status, body),
        1 => check::<AccountsBody>(status, body),
        2 => check::<PageBody>(status, body),
        3 => check::<AcknowledgedBody>(status, body),
        _ => check::<serde_json::Value>(status, body),
    })
}

fn check<T: DeserializeOwned>(status: u16, body: &[u8]) -> &'static str {
    let answer = if (200..300).contains(&status) {
        Ok(FetchResponse {
            status,
            body: body.to_vec(),
            request_id: None,
        })
    } else {
        Err(FetchError::Status {
            status,
            body: body.to_vec(),
            retry_after: None,
        })
    };
    let error = match decode::<T>(answer, Some(7)) {
        Ok(_) => {
            assert!(
                (200..300).contains(&status),
                "HTTP {status} decoded as a success"
            );
            return "ok";
        }
        Err(error) => error,
    };
    let class = match &error {
        AccountStoreError::NotFound => {
            assert_eq!(status, 404, "not found from HTTP {status}");
            "not_found"
        }
        AccountStoreError::Conflict { expected, .. } => {
            assert_eq!(status, 409, "a conflict from HTTP {status}");
            assert_eq!(*expected, 7, "the conflict names the version we expected");
            "conflict"
        }
        AccountStoreError::Rejected(_) => {
            assert!(
                !matches!(status, 401 | 403 | 404 | 429) && (400..500).contains(&status),
                "HTTP {status} taken as our request's fault"
            );
            "rejected"
        }
        AccountStoreError::Unavailable(source) => {
            if (200..300).contains(&status) {
                // An undecodable success names the field, not the value.
                assert_not_quoted(&source.to_string(), body);
            }
            "unavailable"
        }
    };
    // Convex's own error bodies are quoted in `Rejected` on purpose (they
    // are our deployment's words, not an input's); nothing else is. What a
    // log line carries is the Display chain (`error_chain`), which names a
    // field-shaped key (billing::redact) and nothing else of the body.
    if !matches!(error, AccountStoreError::Rejected(_)) {
        assert_not_quoted(&billing::telemetry::error_chain(&error), body);
    }
    class
}
