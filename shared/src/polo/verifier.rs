//! The Polo webhook verifier (Standard Webhooks `v1`). Pure: raw body bytes,
//! the three headers, the configured secrets and the current time in; a
//! typed result out. No I/O, no clock of its own, so every rule is testable
//! with known-answer vectors.

use crate::secrets::SecretString;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::fmt;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// How far a delivery's timestamp may be from now, either way.
pub const TOLERANCE_SECONDS: i64 = 300;
const SIGNATURE_LEN: usize = 32;
const MAX_WEBHOOK_ID_LEN: usize = 256;

/// The verified `webhook-id`: the idempotency key. Non-empty, at most 256
/// visible ASCII characters (it becomes a DynamoDB key and a log field).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WebhookId(String);

impl WebhookId {
    pub fn parse(raw: &str) -> Result<Self, VerifyError> {
        let valid = !raw.is_empty()
            && raw.len() <= MAX_WEBHOOK_ID_LEN
            && raw.bytes().all(|b| b.is_ascii_graphic());
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(VerifyError::MalformedHeader(HEADER_ID))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WebhookId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub const HEADER_ID: &str = "webhook-id";
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// The three Standard Webhooks headers, as received (absent ones `None`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SignatureHeaders<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

impl<'a> SignatureHeaders<'a> {
    /// Reads the headers from an HTTP header map. A header that is not
    /// visible ASCII is treated as malformed, not absent.
    pub fn from_map(headers: &'a http::HeaderMap) -> Result<Self, VerifyError> {
        fn get<'h>(
            headers: &'h http::HeaderMap,
            name: &'static str,
        ) -> Result<Option<&'h str>, VerifyError> {
            headers
                .get(name)
                .map(|v| v.to_str().map_err(|_| VerifyError::MalformedHeader(name)))
                .transpose()
        }
        Ok(Self {
            id: get(headers, HEADER_ID)?,
            timestamp: get(headers, HEADER_TIMESTAMP)?,
            signature: get(headers, HEADER_SIGNATURE)?,
        })
    }
}

/// Which key derivation produced the matching signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyDerivation {
    /// Standard Webhooks: strip `whsec_`, base64-decode the rest.
    Spec,
    /// Legacy senders: the UTF-8 bytes of the whole secret string.
    Legacy,
}

/// One configured webhook secret with its HMAC keys prepared once (at cold
/// start), so verification pays only for hashing the message.
#[derive(Clone)]
pub struct WebhookSecret {
    keys: Vec<(KeyDerivation, HmacSha256)>,
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret([redacted])")
    }
}

impl WebhookSecret {
    /// Prepares both derivations. A secret without the `whsec_` prefix, or
    /// whose base64 does not decode, gets only the legacy one.
    pub fn new(secret: &SecretString) -> Result<Self, SecretFormatError> {
        let raw = secret.expose();
        if raw.is_empty() {
            return Err(SecretFormatError::Empty);
        }
        let mut keys = Vec::with_capacity(2);
        if let Some(encoded) = raw.strip_prefix("whsec_") {
            if let Ok(bytes) = BASE64.decode(encoded) {
                if !bytes.is_empty() {
                    keys.push((KeyDerivation::Spec, hmac_key(&bytes)?));
                }
            }
        }
        keys.push((KeyDerivation::Legacy, hmac_key(raw.as_bytes())?));
        Ok(Self { keys })
    }

    /// Parses the configured list: a JSON array of secret strings (rotation
    /// overlap), or a single bare secret.
    pub fn parse_list(value: &SecretString) -> Result<Vec<Self>, SecretFormatError> {
        let raw = value.expose().trim();
        let secrets: Vec<SecretString> = if raw.starts_with('[') {
            serde_json::from_str::<Vec<String>>(raw)
                .map_err(|_| SecretFormatError::NotAList)?
                .into_iter()
                .map(SecretString::new)
                .collect()
        } else {
            vec![SecretString::new(raw)]
        };
        if secrets.is_empty() {
            return Err(SecretFormatError::Empty);
        }
        secrets.iter().map(Self::new).collect()
    }
}

fn hmac_key(bytes: &[u8]) -> Result<HmacSha256, SecretFormatError> {
    HmacSha256::new_from_slice(bytes).map_err(|_| SecretFormatError::Empty)
}

/// The configured webhook secret value cannot be used. Never carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SecretFormatError {
    #[error("the webhook secret list is empty or holds an empty secret")]
    Empty,
    #[error("the webhook secret is neither a JSON list of strings nor a single secret")]
    NotAList,
}

/// A delivery proven to come from Polo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub webhook_id: WebhookId,
    /// Unix seconds of this delivery attempt (`webhook-timestamp`).
    pub timestamp: i64,
    /// Index of the configured secret that matched.
    pub secret_index: usize,
    pub derivation: KeyDerivation,
}

impl Verified {
    /// A short, value-free description kept on the idempotency record.
    pub fn summary(&self) -> String {
        let derivation = match self.derivation {
            KeyDerivation::Spec => "spec",
            KeyDerivation::Legacy => "legacy",
        };
        format!(
            "v1 secret#{} {derivation} ts={}",
            self.secret_index, self.timestamp
        )
    }
}

