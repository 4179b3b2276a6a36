//! The Polo sandbox: a local Polo faithful to polo-api.md, for the local
//! stack, the end-to-end tests and QA. One in-process state behind:
//! - [`api`]: every `/v1` endpoint the project uses (Bearer API key,
//!   Polo's error JSON, `Idempotency-Key` honoured on POSTs);
//! - [`pages`], [`embed`] and [`portal`]: the hosted checkout page (Pay, or
//!   a declined card), the embedded checkout an app frames with the
//!   `client_secret`, and the customer portal (cancel at period end, uncancel, change
//!   plan, pay a past-due renewal);
//! - [`dispatcher`]: signed webhooks per event type, retried with backoff;
//! - [`admin`]: the clock, redelivery, reordering, API faults, failed renewals;
//! - [`import`]: a subscription given as Polo's JSON, held as Polo's state.
//!
//! `x-request-id` is on every answer. Time is a [`clock::SandboxClock`]
//! shared with the local stack's domain.

pub mod admin;
pub mod api;
pub mod cli;
pub mod clock;
pub mod dispatcher;
pub mod embed;
mod events;
pub mod faults;
mod html;
pub mod import;
mod index;
pub mod launch;
pub mod lifecycle;
pub mod model;
pub mod pages;
pub mod portal;
pub mod products;
pub mod rate_limit;
mod render;
mod renewals;
pub mod resources;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use billing::clock::Clock;
use billing::secrets::SecretString;
use clock::SandboxClock;
use dispatcher::{DeliveryConfig, Dispatcher};
use faults::Faults;
use lifecycle::Refusal;
use model::{rfc3339, Emitted, Product, State};
use std::sync::{Arc, Mutex, MutexGuard};
use time::OffsetDateTime;
use url::Url;

/// The documented local Polo API key (`.env.example`; valid nowhere else).
pub const LOCAL_API_KEY: &str = "local-polo-api-key";

pub struct SandboxConfig {
    pub api_key: SecretString,
    /// Where the sandbox is served: hosted page URLs start here.
    pub public_url: Url,
    pub products: Vec<Product>,
    pub delivery: DeliveryConfig,
    /// How long a `hang` fault holds a request.
    pub hang: std::time::Duration,
}

pub struct Sandbox {
    config: SandboxConfig,
    clock: Arc<SandboxClock>,
    state: Mutex<State>,
    dispatcher: Arc<Dispatcher>,
    faults: Faults,
    rate_limit: rate_limit::RateLimit,
}

impl Sandbox {
    pub fn new(config: SandboxConfig, clock: Arc<SandboxClock>) -> Result<Arc<Self>, String> {
        let dispatcher = Dispatcher::new(config.delivery.clone(), clock.clone())?;
        let mut state = State::default();
        state.products = config.products.clone();
        Ok(Arc::new(Self {
            config,
            clock,
            state: Mutex::new(state),
            dispatcher,
            faults: Faults::default(),
            rate_limit: Default::default(),
        }))
    }

    /// Every route: the API, the hosted pages, the admin API.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .merge(api::routes(self.clone()))
            .merge(pages::routes(self.clone()))
            .merge(embed::routes(self.clone()))
            .merge(portal::routes(self.clone()))
            .merge(admin::routes(self.clone()))
            .layer(axum::middleware::from_fn(request_id))
    }

    pub fn clock(&self) -> Arc<SandboxClock> {
        self.clock.clone()
    }

    pub fn dispatcher(&self) -> &Arc<Dispatcher> {
        &self.dispatcher
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The `/v1` API's steady requests-per-second limit (off by default).
    pub fn rate_limit(&self) -> &rate_limit::RateLimit {
        &self.rate_limit
    }

    pub fn public_url(&self) -> &str {
        self.config.public_url.as_str().trim_end_matches('/')
    }

    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Works on the state at the sandbox's `now`.
    pub fn with_state<T>(&self, f: impl FnOnce(&mut State, OffsetDateTime) -> T) -> T {
        let now = self.now();
        let mut state = self.state();
        state.expire_checkouts(now);
        f(&mut state, now)
    }

    /// Runs a transition under the lock, then sends its events in order.
    pub fn transition<T>(
        &self,
        f: impl FnOnce(&mut State, OffsetDateTime) -> Result<(T, Vec<Emitted>), Refusal>,
    ) -> Result<T, Refusal> {
        let now = self.now();
        let (value, events) = f(&mut self.state(), now)?;
        self.emit(events, now);
        Ok(value)
    }

    fn emit(&self, events: Vec<Emitted>, at: OffsetDateTime) -> Vec<usize> {
        let indices: Vec<usize> = events
            .into_iter()
            .filter_map(|event| {
                let envelope = serde_json::json!({
                    "type": event.event_type,
                    "timestamp": rfc3339(at),
                    "data": event.data,
                });
                let body = serde_json::to_vec(&envelope).ok()?;
                self.dispatcher.record(event.event_type, body, at)
            })
            .collect();
        self.dispatcher.dispatch(indices.clone());
        indices
    }

    /// Moves the clock forward and runs everything that fell due.
    /// Returns the ids of the events sent.
    pub fn advance(&self, by: time::Duration) -> Vec<String> {
        self.clock.advance(by);
        self.run_due()
    }

    /// Runs renewals and period ends that are due now.
    pub fn run_due(&self) -> Vec<String> {
        let now = self.now();
        let events = self.state().run_due(now);
        let indices = self.emit(events, now);
        let all = self.dispatcher.events();
        indices
            .into_iter()
            .filter_map(|i| all.get(i).map(|e| e.id.clone()))
            .collect()
    }

    /// Periods also end as real time passes: checks every few seconds.
    pub fn spawn_ticker(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
            loop {
                tick.tick().await;
                let Some(sandbox) = weak.upgrade() else {
                    return;
                };
                sandbox.run_due();
            }
        });
    }
}

/// `x-request-id` on every answer (Polo's correlation id).
async fn request_id(request: Request, next: Next) -> Response {
    let id = format!("req_{}", uuid::Uuid::new_v4().simple());
    let mut response = next.run(request).await;
    if let Ok(value) = http::HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}
