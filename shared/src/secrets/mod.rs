//! The `SecretSource` port: where Polo's keys and our signing secrets come
//! from. Values are held only in memory, wrapped in [`SecretString`] so that
//! no `Debug`, `Display` or panic message can print them.

mod aws;
mod cache;
mod env;
mod memory;
mod paypal;
mod signing;

pub use aws::SecretsManagerSource;
pub use cache::CachedSecretSource;
pub use env::EnvSecretSource;
pub use memory::InMemorySecretSource;
pub use paypal::PaypalCredentials;
pub use signing::SigningSecret;

use async_trait::async_trait;
use std::fmt;

/// A secret value. Prints as `[redacted]` however it is formatted.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The raw value, for the one place that needs it (an HMAC key, a header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Which secret, by concern and by reader set: one Secrets Manager secret
/// each, so IAM grants every function exactly the secrets it reads
/// (`config::Function::secrets`, checked against the template by
/// `functions/tests/template_grants.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecretId {
    /// `POLO_API_KEY_SECRET_ARN`: the Polo API key.
    PoloApiKey,
    /// `POLO_WEBHOOK_SECRET_ARN`: a JSON list of `whsec_...` secrets.
    PoloWebhook,
    /// `CONVEX_SIGNING_SECRET_ARN`: signs our calls to Convex.
    ConvexSigning,
    /// `PROVISIONING_SIGNING_SECRET_ARN`: signs our pushes to the orchestrator.
    ProvisioningSigning,
    /// `PAYPAL_SECRET_ARN` (legacy): `{clientId, clientSecret}`.
    Paypal,
}

impl SecretId {
    pub const ALL: [SecretId; 5] = [
        SecretId::PoloApiKey,
        SecretId::PoloWebhook,
        SecretId::ConvexSigning,
        SecretId::ProvisioningSigning,
        SecretId::Paypal,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SecretId::PoloApiKey => "polo-api-key",
            SecretId::PoloWebhook => "polo-webhook",
            SecretId::ConvexSigning => "convex-signing",
            SecretId::ProvisioningSigning => "provisioning-signing",
            SecretId::Paypal => "paypal",
        }
    }
}

impl fmt::Display for SecretId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The secret is not configured for this function (no ARN, no local value).
    #[error("secret {0} is not configured for this function")]
    NotConfigured(SecretId),
    /// The secret store could not be reached or refused; a retry may work.
    #[error("secret {id} could not be read")]
    Unavailable {
        id: SecretId,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The secret exists but holds no string value or a malformed one.
    #[error("secret {id} is malformed: {problem}")]
    Malformed { id: SecretId, problem: &'static str },
}

/// Reads a secret's current value.
#[async_trait]
pub trait SecretSource: Send + Sync {
    async fn fetch(&self, id: SecretId) -> Result<SecretString, SecretError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_string_never_prints_its_value() {
        let secret = SecretString::new("whsec_super-secret-value");
        assert_eq!(format!("{secret}"), "[redacted]");
        assert_eq!(format!("{secret:?}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(&secret)), "Some([redacted])");
        assert_eq!(secret.expose(), "whsec_super-secret-value");
    }
}
