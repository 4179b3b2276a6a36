//! The Polo API as ports: what the rest of the crate may ask Polo, and the
//! typed errors it gets back. The HTTP client implements these over the
//! hardened fetch layer; [`InMemoryPolo`] implements them for tests.

use super::wire;
use crate::domain::SubscriptionId;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use time::OffsetDateTime;

#[derive(Debug, thiserror::Error)]
pub enum PoloError {
    #[error("Polo refused our credentials")]
    Auth,
    #[error("not found at Polo")]
    NotFound,
    #[error("conflict at Polo")]
    Conflict,
    /// Polo's `detail`, which names the offending field.
    #[error("Polo refused the request: {0}")]
    Validation(String),
    #[error("rate limited by Polo")]
    RateLimited { retry_after_seconds: Option<u64> },
    /// Unreachable, timed out, or 5xx after retries.
    #[error("Polo unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl PoloError {
    /// Worth retrying later (by Polo's redelivery or the caller).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Unavailable(_))
    }
}

/// Reads a subscription's current state (the payment-succeeded handler
/// trusts this over the possibly stale copy embedded in `order.paid`).
#[async_trait]
pub trait SubscriptionLookup: Send + Sync {
    async fn get_subscription(
        &self,
        id: &SubscriptionId,
        deadline: OffsetDateTime,
    ) -> Result<wire::Subscription, PoloError>;
}

/// Polo in memory, for tests: subscriptions by id, call counting, outage switch.
#[derive(Debug, Default)]
pub struct InMemoryPolo {
    subscriptions: Mutex<HashMap<String, wire::Subscription>>,
    calls: AtomicUsize,
    failing: AtomicBool,
}

impl InMemoryPolo {
    pub fn put_subscription(&self, subscription: wire::Subscription) {
        self.subscriptions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(subscription.id.clone(), subscription);
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
    ) -> Result<wire::Subscription, PoloError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Err(PoloError::Unavailable("in-memory Polo set to fail".into()));
        }
        self.subscriptions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id.as_str())
            .cloned()
            .ok_or(PoloError::NotFound)
    }
}
