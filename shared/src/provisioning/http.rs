//! The orchestrator adapter: a signed POST (Standard Webhooks, the
//! provisioning signing secret) to `PROVISIONING_URL`, carrying the whole
//! desired state and the account version. Contract:
//! docs/API_PROVISIONING_SERVICE.md.

use super::{ProvisionError, Provisioner, ProvisioningRequest};
use crate::http::{FetchError, FetchRequest, FetchResponse, SecureHttp};
use crate::secrets::{SecretString, SigningSecret};
use crate::signing::signature_headers;
use async_trait::async_trait;
use reqwest::Method;
use time::OffsetDateTime;
use url::Url;

pub struct HttpProvisioner {
    http: SecureHttp,
    url: Url,
    secret: SigningSecret,
}

impl HttpProvisioner {
    pub fn new(http: SecureHttp, url: Url, signing_secret: impl Into<SigningSecret>) -> Self {
        Self {
            http,
            url,
            secret: signing_secret.into(),
        }
    }

    async fn send(
        &self,
        request: &ProvisioningRequest,
        body: &[u8],
        secret: &SecretString,
        deadline: OffsetDateTime,
    ) -> Result<Result<FetchResponse, FetchError>, ProvisionError> {
        let headers = signature_headers(secret, body, OffsetDateTime::now_utc().unix_timestamp())
            .map_err(|e| ProvisionError::Rejected(e.to_string()))?;
        Ok(self
            .http
            .send(FetchRequest {
                label: "provisioning.push",
                method: Method::POST,
                url: self.url.clone(),
                headers,
                body: Some(body.to_vec()),
                bearer: None,
                // One key per (account, version): a retried push is the same push.
                idempotency_key: Some(format!("{}:{}", request.account_id, request.version)),
                deadline,
            })
            .await)
    }
}

#[async_trait]
impl Provisioner for HttpProvisioner {
    async fn push(
        &self,
        request: &ProvisioningRequest,
        deadline: OffsetDateTime,
    ) -> Result<(), ProvisionError> {
        let body =
            serde_json::to_vec(request).map_err(|e| ProvisionError::Rejected(e.to_string()))?;
        // Refused for its signature: `send_signed` signs once more with a
        // fresh read (the orchestrator accepts the old and the new secret
        // during a rotation).
        let body = &body;
        let answer = self
            .secret
            .send_signed(
                |secret| async move { self.send(request, body, &secret, deadline).await },
                |e| ProvisionError::Unavailable(Box::new(e)),
            )
            .await?;
        match answer {
            Ok(_) => Ok(()),
            Err(FetchError::Status { status, .. })
                if (400..500).contains(&status) && status != 429 =>
            {
                Err(ProvisionError::Rejected(format!("HTTP {status}")))
            }
            Err(err) => Err(ProvisionError::Unavailable(Box::new(err))),
        }
    }
}
