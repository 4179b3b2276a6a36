//! Polo in memory, for tests and the local server: subscriptions,
//! checkouts and customers by id, every request recorded, call counting and
//! an outage switch. It plays Polo's part faithfully enough for handler
//! tests: a product change moves the subscription's product and watermark.

use super::ports::{
    BillingApi, CheckoutSession, CheckoutState, NewCheckout, PoloCustomer, PoloProduct,
    PortalSession, SubscriptionChange, SubscriptionPage,
};
use super::ports::{PoloError, SubscriptionLookup};
use super::subscription::PoloSubscription;
use super::wire;
use crate::domain::{AccountId, CheckoutId, CustomerId, SubscriptionId};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use time::{Duration, OffsetDateTime};

#[derive(Debug, Default)]
struct State {
    subscriptions: HashMap<String, PoloSubscription>,
    checkouts: HashMap<String, CheckoutSession>,
    created_checkouts: Vec<NewCheckout>,
    /// Idempotency-Key → the checkout it created (Polo's behaviour, assumed).
    checkout_keys: HashMap<String, String>,
    updates: Vec<(SubscriptionId, SubscriptionChange)>,
    portal_sessions: Vec<AccountId>,
    customers: HashMap<String, PoloCustomer>,
    products: Vec<PoloProduct>,
}

#[derive(Debug, Default)]
pub struct InMemoryPolo {
    state: Mutex<State>,
    calls: AtomicUsize,
    failing: AtomicBool,
}

impl InMemoryPolo {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn enter(&self) -> Result<(), PoloError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Err(PoloError::Unavailable("in-memory Polo set to fail".into()));
        }
        Ok(())
    }

    pub fn put_subscription(&self, subscription: PoloSubscription) {
        self.state()
            .subscriptions
            .insert(subscription.id().to_owned(), subscription);
    }

    pub fn subscription(&self, id: &str) -> Option<PoloSubscription> {
        self.state().subscriptions.get(id).cloned()
    }

    pub fn put_checkout(&self, checkout: CheckoutSession) {
        self.state()
            .checkouts
            .insert(checkout.id.as_str().to_owned(), checkout);
    }

    pub fn put_product(&self, product: PoloProduct) {
        self.state().products.push(product);
    }

    /// Every checkout created, in order.
    pub fn created_checkouts(&self) -> Vec<NewCheckout> {
        self.state().created_checkouts.clone()
    }

    /// Every subscription change requested, in order.
    pub fn updates(&self) -> Vec<(SubscriptionId, SubscriptionChange)> {
        self.state().updates.clone()
    }

    /// Every customer, one per account.
    pub fn customers(&self) -> Vec<PoloCustomer> {
        self.state().customers.values().cloned().collect()
    }

    /// The accounts a portal session was created for, in order.
    pub fn portal_sessions(&self) -> Vec<AccountId> {
        self.state().portal_sessions.clone()
    }

    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl SubscriptionLookup for InMemoryPolo {
    async fn get_subscription(
        &self,
        id: &SubscriptionId,
        _deadline: OffsetDateTime,
    ) -> Result<PoloSubscription, PoloError> {
        self.enter()?;
        self.subscription(id.as_str()).ok_or(PoloError::NotFound)
    }
}

#[async_trait]
impl BillingApi for InMemoryPolo {
    async fn create_checkout(
        &self,
        checkout: &NewCheckout,
        _deadline: OffsetDateTime,
    ) -> Result<CheckoutSession, PoloError> {
        self.enter()?;
        let mut state = self.state();
        if let Some(existing) = state
            .checkout_keys
            .get(&checkout.idempotency_key)
            .and_then(|id| state.checkouts.get(id))
        {
            return Ok(existing.clone());
        }
        state.created_checkouts.push(checkout.clone());
        let n = state.created_checkouts.len();
        let id = CheckoutId::parse(&format!("chk_mem_{n}"))
            .map_err(|_| PoloError::Malformed("checkout.id"))?;
        let session = CheckoutSession {
            url: format!("https://sandbox.polo.example/checkout/{id}"),
            client_secret: Some(format!("cs_mem_{n}")),
            state: CheckoutState::Open,
            expires_at: OffsetDateTime::now_utc() + Duration::hours(1),
            account: Some(checkout.account.clone()),
            subscription: None,
            id,
        };
        state
            .checkouts
            .insert(session.id.as_str().to_owned(), session.clone());
        state.checkout_keys.insert(
            checkout.idempotency_key.clone(),
            session.id.as_str().to_owned(),
        );
        Ok(session)
    }

