//! Secrets from environment variables, for `STAGE=local` only (the config
//! refuses them elsewhere): `POLO_API_KEY`, `POLO_WEBHOOK_SECRETS`, and the
//! downstream secrets assembled into the same JSON shape Secrets Manager holds.

use super::{SecretError, SecretId, SecretSource, SecretString};
use async_trait::async_trait;
use std::collections::HashMap;

/// Holds the values read once at cold start.
#[derive(Debug, Default, Clone)]
pub struct EnvSecretSource {
    values: HashMap<SecretId, SecretString>,
}

impl EnvSecretSource {
    /// Builds the source from a variable lookup (the process environment, or
    /// a map in tests). Only variables that are set become secrets.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let mut values = HashMap::new();
        if let Some(key) = lookup("POLO_API_KEY") {
            values.insert(SecretId::PoloApiKey, SecretString::new(key));
        }
        if let Some(list) = lookup("POLO_WEBHOOK_SECRETS") {
            values.insert(SecretId::PoloWebhook, SecretString::new(list));
        }
        let mut downstream = serde_json::Map::new();
        for (var, field) in [
            ("CONVEX_SIGNING_SECRET", "convexSigningSecret"),
            ("PROVISIONING_SIGNING_SECRET", "provisioningSigningSecret"),
            ("PAYPAL_CLIENT_ID", "paypalClientId"),
            ("PAYPAL_CLIENT_SECRET", "paypalClientSecret"),
        ] {
            if let Some(value) = lookup(var) {
                downstream.insert(field.to_owned(), serde_json::Value::String(value));
            }
        }
        if !downstream.is_empty() {
            let json = serde_json::Value::Object(downstream).to_string();
            values.insert(SecretId::Downstream, SecretString::new(json));
        }
        Self { values }
    }
}

#[async_trait]
impl SecretSource for EnvSecretSource {
    async fn fetch(&self, id: SecretId) -> Result<SecretString, SecretError> {
        self.values
            .get(&id)
            .cloned()
            .ok_or(SecretError::NotConfigured(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_variables_become_secrets_and_absent_ones_are_not_configured() {
        let source = EnvSecretSource::from_lookup(|name| match name {
            "POLO_WEBHOOK_SECRETS" => Some(r#"["whsec_abc"]"#.to_owned()),
            "CONVEX_SIGNING_SECRET" => Some("convex".to_owned()),
            _ => None,
        });
        let webhook = source.fetch(SecretId::PoloWebhook).await.unwrap();
        assert_eq!(webhook.expose(), r#"["whsec_abc"]"#);
        let downstream = source.fetch(SecretId::Downstream).await.unwrap();
        assert_eq!(downstream.expose(), r#"{"convexSigningSecret":"convex"}"#);
        assert!(matches!(
            source.fetch(SecretId::PoloApiKey).await,
            Err(SecretError::NotConfigured(SecretId::PoloApiKey))
        ));
    }
}
