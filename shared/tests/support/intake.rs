//! The webhook intake under test over in-memory ports, and handlers that
//! fail on purpose: shared by the intake and inbox suites.

use super::apigw;
use super::polo::{envelope, signed_headers, subscription, WEBHOOK_SECRET};
use super::recording::RecordingHandler;
use billing::clock::{Clock, ManualClock};
use billing::idempotency::InMemoryIdempotencyStore;
use billing::polo::events::PoloEvent;
use billing::polo::routing::Endpoint;
use billing::secrets::{CachedSecretSource, InMemorySecretSource, SecretId};
use billing::telemetry::InMemoryMetrics;
use billing::webhook::{
    DeliveryContext, EventHandler, HandleError, Handled, Intake, SweepReport, Sweeper, WebhookKeys,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

pub const NOW: i64 = 1_795_557_600; // 2026-11-24T22:00:00Z

/// The system under test and the in-memory ports it was built with.
pub struct Harness {
    pub intake: Intake,
    pub store: Arc<InMemoryIdempotencyStore>,
    pub secrets: Arc<InMemorySecretSource>,
    pub handler: Arc<RecordingHandler>,
    pub metrics: Arc<InMemoryMetrics>,
    pub clock: Arc<ManualClock>,
}

pub fn harness(endpoint: Endpoint) -> Harness {
    harness_with(endpoint, None)
}

pub fn harness_with(endpoint: Endpoint, handler: Option<Arc<dyn EventHandler>>) -> Harness {
    let clock = Arc::new(ManualClock::new(
        OffsetDateTime::from_unix_timestamp(NOW).unwrap(),
    ));
    let secrets = Arc::new(InMemorySecretSource::default());
    secrets.set(SecretId::PoloWebhook, format!(r#"["{WEBHOOK_SECRET}"]"#));
    let cached = Arc::new(CachedSecretSource::new(secrets.clone(), clock.clone()));
    let store = Arc::new(InMemoryIdempotencyStore::default());
    let recording = Arc::new(RecordingHandler::default());
    let metrics = Arc::new(InMemoryMetrics::default());
    let intake = Intake {
        endpoint,
        store: store.clone(),
        keys: Arc::new(WebhookKeys::new(cached)),
        clock: clock.clone(),
        metrics: metrics.clone(),
        handler: handler.unwrap_or_else(|| recording.clone()),
        fallback_lease: Duration::seconds(9),
    };
    Harness {
        intake,
        store,
        secrets,
        handler: recording,
        metrics,
        clock,
    }
}

pub struct Answered {
    pub status: u16,
    pub body: serde_json::Value,
}

impl Harness {
    /// The retry sweep over the same ports as the intake.
    pub fn sweeper(&self) -> Sweeper {
        Sweeper {
            store: self.store.clone(),
            handler: self.intake.handler.clone(),
            clock: self.clock.clone(),
            metrics: self.metrics.clone(),
        }
    }

    /// One sweep run with a minute to spare.
    pub async fn sweep(&self) -> SweepReport {
        self.sweeper()
            .run(self.clock.now() + Duration::minutes(1))
            .await
            .expect("the sweep lists the open records")
    }

    /// Delivers a body signed with the test secret at the harness's time.
    pub async fn deliver(&self, id: &str, body: &[u8]) -> Answered {
        let headers = signed_headers(WEBHOOK_SECRET, id, self.clock.now().unix_timestamp(), body);
        self.send(&headers, body, false).await
    }

    pub async fn send(&self, headers: &[(&str, String)], body: &[u8], base64: bool) -> Answered {
        let json = apigw::event_json(&self.intake.endpoint.path(), headers, body, base64);
        let deadline_ms = (self.clock.now() + Duration::seconds(9)).unix_timestamp() as u64 * 1000;
        let response = self.intake.handle(apigw::request(&json, deadline_ms)).await;
        let status = response.status().as_u16();
        let body = serde_json::from_slice(response.body().as_ref()).expect("a JSON answer");
        Answered { status, body }
    }

    pub fn record(&self, key: &str) -> Option<billing::idempotency::IdempotencyRecord> {
        self.store
            .snapshot()
            .into_iter()
            .find(|r| r.delivery.key.as_str() == key)
    }
}

pub fn created(account: &str) -> Vec<u8> {
    envelope(
        "subscription.created",
        subscription("sub_1", "trialing", account),
    )
}

/// A handler that fails transiently a given number of times, then succeeds.
pub struct Flaky {
    failures_left: AtomicUsize,
    runs: AtomicUsize,
}

#[async_trait::async_trait]
impl EventHandler for Flaky {
    async fn handle(
        &self,
        _event: &PoloEvent,
        _ctx: &DeliveryContext,
    ) -> Result<Handled, HandleError> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        let left = self.failures_left.load(Ordering::SeqCst);
        if left > 0 {
            self.failures_left.store(left - 1, Ordering::SeqCst);
            return Err(HandleError::Transient("account store timed out".into()));
        }
        Ok(Handled::Applied)
    }
}

impl Flaky {
    pub fn failing(times: usize) -> Self {
        Self {
            failures_left: AtomicUsize::new(times),
            runs: AtomicUsize::new(0),
        }
    }

    pub fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }
}
