//! The Secrets Manager adapter: `GetSecretValue` by ARN, one secret per
//! concern. Wrap it in [`super::CachedSecretSource`]; this type does no caching.

use super::{SecretError, SecretId, SecretSource, SecretString};
use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct SecretsManagerSource {
    client: Client,
    arns: HashMap<SecretId, String>,
}

impl SecretsManagerSource {
    /// `arns` names the secrets this function may read; any other id answers
    /// `NotConfigured` without a network call.
    pub fn new(client: Client, arns: HashMap<SecretId, String>) -> Self {
        Self { client, arns }
    }
}

#[async_trait]
impl SecretSource for SecretsManagerSource {
    async fn fetch(&self, id: SecretId) -> Result<SecretString, SecretError> {
        let arn = self.arns.get(&id).ok_or(SecretError::NotConfigured(id))?;
        let output = self
            .client
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            // The SDK's error carries the request, never the secret value.
            .map_err(|e| SecretError::Unavailable {
                id,
                source: Box::new(e),
            })?;
        output
            .secret_string()
            .map(SecretString::new)
            .ok_or(SecretError::Malformed {
                id,
                problem: "it holds no string value",
            })
    }
}
