//! The Polo API as ports: what the rest of the crate may ask Polo, and the
//! typed errors it gets back. The HTTP client implements these over the
//! hardened fetch layer; `memory::InMemoryPolo` implements them for tests.

use super::wire;
use crate::domain::SubscriptionId;
use async_trait::async_trait;
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
    /// Polo answered 2xx with a body that breaks its contract (names the field).
    #[error("Polo answered a malformed {0}")]
    Malformed(&'static str),
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
