//! The webhook dispatcher's vocabulary: the retry schedule, where events
//! go, each event as sent with its attempts, how a delivery was asked for,
//! and which endpoint polo-api.md registers for each event type.

use billing::polo::events::EventType;
use billing::polo::routing::Endpoint;
use billing::secrets::SecretString;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Polo disables an endpoint after this many failed deliveries in a row.
pub const DISABLE_AFTER: u32 = 10;

/// Backoff between attempts: `first`, doubling, at most `cap`, for at most
/// `max_attempts` attempts in all.
#[derive(Debug, Clone, Copy)]
pub struct RetrySchedule {
    pub first: Duration,
    pub cap: Duration,
    pub max_attempts: u32,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        Self {
            first: Duration::from_secs(2),
            cap: Duration::from_secs(20 * 60),
            max_attempts: 10,
        }
    }
}

impl RetrySchedule {
    /// The wait after failed attempt `n` (1-based).
    pub fn delay_after(&self, n: u32) -> Duration {
        let factor = 2u32.saturating_pow(n.saturating_sub(1).min(20));
        self.first.saturating_mul(factor).min(self.cap)
    }
}

/// Where and how events go.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// The base URL of the webhook endpoints; `None`: record, never send.
    pub target: Option<Url>,
    pub secret: SecretString,
    pub retry: RetrySchedule,
    /// Polo waits 10 s for an answer.
    pub timeout: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    /// Real time of the attempt (what `webhook-timestamp` carried).
    pub at: String,
    /// Sandbox time of the attempt (the clock `advance` moves, which the
    /// events' `created_at` is on too).
    pub sandbox_at: String,
    pub webhook_id: String,
    pub trigger: &'static str,
    pub endpoint: &'static str,
    pub status: Option<u16>,
    pub error: Option<String>,
}

/// One event as sent (its body never changes).
#[derive(Debug, Clone, Serialize)]
pub struct EventRecord {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub endpoint: &'static str,
    pub subscription_id: Option<String>,
    /// The subscription's status the event carries (orders: the order's).
    pub status: Option<String>,
    /// Sandbox time of the event.
    pub created_at: String,
    pub attempts: Vec<Attempt>,
    #[serde(skip)]
    pub body: Arc<Vec<u8>>,
}

/// How a delivery was asked for.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub trigger: &'static str,
    pub twice: bool,
    /// Send to another endpoint than the type's own (a misrouting drill).
    pub to: Option<&'static str>,
}

impl Plan {
    pub const INITIAL: Plan = Plan {
        trigger: "initial",
        twice: false,
        to: None,
    };
}

/// The endpoint slug polo-api.md's table registers for an event type.
pub fn endpoint_for(event_type: &str) -> Option<&'static str> {
    let parsed = EventType::parse(event_type);
    Endpoint::ALL
        .into_iter()
        .find(|e| e.accepts(&parsed))
        .map(Endpoint::slug)
}

/// A known endpoint slug, as a `'static` name.
pub fn known_slug(raw: &str) -> Option<&'static str> {
    Endpoint::ALL
        .into_iter()
        .map(Endpoint::slug)
        .find(|slug| *slug == raw)
}
