//! The Polo HTTP client: every call goes out through the hardened fetch
//! layer with the API key injected per request from memory. Errors map to
//! the typed [`PoloError`]; wire types stay in this module.

use super::ports::{
    BillingApi, CheckoutSession, NewCheckout, PoloCustomer, PoloProduct, PortalSession,
    SubscriptionChange, SubscriptionPage,
};
use super::ports::{PoloError, SubscriptionLookup};
use super::subscription::PoloSubscription;
use super::wire;
use crate::domain::{AccountId, CheckoutId, SubscriptionId};
use crate::http::{FetchError, FetchRequest, SecureHttp};
use crate::secrets::{CachedSecretSource, SecretId, SecretSource};
use async_trait::async_trait;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
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
    /// Polo's error code: present on every error Polo itself answers.
    #[allow(dead_code)]
    error: String,
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
        self.call(label, Method::GET, url, None, deadline, None)
            .await
    }

    async fn send_json<B: Serialize, T: DeserializeOwned>(
        &self,
        label: &'static str,
        method: Method,
        url: Url,
        body: &B,
        deadline: OffsetDateTime,
    ) -> Result<T, PoloError> {
        let body = serde_json::to_vec(body).map_err(|e| PoloError::Unavailable(Box::new(e)))?;
        self.call(label, method, url, Some(body), deadline, None)
            .await
    }

    /// One call: the key is read from memory (the cache) per request and
    /// handed to the fetch layer, which marks the header sensitive.
    async fn call<T: DeserializeOwned>(
        &self,
        label: &'static str,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
        deadline: OffsetDateTime,
        idempotency_key: Option<String>,
    ) -> Result<T, PoloError> {
        let key = self
            .secrets
            .fetch(SecretId::PoloApiKey)
            .await
            .map_err(|e| PoloError::Unavailable(Box::new(e)))?;
        let request = |key| FetchRequest {
            label,
            method: method.clone(),
            url: url.clone(),
            headers: Vec::new(),
            body: body.clone(),
            bearer: Some(key),
            idempotency_key: idempotency_key.clone(),
            deadline,
        };
        let mut answer = self.http.send(request(&key)).await;
        // Refused our key: it may have been rotated (and the old one revoked)
        // since this container read it. Read it again, at most once a minute
        // per container, and try once more with a changed value.
        if let Err(FetchError::Status {
            status: 401 | 403, ..
        }) = answer
        {
            let fresh = self
                .secrets
                .refresh(SecretId::PoloApiKey)
                .await
                .map_err(|e| PoloError::Unavailable(Box::new(e)))?;
            if let Some(fresh) = fresh.filter(|fresh| *fresh != key) {
                answer = self.http.send(request(&fresh)).await;
            }
        }
        answer
            .map_err(map_error)?
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
            // Polo's own 404 carries its error body; a bare one comes from
            // something else answering (a wrong POLO_API_BASE_URL).
            404 if serde_json::from_slice::<PoloErrorBody>(&body).is_ok() => PoloError::NotFound,
            404 => PoloError::Unavailable(Box::new(FetchError::Status {
                status,
                body: Vec::new(),
                retry_after,
            })),
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
    ) -> Result<PoloSubscription, PoloError> {
        let url = self.url(&["v1", "subscriptions", id.as_str()])?;
        self.get("polo.get_subscription", url, deadline).await
    }
}

/// Polo's list pages are capped; 100 is its maximum `limit`.
const PAGE_LIMIT: u32 = 100;

#[async_trait]
impl BillingApi for PoloClient {
    async fn create_checkout(
        &self,
        checkout: &NewCheckout,
        deadline: OffsetDateTime,
    ) -> Result<CheckoutSession, PoloError> {
        let url = self.url(&["v1", "checkouts", ""])?;
        let body = serde_json::to_vec(&wire::CheckoutCreate::from(checkout))
            .map_err(|e| PoloError::Unavailable(Box::new(e)))?;
        let created: wire::Checkout = self
            .call(
                "polo.create_checkout",
                Method::POST,
                url,
                Some(body),
                deadline,
                Some(checkout.idempotency_key.clone()),
            )
            .await?;
        created.try_into()
    }

