//! The Polo HTTP client: every call goes out through the hardened fetch
//! layer with the API key injected per request from memory. Errors map to
//! the typed [`PoloError`]; wire types stay in this module.

use super::api::{PoloError, SubscriptionLookup};
use super::wire;
use crate::domain::SubscriptionId;
use crate::http::{FetchError, FetchRequest, SecureHttp};
use crate::secrets::{CachedSecretSource, SecretId, SecretSource};
use async_trait::async_trait;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::sync::Arc;
use time::OffsetDateTime;
use url::Url;

pub struct PoloClient {
    http: SecureHttp,
    base: Url,
    secrets: Arc<CachedSecretSource>,
}

#[derive(Deserialize)]
struct PoloErrorBody {
    #[serde(default)]
    detail: serde_json::Value,
}

impl PoloClient {
    /// `base` is `POLO_API_BASE_URL` (with or without a trailing slash).
    pub fn new(http: SecureHttp, mut base: Url, secrets: Arc<CachedSecretSource>) -> Self {
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Self {
            http,
            base,
            secrets,
        }
    }

    /// `segments` are percent-encoded one by one: an id can never add a path.
    fn url(&self, segments: &[&str]) -> Result<Url, PoloError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|_| PoloError::Validation("POLO_API_BASE_URL cannot take a path".into()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    async fn get<T: DeserializeOwned>(
        &self,
        label: &'static str,
        url: Url,
        deadline: OffsetDateTime,
    ) -> Result<T, PoloError> {
        let key = self
            .secrets
            .fetch(SecretId::PoloApiKey)
            .await
            .map_err(|e| PoloError::Unavailable(Box::new(e)))?;
        let request = FetchRequest {
            label,
            method: Method::GET,
            url,
            headers: Vec::new(),
            body: None,
            bearer: Some(&key),
            idempotency_key: None,
            deadline,
        };
        let response = self.http.send(request).await.map_err(map_error)?;
        response
            .json()
            .map_err(|e| PoloError::Unavailable(Box::new(e)))
    }
}

fn map_error(err: FetchError) -> PoloError {
    match err {
        FetchError::Status {
            status,
            body,
            retry_after,
        } => match status {
            401 | 403 => PoloError::Auth,
            404 => PoloError::NotFound,
            409 => PoloError::Conflict,
            400 | 422 => {
                let detail = serde_json::from_slice::<PoloErrorBody>(&body)
                    .map(|b| match b.detail {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    })
                    .unwrap_or_default();
                PoloError::Validation(detail)
            }
            429 => PoloError::RateLimited {
                retry_after_seconds: retry_after.map(|d| d.as_secs()),
            },
            _ => PoloError::Unavailable(Box::new(FetchError::Status {
                status,
                body: Vec::new(),
                retry_after,
            })),
        },
        other => PoloError::Unavailable(Box::new(other)),
    }
}

#[async_trait]
impl SubscriptionLookup for PoloClient {
    async fn get_subscription(
        &self,
        id: &SubscriptionId,
        deadline: OffsetDateTime,
    ) -> Result<wire::Subscription, PoloError> {
        let url = self.url(&["v1", "subscriptions", id.as_str()])?;
        self.get("polo.get_subscription", url, deadline).await
    }
}
