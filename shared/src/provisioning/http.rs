//! The orchestrator adapter: a signed POST (Standard Webhooks, the
//! provisioning signing secret) to `PROVISIONING_URL`, carrying the whole
//! desired state and the account version. Contract:
//! docs/API_PROVISIONING_SERVICE.md.

use super::{ProvisionError, Provisioner, ProvisioningRequest};
use crate::http::{FetchError, FetchRequest, SecureHttp};
use crate::secrets::SecretString;
use crate::signing::signature_headers;
use async_trait::async_trait;
use reqwest::Method;
use time::OffsetDateTime;
use url::Url;

pub struct HttpProvisioner {
    http: SecureHttp,
    url: Url,
    secret: SecretString,
}

impl HttpProvisioner {
    pub fn new(http: SecureHttp, url: Url, signing_secret: SecretString) -> Self {
        Self {
            http,
            url,
            secret: signing_secret,
        }
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
        let headers = signature_headers(
            &self.secret,
            &body,
            OffsetDateTime::now_utc().unix_timestamp(),
        )
        .map_err(|e| ProvisionError::Rejected(e.to_string()))?;
        let fetch = FetchRequest {
            label: "provisioning.push",
            method: Method::POST,
            url: self.url.clone(),
            headers,
            body: Some(body),
            bearer: None,
            // One key per (account, version): a retried push is the same push.
            idempotency_key: Some(format!("{}:{}", request.account_id, request.version)),
            deadline,
        };
        match self.http.send(fetch).await {
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