    async fn get_checkout(
        &self,
        id: &CheckoutId,
        _deadline: OffsetDateTime,
    ) -> Result<CheckoutSession, PoloError> {
        self.enter()?;
        self.state()
            .checkouts
            .get(id.as_str())
            .cloned()
            .ok_or(PoloError::NotFound)
    }

    async fn create_portal_session(
        &self,
        account: &AccountId,
        _return_url: &str,
        _deadline: OffsetDateTime,
    ) -> Result<PortalSession, PoloError> {
        self.enter()?;
        let mut state = self.state();
        state.portal_sessions.push(account.clone());
        Ok(PortalSession {
            url: format!(
                "https://sandbox.polo.example/portal/session_{}",
                state.portal_sessions.len()
            ),
            expires_at: OffsetDateTime::now_utc() + Duration::hours(1),
        })
    }

    async fn list_subscriptions(
        &self,
        account: &AccountId,
        _page: u32,
        _deadline: OffsetDateTime,
    ) -> Result<SubscriptionPage, PoloError> {
        self.enter()?;
        let mut items: Vec<_> = self
            .state()
            .subscriptions
            .values()
            .filter(|s| s.external_customer_id() == Some(account.as_str()))
            .cloned()
            .collect();
        items.sort_by(|a, b| a.id().cmp(b.id()));
        Ok(SubscriptionPage { items, max_page: 1 })
    }

    async fn update_subscription(
        &self,
        id: &SubscriptionId,
        change: &SubscriptionChange,
        _deadline: OffsetDateTime,
    ) -> Result<PoloSubscription, PoloError> {
        self.enter()?;
        let mut state = self.state();
        state.updates.push((id.clone(), change.clone()));
        let found = state
            .subscriptions
            .get_mut(id.as_str())
            .ok_or(PoloError::NotFound)?;
        let subscription = found.wire_mut();
        match change {
            SubscriptionChange::Product { product, .. } => {
                subscription.product_id = product.as_str().to_owned();
            }
            SubscriptionChange::CancelAtPeriodEnd(flag) => {
                subscription.cancel_at_period_end = *flag;
            }
            SubscriptionChange::Revoke => {
                subscription.status = wire::SubscriptionStatus::Canceled;
            }
        }
        // Polo moves `modified_at` on every change: the watermark advances.
        subscription.modified_at = Some(subscription.watermark() + Duration::seconds(1));
        Ok(found.clone())
    }

    async fn customer_for_account(
        &self,
        account: &AccountId,
        _deadline: OffsetDateTime,
    ) -> Result<Option<PoloCustomer>, PoloError> {
        self.enter()?;
        Ok(self.state().customers.get(account.as_str()).cloned())
    }

    async fn ensure_customer(
        &self,
        account: &AccountId,
        _email: &str,
        _deadline: OffsetDateTime,
    ) -> Result<PoloCustomer, PoloError> {
        self.enter()?;
        let mut state = self.state();
        if let Some(existing) = state.customers.get(account.as_str()) {
            return Ok(existing.clone());
        }
        let id = CustomerId::parse(&format!("cus_mem_{}", state.customers.len() + 1))
            .map_err(|_| PoloError::Malformed("customer.id"))?;
        let customer = PoloCustomer {
            id,
            account: Some(account.clone()),
        };
        state
            .customers
            .insert(account.as_str().to_owned(), customer.clone());
        Ok(customer)
    }

    async fn list_products(
        &self,
        _deadline: OffsetDateTime,
    ) -> Result<Vec<PoloProduct>, PoloError> {
        self.enter()?;
        Ok(self.state().products.clone())
    }
}