/// Why a delivery was not proven authentic. Each names the header and the
/// kind of problem, never a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("{0}: missing")]
    MissingHeader(&'static str),
    #[error("{0}: malformed")]
    MalformedHeader(&'static str),
    #[error("webhook-timestamp: not a number")]
    TimestampNotANumber,
    #[error("webhook-timestamp: too old")]
    TimestampTooOld,
    #[error("webhook-timestamp: in the future")]
    TimestampTooNew,
    #[error("webhook-signature: no v1 signature")]
    NoSupportedSignature,
    #[error("webhook-signature: no signature matches")]
    SignatureMismatch,
    #[error("no webhook secret is configured")]
    NoSecrets,
}

/// Checks a delivery as it arrives: headers, the ±300 s window around
/// `now_unix`, and the signature.
pub fn verify(
    body: &[u8],
    headers: SignatureHeaders<'_>,
    secrets: &[WebhookSecret],
    now_unix: i64,
) -> Result<Verified, VerifyError> {
    check(body, headers, secrets, Some(now_unix))
}

/// Checks a replay of an event that was verified on arrival: the signature
/// still, the time window no more (design.md: replay skips the window).
pub fn verify_replay(
    body: &[u8],
    headers: SignatureHeaders<'_>,
    secrets: &[WebhookSecret],
) -> Result<Verified, VerifyError> {
    check(body, headers, secrets, None)
}

/// `now_unix`: the window's centre, or `None` for no window (a replay).
fn check(
    body: &[u8],
    headers: SignatureHeaders<'_>,
    secrets: &[WebhookSecret],
    now_unix: Option<i64>,
) -> Result<Verified, VerifyError> {
    let id_raw = headers.id.ok_or(VerifyError::MissingHeader(HEADER_ID))?;
    let ts_raw = headers
        .timestamp
        .ok_or(VerifyError::MissingHeader(HEADER_TIMESTAMP))?;
    let sig_raw = headers
        .signature
        .ok_or(VerifyError::MissingHeader(HEADER_SIGNATURE))?;
    let webhook_id = WebhookId::parse(id_raw)?;

    let timestamp = parse_timestamp(ts_raw)?;
    if let Some(now_unix) = now_unix {
        if now_unix.saturating_sub(timestamp) > TOLERANCE_SECONDS {
            return Err(VerifyError::TimestampTooOld);
        }
        if timestamp.saturating_sub(now_unix) > TOLERANCE_SECONDS {
            return Err(VerifyError::TimestampTooNew);
        }
    }

    let candidates: Vec<&str> = sig_raw
        .split(' ')
        .filter_map(|part| part.strip_prefix("v1,"))
        .collect();
    if candidates.is_empty() {
        return Err(VerifyError::NoSupportedSignature);
    }
    // A candidate that is not base64 or not 32 bytes can never match; drop it
    // before comparing so that the comparison itself is always equal-length.
    let decoded: Vec<[u8; SIGNATURE_LEN]> = candidates
        .iter()
        .filter_map(|c| BASE64.decode(c).ok())
        .filter_map(|bytes| <[u8; SIGNATURE_LEN]>::try_from(bytes.as_slice()).ok())
        .collect();
    if secrets.is_empty() {
        return Err(VerifyError::NoSecrets);
    }

    for (secret_index, secret) in secrets.iter().enumerate() {
        for (derivation, key) in &secret.keys {
            let expected = sign_with(key, id_raw, ts_raw, body);
            if decoded
                .iter()
                .any(|candidate| bool::from(candidate.ct_eq(&expected)))
            {
                return Ok(Verified {
                    webhook_id,
                    timestamp,
                    secret_index,
                    derivation: *derivation,
                });
            }
        }
    }
    Err(VerifyError::SignatureMismatch)
}

fn parse_timestamp(raw: &str) -> Result<i64, VerifyError> {
    // Digits only: `+5`, ` 5` or `5.0` are not the unix seconds the spec sends.
    if raw.is_empty() || raw.len() > 12 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VerifyError::TimestampNotANumber);
    }
    raw.parse().map_err(|_| VerifyError::TimestampNotANumber)
}

fn sign_with(key: &HmacSha256, id: &str, timestamp: &str, body: &[u8]) -> [u8; SIGNATURE_LEN] {
    let mut mac = key.clone();
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// Signs a delivery the way Polo does (spec derivation when the secret has
/// the `whsec_` prefix): for the sandbox, the sample events and tests.
/// Returns the `webhook-signature` header value.
pub fn sign(
    secret: &SecretString,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, SecretFormatError> {
    let prepared = WebhookSecret::new(secret)?;
    let (_, key) = prepared.keys.first().ok_or(SecretFormatError::Empty)?;
    let tag = sign_with(key, id, &timestamp.to_string(), body);
    Ok(format!("v1,{}", BASE64.encode(tag)))
}

#[cfg(test)]
#[path = "verifier_tests.rs"]
mod tests;
