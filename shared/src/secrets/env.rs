//! Secrets from environment variables, for `STAGE=local` only (the config
//! refuses them elsewhere): `POLO_API_KEY`, `POLO_WEBHOOK_SECRETS`,
//! `CONVEX_SIGNING_SECRET`, `PROVISIONING_SIGNING_SECRET`, and
//! `PAYPAL_CLIENT_ID` with `PAYPAL_CLIENT_SECRET`.

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
        for (var, id) in [
            ("CONVEX_SIGNING_SECRET", SecretId::ConvexSigning),
            ("PROVISIONING_SIGNING_SECRET", SecretId::ProvisioningSigning),
        ] {
            if let Some(value) = lookup(var) {
                values.insert(id, SecretString::new(value));
            }
        }
        // The same JSON shape Secrets Manager holds.
        if let (Some(id), Some(secret)) =
            (lookup("PAYPAL_CLIENT_ID"), lookup("PAYPAL_CLIENT_SECRET"))
        {
            let json = serde_json::json!({"clientId": id, "clientSecret": secret}).to_string();
            values.insert(SecretId::Paypal, SecretString::new(json));
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
        let convex = source.fetch(SecretId::ConvexSigning).await.unwrap();
        assert_eq!(convex.expose(), "convex");
        for absent in [
            SecretId::PoloApiKey,
            SecretId::ProvisioningSigning,
            SecretId::Paypal,
        ] {
            assert!(matches!(
                source.fetch(absent).await,
                Err(SecretError::NotConfigured(id)) if id == absent
            ));
        }
    }

    #[tokio::test]
    async fn local_paypal_credentials_take_the_shape_secrets_manager_holds() {
        let source = EnvSecretSource::from_lookup(|name| match name {
            "PAYPAL_CLIENT_ID" => Some("id".to_owned()),
            "PAYPAL_CLIENT_SECRET" => Some("secret".to_owned()),
            _ => None,
        });
        let raw = source.fetch(SecretId::Paypal).await.unwrap();
        let credentials = crate::secrets::PaypalCredentials::parse(&raw).unwrap();
        assert_eq!(credentials.client_id.expose(), "id");
        assert_eq!(credentials.client_secret.expose(), "secret");
    }
}
