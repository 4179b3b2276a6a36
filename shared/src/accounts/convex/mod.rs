//! The Convex adapter: the account store behind Convex HTTP actions on the
//! deployment's site URL (tests/contract/convex is the contract). Each
//! request is signed with the Convex signing secret and verified in Convex,
//! which then runs internal functions: no deploy key leaves Convex.

pub mod answers;

use answers::{AccountBody, AccountsBody, AcknowledgedBody, PageBody};

use super::{AccountPage, AccountStore, AccountStoreError, AuditCause, AuditEntry, Page};
use crate::domain::{AccountBilling, AccountId, ProvisionedEntitlement};
use crate::http::{deadline, FetchError, FetchRequest, FetchResponse, SecureHttp};
use crate::secrets::{SecretString, SigningSecret};
use crate::signing::route_signature_headers;
use async_trait::async_trait;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::json;
use time::{Duration, OffsetDateTime};
use url::Url;

/// The most one Convex call may take, within the request's own deadline.
const CALL_BUDGET: Duration = Duration::seconds(3);

pub struct ConvexAccountStore {
    http: SecureHttp,
    site_url: Url,
    secret: SigningSecret,
}

impl ConvexAccountStore {
    pub fn new(http: SecureHttp, site_url: Url, signing_secret: impl Into<SigningSecret>) -> Self {
        Self {
            http,
            site_url,
            secret: signing_secret.into(),
        }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        label: &'static str,
        path: &str,
        body: serde_json::Value,
        expected_version: Option<u64>,
    ) -> Result<T, AccountStoreError> {
        let url = self.site_url.join(path).map_err(|_| {
            AccountStoreError::Rejected("CONVEX_SITE_URL: cannot join a path".into())
        })?;
        let body =
            serde_json::to_vec(&body).map_err(|e| AccountStoreError::Rejected(e.to_string()))?;
        // Refused for its signature: the secret may have been rotated since
        // this container read it; `send_signed` signs once more with a fresh
        // read (Convex accepts the old and the new secret during a rotation).
        let (url, body) = (&url, &body);
        let answer = self
            .secret
            .send_signed(
                |secret| async move { self.send(label, url, body, &secret).await },
                |e| AccountStoreError::Unavailable(Box::new(e)),
            )
            .await?;
        answers::decode(answer, expected_version)
    }

    /// One signed POST. The route is signed too: a signature for one call
    /// is refused on another.
    async fn send(
        &self,
        label: &'static str,
        url: &Url,
        body: &[u8],
        secret: &SecretString,
    ) -> Result<Result<FetchResponse, FetchError>, AccountStoreError> {
        let headers = route_signature_headers(
            secret,
            Method::POST.as_str(),
            url.path(),
            body,
            OffsetDateTime::now_utc().unix_timestamp(),
        )
        .map_err(|e| AccountStoreError::Rejected(e.to_string()))?;
        Ok(self
            .http
            .send(FetchRequest {
                label,
                method: Method::POST,
                url: url.clone(),
                headers,
                body: Some(body.to_vec()),
                bearer: None,
                idempotency_key: None,
                deadline: deadline::bounded(CALL_BUDGET),
            })
            .await)
    }
}

fn rfc3339(t: OffsetDateTime) -> Result<String, AccountStoreError> {
    t.format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| AccountStoreError::Rejected(e.to_string()))
}

#[async_trait]
impl AccountStore for ConvexAccountStore {
    async fn get(
        &self,
        account_id: &AccountId,
    ) -> Result<Option<AccountBilling>, AccountStoreError> {
        let body = json!({"accountId": account_id});
        match self
            .call::<AccountBody>("convex.get", "billing/v1/accounts/get", body, None)
            .await
        {
            Ok(found) => Ok(Some(found.account)),
            Err(AccountStoreError::NotFound) => Ok(None),
            Err(err) => Err(err),
        }
    }

    async fn compare_and_set(
        &self,
        expected_version: u64,
        next: &AccountBilling,
        audit: &AuditEntry,
    ) -> Result<(), AccountStoreError> {
        // The cause only: Convex builds the row's before and after itself.
        let body = json!({
            "expectedVersion": expected_version,
            "account": next,
            "audit": AuditCause::from(audit),
        });
        self.call::<serde_json::Value>(
            "convex.compare_and_set",
            "billing/v1/accounts/compare-and-set",
            body,
            Some(expected_version),
        )
        .await
        .map(|_| ())
    }

    async fn acknowledge_provisioning(
        &self,
        account_id: &AccountId,
        acknowledged: &ProvisionedEntitlement,
    ) -> Result<bool, AccountStoreError> {
        let body = json!({"accountId": account_id, "acknowledged": acknowledged});
        let answer: AcknowledgedBody = self
            .call(
                "convex.acknowledge_provisioning",
                "billing/v1/accounts/acknowledge-provisioning",
                body,
                None,
            )
            .await?;
        Ok(answer.recorded)
    }

    async fn list_provisioning_mismatches(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<AccountPage, AccountStoreError> {
        let body = json!({"cursor": cursor, "limit": limit});
        let found: AccountsBody = self
            .call(
                "convex.provisioning_mismatches",
                "billing/v1/accounts/provisioning-mismatches",
                body,
                None,
            )
            .await?;
        Ok(found.into())
    }

    async fn list_expired(
        &self,
        now: OffsetDateTime,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<AccountPage, AccountStoreError> {
        let body = json!({"now": rfc3339(now)?, "cursor": cursor, "limit": limit});
        let found: AccountsBody = self
            .call("convex.expired", "billing/v1/accounts/expired", body, None)
            .await?;
        Ok(found.into())
    }

    async fn list_polo_subscribers(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page, AccountStoreError> {
        let body = json!({"cursor": cursor, "limit": limit});
        let page: PageBody = self
            .call(
                "convex.polo_subscribers",
                "billing/v1/accounts/polo-subscribers",
                body,
                None,
            )
            .await?;
        Ok(Page {
            account_ids: page.account_ids,
            cursor: page.cursor,
        })
    }

    async fn list_pending_paypal_cancellations(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<AccountPage, AccountStoreError> {
        let body = json!({"cursor": cursor, "limit": limit});
        let found: AccountsBody = self
            .call(
                "convex.pending_paypal_cancellations",
                "billing/v1/accounts/pending-paypal-cancellations",
                body,
                None,
            )
            .await?;
        Ok(found.into())
    }
}
