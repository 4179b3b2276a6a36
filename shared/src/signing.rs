//! Standard Webhooks signatures on OUR outbound calls (to Convex's HTTP
//! actions and the provisioning orchestrator), each with a secret of its
//! own. Kept apart from Polo's verifier on purpose: when Polo's scheme
//! changes, these contracts do not.
//!
//! Calls to Convex also bind the route: their signed content is
//! `{id}.{timestamp}.{METHOD} {path}.{body}`, so a signature made for one
//! route (say, a read) is refused on another (a write), even within the
//! five-minute window (docs/CONVEX.md).

use crate::secrets::SecretString;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the signing secret is empty or not whsec_<base64>")]
pub struct SigningSecretError;

/// The `webhook-id`, `webhook-timestamp` and `webhook-signature` headers
/// for `body`, signed with `secret` (`whsec_<base64>`): plain Standard
/// Webhooks (the orchestrator's contract).
pub fn signature_headers(
    secret: &SecretString,
    body: &[u8],
    now_unix: i64,
) -> Result<Vec<(&'static str, String)>, SigningSecretError> {
    sign(secret, b"", body, now_unix)
}

/// The same headers for a call that must not be replayable on another
/// route: the method and path are signed too (the Convex contract).
pub fn route_signature_headers(
    secret: &SecretString,
    method: &str,
    path: &str,
    body: &[u8],
    now_unix: i64,
) -> Result<Vec<(&'static str, String)>, SigningSecretError> {
    sign(secret, &route_prefix(method, path), body, now_unix)
}

/// What a route-bound signature signs before the body:
/// `{METHOD} {path}.` (verifiers prepend it to the body they check).
pub fn route_prefix(method: &str, path: &str) -> Vec<u8> {
    format!("{method} {path}.").into_bytes()
}

fn sign(
    secret: &SecretString,
    prefix: &[u8],
    body: &[u8],
    now_unix: i64,
) -> Result<Vec<(&'static str, String)>, SigningSecretError> {
    let key = secret
        .expose()
        .strip_prefix("whsec_")
        .and_then(|encoded| BASE64.decode(encoded).ok())
        .filter(|key| !key.is_empty())
        .ok_or(SigningSecretError)?;
    let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
    let timestamp = now_unix.to_string();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| SigningSecretError)?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(prefix);
    mac.update(body);
    let signature = format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()));
    Ok(vec![
        ("webhook-id", id),
        ("webhook-timestamp", timestamp),
        ("webhook-signature", signature),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const NOW: i64 = 1_700_000_000;

    /// Whether `headers` verify over `content` with the Polo verifier (an
    /// independent implementation of the spec).
    fn verifies(headers: &[(&'static str, String)], content: &[u8]) -> bool {
        let get = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.as_str())
        };
        let prepared =
            crate::polo::verifier::WebhookSecret::new(&SecretString::new(SECRET)).unwrap();
        crate::polo::verifier::verify(
            content,
            crate::polo::verifier::SignatureHeaders {
                id: get("webhook-id"),
                timestamp: get("webhook-timestamp"),
                signature: get("webhook-signature"),
            },
            &[prepared],
            NOW,
        )
        .is_ok()
    }

    #[test]
    fn signatures_verify_with_the_standard_webhooks_algorithm() {
        let body = br#"{"accountId":"acct_1"}"#;
        let headers = signature_headers(&SecretString::new(SECRET), body, NOW).unwrap();
        assert!(verifies(&headers, body));
    }

    #[test]
    fn a_route_bound_signature_verifies_only_for_its_own_method_and_path() {
        let body = br#"{"accountId":"acct_1"}"#;
        let path = "/billing/v1/accounts/get";
        let headers =
            route_signature_headers(&SecretString::new(SECRET), "POST", path, body, NOW).unwrap();
        let signed_for = |method: &str, path: &str| {
            verifies(
                &headers,
                &[route_prefix(method, path).as_slice(), body].concat(),
            )
        };

        assert!(signed_for("POST", path));
        assert!(!signed_for("POST", "/billing/v1/accounts/compare-and-set"));
        assert!(!signed_for("GET", path));
    }

    #[test]
    fn a_secret_without_the_whsec_prefix_is_refused() {
        assert_eq!(
            signature_headers(&SecretString::new("plain"), b"{}", 0).unwrap_err(),
            SigningSecretError
        );
    }
}
