//! PayPal's REST API over the hardened fetch layer: an OAuth2
//! client-credentials token (cached in memory until shortly before it
//! expires), then `POST /v1/billing/subscriptions/{id}/cancel`.

use super::{Cancelled, Canceller, PaypalError};
use crate::http::{FetchError, FetchRequest, SecureHttp};
use crate::secrets::{CachedSecretSource, PaypalCredentials, SecretId, SecretSource, SecretString};
use async_trait::async_trait;
use base64::Engine;
use reqwest::Method;
use serde::Deserialize;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use tokio::sync::Mutex;
use url::Url;

pub struct PaypalClient {
    http: SecureHttp,
    base: Url,
    credentials: Credentials,
    token: Mutex<Option<(SecretString, OffsetDateTime)>>,
}

/// Where the client credentials come from.
enum Credentials {
    /// Fixed for the process (tests).
    Fixed(PaypalCredentials),
    /// The PayPal secret through the cache: read when a token is needed, and
    /// again at once when PayPal refuses them (a rotation).
    Stored(Arc<CachedSecretSource>),
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: i64,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    #[serde(default)]
    name: String,
    #[serde(default)]
    details: Vec<ErrorDetail>,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    issue: String,
}

fn unavailable(err: FetchError) -> PaypalError {
    PaypalError::Unavailable(Box::new(err))
}

impl PaypalClient {
    pub fn new(
        http: SecureHttp,
        base: Url,
        client_id: SecretString,
        client_secret: SecretString,
    ) -> Self {
        Self {
            http,
            base,
            credentials: Credentials::Fixed(PaypalCredentials {
                client_id,
                client_secret,
            }),
            token: Mutex::new(None),
        }
    }

    /// Reads the credentials from `secrets` (`SecretId::Paypal`) when a
    /// token is needed, so a rotation reaches a warm container.
    pub fn from_secret(http: SecureHttp, base: Url, secrets: Arc<CachedSecretSource>) -> Self {
        Self {
            http,
            base,
            credentials: Credentials::Stored(secrets),
            token: Mutex::new(None),
        }
    }

    async fn credentials(&self) -> Result<PaypalCredentials, PaypalError> {
        match &self.credentials {
            Credentials::Fixed(fixed) => Ok(fixed.clone()),
            Credentials::Stored(secrets) => {
                let raw = secrets
                    .fetch(SecretId::Paypal)
                    .await
                    .map_err(|e| PaypalError::Unavailable(Box::new(e)))?;
                PaypalCredentials::parse(&raw).map_err(|e| PaypalError::Unavailable(Box::new(e)))
            }
        }
    }

    /// After PayPal refused `used`: the re-read credentials when they
    /// changed (at most one forced read a minute per container).
    async fn rotated(
        &self,
        used: &PaypalCredentials,
    ) -> Result<Option<PaypalCredentials>, PaypalError> {
        let Credentials::Stored(secrets) = &self.credentials else {
            return Ok(None);
        };
        let fresh = secrets
            .refresh(SecretId::Paypal)
            .await
            .map_err(|e| PaypalError::Unavailable(Box::new(e)))?;
        match fresh {
            Some(raw) => {
                let parsed = PaypalCredentials::parse(&raw)
                    .map_err(|e| PaypalError::Unavailable(Box::new(e)))?;
                let changed = parsed.client_id != used.client_id
                    || parsed.client_secret != used.client_secret;
                Ok(changed.then_some(parsed))
            }
            None => Ok(None),
        }
    }

