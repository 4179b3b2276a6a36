//! PayPal in memory, for tests: records cancellations, can fail on demand.

use super::{Cancelled, Canceller, PaypalError};
use async_trait::async_trait;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use time::OffsetDateTime;

#[derive(Debug, Default)]
pub struct InMemoryPaypal {
    cancelled: Mutex<Vec<String>>,
    failing: AtomicBool,
}

impl InMemoryPaypal {
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// Every subscription cancelled, in order (a repeat shows a double call).
    pub fn cancelled(&self) -> Vec<String> {
        self.cancelled
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

#[async_trait]
impl Canceller for InMemoryPaypal {
    async fn cancel(
        &self,
        subscription_id: &str,
        _reason: &str,
        _deadline: OffsetDateTime,
    ) -> Result<Cancelled, PaypalError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(PaypalError::Unavailable(
                "in-memory PayPal set to fail".into(),
            ));
        }
        let mut cancelled = self.cancelled.lock().unwrap_or_else(|p| p.into_inner());
        if cancelled.iter().any(|s| s == subscription_id) {
            return Ok(Cancelled::AlreadyInactive);
        }
        cancelled.push(subscription_id.to_owned());
        Ok(Cancelled::Now)
    }
}
