//! Standard Webhooks signatures on OUR outbound calls (to Convex's HTTP
//! actions and the provisioning orchestrator), each with a secret of its
//! own. Kept apart from Polo's verifier on purpose: when Polo's scheme
//! changes, these contracts do not.

use crate::secrets::SecretString;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the signing secret is empty or not whsec_<base64>")]
pub struct SigningSecretError;

/// The `webhook-id`, `webhook-timestamp` and `webhook-signature` headers
/// for `body`, signed with `secret` (`whsec_<base64>`).
pub fn signature_headers(
    secret: &SecretString,
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

    #[test]
    fn signatures_verify_with_the_standard_webhooks_algorithm() {
        // Cross-checked with the Polo verifier, which implements the spec.
        let secret = SecretString::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let body = br#"{"accountId":"acct_1"}"#;
        let headers = signature_headers(&secret, body, 1_700_000_000).unwrap();
        let get = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.as_str())
        };
        let prepared = crate::polo::verifier::WebhookSecret::new(&secret).unwrap();
        let verified = crate::polo::verifier::verify(
            body,
            crate::polo::verifier::SignatureHeaders {
                id: get("webhook-id"),
                timestamp: get("webhook-timestamp"),
                signature: get("webhook-signature"),
            },
            &[prepared],
            1_700_000_000,
            true,
        );
        assert!(verified.is_ok());
    }

    #[test]
    fn a_secret_without_the_whsec_prefix_is_refused() {
        assert_eq!(
            signature_headers(&SecretString::new("plain"), b"{}", 0).unwrap_err(),
            SigningSecretError
        );
    }
}
