//! The legacy PayPal side, only as far as the migration needs it: cancel a
//! subscriber's PayPal subscription once Polo bills them. The `Canceller`
//! port has an HTTP adapter (OAuth2 client credentials, then the
//! subscription's cancel call) and an in-memory one for tests.
//!
//! Cancellations are queued on the account by `apply()` (in the same write
//! that makes the Polo subscription entitled) and sent by `provisioning-sync`
//! within a minute — which keeps PayPal's OAuth round trip off Polo's 2 s
//! webhook path — retried every run, and alarmed when older than a day.

mod client;
mod memory;

pub use client::PaypalClient;
pub use memory::InMemoryPaypal;

use async_trait::async_trait;
use time::OffsetDateTime;

#[derive(Debug, thiserror::Error)]
pub enum PaypalError {
    #[error("PayPal refused our client credentials")]
    Auth,
    #[error("PayPal refused the cancellation: {0}")]
    Rejected(String),
    #[error("PayPal unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// How a cancellation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancelled {
    Now,
    /// PayPal says it was not active any more (cancelled or expired before):
    /// the goal holds, nothing more to do.
    AlreadyInactive,
}

#[async_trait]
pub trait Canceller: Send + Sync {
    async fn cancel(
        &self,
        subscription_id: &str,
        reason: &str,
        deadline: OffsetDateTime,
    ) -> Result<Cancelled, PaypalError>;
}