    fn url(&self, segments: &[&str]) -> Result<Url, PaypalError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|_| PaypalError::Rejected("PAYPAL_API_BASE_URL cannot take a path".into()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// One client-credentials exchange; `None` when PayPal refuses them (401).
    async fn request_token(
        &self,
        credentials: &PaypalCredentials,
        deadline: OffsetDateTime,
    ) -> Result<Option<TokenAnswer>, PaypalError> {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            credentials.client_id.expose(),
            credentials.client_secret.expose()
        ));
        let request = FetchRequest {
            label: "paypal.oauth2_token",
            method: Method::POST,
            url: self.url(&["v1", "oauth2", "token"])?,
            headers: vec![
                ("authorization", format!("Basic {basic}")),
                (
                    "content-type",
                    "application/x-www-form-urlencoded".to_owned(),
                ),
            ],
            body: Some(b"grant_type=client_credentials".to_vec()),
            bearer: None,
            idempotency_key: None,
            deadline,
        };
        match self.http.send(request).await {
            Ok(response) => response.json().map(Some).map_err(unavailable),
            Err(FetchError::Status { status: 401, .. }) => Ok(None),
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn token(&self, deadline: OffsetDateTime) -> Result<SecretString, PaypalError> {
        let mut held = self.token.lock().await;
        if let Some((token, until)) = held.as_ref() {
            if OffsetDateTime::now_utc() < *until {
                return Ok(token.clone());
            }
        }
        let credentials = self.credentials().await?;
        let answer = match self.request_token(&credentials, deadline).await? {
            Some(answer) => answer,
            // Refused: the credentials may have been rotated since read.
            None => match self.rotated(&credentials).await? {
                Some(fresh) => self
                    .request_token(&fresh, deadline)
                    .await?
                    .ok_or(PaypalError::Auth)?,
                None => return Err(PaypalError::Auth),
            },
        };
        let token = SecretString::new(answer.access_token);
        // Renewed a minute early so a call never carries an expiring token;
        // a lifetime PayPal answers out of any sane range is clamped (to a
        // day), never allowed to overflow the clock.
        let lifetime = answer.expires_in.clamp(0, 86_400).saturating_sub(60).max(0);
        let now = OffsetDateTime::now_utc();
        let until = now.checked_add(Duration::seconds(lifetime)).unwrap_or(now);
        *held = Some((token.clone(), until));
        Ok(token)
    }
}

#[async_trait]
impl Canceller for PaypalClient {
    async fn cancel(
        &self,
        subscription_id: &str,
        reason: &str,
        deadline: OffsetDateTime,
    ) -> Result<Cancelled, PaypalError> {
        let body = serde_json::to_vec(&serde_json::json!({ "reason": reason }))
            .map_err(|e| PaypalError::Unavailable(Box::new(e)))?;
        let url = self.url(&["v1", "billing", "subscriptions", subscription_id, "cancel"])?;
        let send = |token: SecretString| {
            let (url, body) = (url.clone(), body.clone());
            async move {
                let request = FetchRequest {
                    label: "paypal.cancel_subscription",
                    method: Method::POST,
                    url,
                    // PayPal's own idempotency header: a retry is the same request.
                    headers: vec![("paypal-request-id", format!("cancel-{subscription_id}"))],
                    body: Some(body),
                    bearer: Some(&token),
                    idempotency_key: None,
                    deadline,
                };
                self.http.send(request).await
            }
        };
        let mut answer = send(self.token(deadline).await?).await;
        if let Err(FetchError::Status { status: 401, .. }) = answer {
            // The token was revoked (a credentials rotation): one new token,
            // one more try.
            *self.token.lock().await = None;
            answer = send(self.token(deadline).await?).await;
        }
        match answer {
            Ok(_) => Ok(Cancelled::Now),
            Err(FetchError::Status { status, body, .. }) => {
                let answer: Option<ErrorAnswer> = serde_json::from_slice(&body).ok();
                let issue = answer
                    .as_ref()
                    .and_then(|a| a.details.first())
                    .map(|d| d.issue.as_str())
                    .unwrap_or_default();
                match (status, issue) {
                    (422, "SUBSCRIPTION_STATUS_INVALID") => Ok(Cancelled::AlreadyInactive),
                    (401, _) => {
                        // The cached token may have been revoked: fetch a new one next time.
                        *self.token.lock().await = None;
                        Err(PaypalError::Auth)
                    }
                    (403, _) => Err(PaypalError::Auth),
                    (s, _) if s == 429 || s >= 500 => Err(PaypalError::Unavailable(
                        format!("PayPal answered HTTP {s}").into(),
                    )),
                    (s, _) => Err(PaypalError::Rejected(format!(
                        "HTTP {s} {}",
                        answer.map(|a| a.name).unwrap_or_default()
                    ))),
                }
            }
            Err(err) => Err(unavailable(err)),
        }
    }
}