    async fn get_checkout(
        &self,
        id: &CheckoutId,
        deadline: OffsetDateTime,
    ) -> Result<CheckoutSession, PoloError> {
        let url = self.url(&["v1", "checkouts", id.as_str()])?;
        let checkout: wire::Checkout = self.get("polo.get_checkout", url, deadline).await?;
        checkout.try_into()
    }

    async fn create_portal_session(
        &self,
        account: &AccountId,
        return_url: &str,
        deadline: OffsetDateTime,
    ) -> Result<PortalSession, PoloError> {
        let url = self.url(&["v1", "customer-sessions", ""])?;
        let body = wire::CustomerSessionCreate {
            external_customer_id: account.as_str().to_owned(),
            return_url: return_url.to_owned(),
        };
        let session: wire::CustomerSession = self
            .send_json(
                "polo.create_customer_session",
                Method::POST,
                url,
                &body,
                deadline,
            )
            .await?;
        Ok(session.into())
    }

    async fn list_subscriptions(
        &self,
        account: &AccountId,
        page: u32,
        deadline: OffsetDateTime,
    ) -> Result<SubscriptionPage, PoloError> {
        let mut url = self.url(&["v1", "subscriptions", ""])?;
        url.query_pairs_mut()
            .append_pair("external_customer_id", account.as_str())
            .append_pair("page", &page.max(1).to_string())
            .append_pair("limit", &PAGE_LIMIT.to_string());
        let page: wire::Page<wire::Subscription> =
            self.get("polo.list_subscriptions", url, deadline).await?;
        Ok(SubscriptionPage {
            items: page.items.into_iter().map(PoloSubscription::from).collect(),
            max_page: page.pagination.max_page,
        })
    }

    async fn update_subscription(
        &self,
        id: &SubscriptionId,
        change: &SubscriptionChange,
        deadline: OffsetDateTime,
    ) -> Result<PoloSubscription, PoloError> {
        let url = self.url(&["v1", "subscriptions", id.as_str()])?;
        let body = wire::SubscriptionUpdate::from(change);
        self.send_json(
            "polo.update_subscription",
            Method::PATCH,
            url,
            &body,
            deadline,
        )
        .await
    }

    async fn customer_for_account(
        &self,
        account: &AccountId,
        deadline: OffsetDateTime,
    ) -> Result<Option<PoloCustomer>, PoloError> {
        let url = self.url(&["v1", "customers", "external", account.as_str()])?;
        match self
            .get::<wire::Customer>("polo.get_customer_external", url, deadline)
            .await
        {
            Ok(customer) => customer.try_into().map(Some),
            Err(PoloError::NotFound) => Ok(None),
            Err(err) => Err(err),
        }
    }

    async fn ensure_customer(
        &self,
        account: &AccountId,
        email: &str,
        deadline: OffsetDateTime,
    ) -> Result<PoloCustomer, PoloError> {
        if let Some(existing) = self.customer_for_account(account, deadline).await? {
            return Ok(existing);
        }
        let url = self.url(&["v1", "customers", ""])?;
        let mut metadata = wire::Metadata::new();
        metadata.insert("accountId".into(), account.as_str().into());
        let body = wire::CustomerCreate {
            external_id: account.as_str().to_owned(),
            email: email.to_owned(),
            name: None,
            metadata,
        };
        match self
            .send_json::<_, wire::Customer>(
                "polo.create_customer",
                Method::POST,
                url,
                &body,
                deadline,
            )
            .await
        {
            Ok(created) => created.try_into(),
            // Created by a concurrent or earlier attempt: read it back.
            Err(PoloError::Conflict) => self
                .customer_for_account(account, deadline)
                .await?
                .ok_or(PoloError::Conflict),
            Err(err) => Err(err),
        }
    }

    async fn list_products(&self, deadline: OffsetDateTime) -> Result<Vec<PoloProduct>, PoloError> {
        let mut products = Vec::new();
        let mut page = 1;
        loop {
            let mut url = self.url(&["v1", "products", ""])?;
            url.query_pairs_mut()
                .append_pair("is_recurring", "true")
                .append_pair("page", &page.to_string())
                .append_pair("limit", &PAGE_LIMIT.to_string());
            let answer: wire::Page<wire::Product> =
                self.get("polo.list_products", url, deadline).await?;
            for product in answer.items {
                products.push(product.try_into()?);
            }
            if page >= answer.pagination.max_page {
                return Ok(products);
            }
            page += 1;
        }
    }
}
