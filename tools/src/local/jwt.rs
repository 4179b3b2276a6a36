//! The local stand-in for the dashboard's identity provider and API
//! Gateway's JWT authorizer: HS256 tokens signed with a local dev key
//! (never valid anywhere else), verified the way the authorizer would —
//! algorithm, signature, expiry, issuer, audience — before any function
//! runs. The claims then go where the authorizer puts them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use billing::secrets::SecretString;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{json, Map, Value};
use sha2::Sha256;
use time::OffsetDateTime;

type HmacSha256 = Hmac<Sha256>;

/// The documented local signing key for dev tokens (not a secret anywhere).
pub const LOCAL_JWT_KEY: &str = "local-dev-jwt-key-do-not-use-in-prod";
pub const ISSUER: &str = "https://auth.local.invalid/";
pub const AUDIENCE: &str = "billing-dashboard";

/// Why the authorizer refused a token (API Gateway answers 401 for all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Missing,
    Malformed,
    Algorithm,
    Signature,
    Expired,
    Issuer,
    Audience,
}

pub struct DevJwt {
    key: SecretString,
}

impl DevJwt {
    pub fn new(key: SecretString) -> Self {
        Self { key }
    }

    fn mac(&self) -> Option<HmacSha256> {
        HmacSha256::new_from_slice(self.key.expose().as_bytes()).ok()
    }

    /// A token for `sub`, valid for `lifetime` of real time.
    pub fn issue(&self, sub: &str, lifetime: time::Duration) -> String {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let header = B64.encode(json!({"alg": "HS256", "typ": "JWT"}).to_string());
        let claims = B64.encode(
            json!({
                "sub": sub,
                "iss": ISSUER,
                "aud": AUDIENCE,
                "iat": now,
                "exp": now + lifetime.whole_seconds(),
                "email": format!("{sub}@example.com"),
            })
            .to_string(),
        );
        let signing_input = format!("{header}.{claims}");
        let signature = self
            .mac()
            .map(|mut mac| {
                mac.update(signing_input.as_bytes());
                B64.encode(mac.finalize().into_bytes())
            })
            .unwrap_or_default();
        format!("{signing_input}.{signature}")
    }

    /// Verifies `Authorization: Bearer <token>` and returns the claims.
    pub fn verify_header(&self, header: Option<&str>) -> Result<Map<String, Value>, Refused> {
        let token = header
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(Refused::Missing)?;
        self.verify(token, OffsetDateTime::now_utc().unix_timestamp())
    }

    pub fn verify(&self, token: &str, now_unix: i64) -> Result<Map<String, Value>, Refused> {
        let mut parts = token.split('.');
        let (Some(header), Some(claims), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Refused::Malformed);
        };
        let decode = |part: &str| -> Result<Map<String, Value>, Refused> {
            let bytes = B64.decode(part).map_err(|_| Refused::Malformed)?;
            serde_json::from_slice(&bytes).map_err(|_| Refused::Malformed)
        };
        if decode(header)?.get("alg") != Some(&json!("HS256")) {
            return Err(Refused::Algorithm);
        }
        let signature = B64.decode(signature).map_err(|_| Refused::Malformed)?;
        let mut mac = self.mac().ok_or(Refused::Signature)?;
        mac.update(format!("{header}.{claims}").as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| Refused::Signature)?;
        let claims = decode(claims)?;
        match claims.get("exp").and_then(Value::as_i64) {
            Some(exp) if exp > now_unix => {}
            _ => return Err(Refused::Expired),
        }
        if claims.get("iss") != Some(&json!(ISSUER)) {
            return Err(Refused::Issuer);
        }
        if claims.get("aud") != Some(&json!(AUDIENCE)) {
            return Err(Refused::Audience);
        }
        Ok(claims)
    }
}

/// The authorizer's claim map: every value as a string (API Gateway HTTP
/// APIs flatten claims this way; a list reads `[a b]`).
pub fn flatten_claims(claims: &Map<String, Value>) -> Map<String, Value> {
    claims
        .iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Array(items) => format!(
                    "[{}]",
                    items
                        .iter()
                        .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
                other => other.to_string(),
            };
            (k.clone(), Value::String(text))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt() -> DevJwt {
        DevJwt::new(SecretString::new(LOCAL_JWT_KEY))
    }

    #[test]
    fn an_issued_token_verifies_and_carries_its_subject() {
        let token = jwt().issue("acct_local_1", time::Duration::hours(1));
        let claims = jwt()
            .verify_header(Some(&format!("Bearer {token}")))
            .unwrap();
        assert_eq!(claims["sub"], "acct_local_1");
        let flat = flatten_claims(&claims);
        assert!(
            flat["exp"].is_string(),
            "claims are strings, as the authorizer gives them"
        );
    }

    #[test]
    fn a_tampered_expired_foreign_or_unsigned_token_is_refused() {
        let token = jwt().issue("acct_local_1", time::Duration::hours(1));
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let (head, rest) = token.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        let forged_claims = B64.encode(
            json!({"sub": "acct_other", "iss": ISSUER, "aud": AUDIENCE, "exp": now + 60})
                .to_string(),
        );
        let forged = format!("{head}.{forged_claims}.{signature}");
        assert_eq!(jwt().verify(&forged, now), Err(Refused::Signature));
        assert_eq!(jwt().verify(&token, now + 7200), Err(Refused::Expired));
        let other = DevJwt::new(SecretString::new("another-key"));
        assert_eq!(other.verify(&token, now), Err(Refused::Signature));
        let none = format!("{}.{forged_claims}.", B64.encode(r#"{"alg":"none"}"#));
        assert_eq!(jwt().verify(&none, now), Err(Refused::Algorithm));
        assert_eq!(jwt().verify_header(None), Err(Refused::Missing));
        assert_eq!(jwt().verify("a.b", now), Err(Refused::Malformed));
    }
}
