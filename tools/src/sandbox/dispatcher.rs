//! Webhook delivery as Polo does it (polo-api.md "Webhooks"): each event
//! type to its endpoint (`{base}/api/billing/polo/{slug}`), signed per
//! Standard Webhooks at every attempt with the real time, retried with
//! exponential backoff on anything but 2xx (3xx included), and an endpoint
//! disabled after 10 failures in a row. Every event is kept, so the admin
//! API can redeliver any of them, in any order, as often as asked; holding
//! deliveries back lets a test release a sequence reversed or twice.

use super::model::rfc3339;
use billing::polo::verifier::sign;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::Notify;
use url::Url;

pub use super::events::{
    endpoint_for, known_slug, Attempt, DeliveryConfig, EventRecord, Plan, RetrySchedule,
    DISABLE_AFTER,
};

#[derive(Debug, Default)]
struct Health {
    consecutive_failures: u32,
    disabled: bool,
}

#[derive(Debug, Default)]
struct Inner {
    events: Vec<EventRecord>,
    held: Option<Vec<usize>>,
    health: HashMap<&'static str, Health>,
}

pub struct Dispatcher {
    config: DeliveryConfig,
    /// The sandbox's clock: each attempt carries it, as each event does.
    clock: Arc<dyn billing::clock::Clock>,
    client: reqwest::Client,
    inner: Mutex<Inner>,
    in_flight: AtomicUsize,
    idle: Notify,
}

impl Dispatcher {
    pub fn new(
        config: DeliveryConfig,
        clock: Arc<dyn billing::clock::Clock>,
    ) -> Result<Arc<Self>, String> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("Polo-Webhooks/1.0 (sandbox)")
            .build()
            .map_err(|e| format!("webhook client: {e}"))?;
        Ok(Arc::new(Self {
            config,
            clock,
            client,
            inner: Mutex::new(Inner::default()),
            in_flight: AtomicUsize::new(0),
            idle: Notify::new(),
        }))
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records an event (type, envelope body) and returns its index.
    pub fn record(&self, event_type: &str, body: Vec<u8>, at: OffsetDateTime) -> Option<usize> {
        let endpoint = endpoint_for(event_type)?;
        let data = serde_json::from_slice::<serde_json::Value>(&body)
            .map(|v| v["data"].clone())
            .unwrap_or_default();
        let subscription_id = data["subscription_id"]
            .as_str()
            .or_else(|| data["id"].as_str())
            .map(str::to_owned);
        let record = EventRecord {
            id: format!("msg_{}", uuid::Uuid::new_v4().simple()),
            event_type: event_type.to_owned(),
            endpoint,
            subscription_id,
            status: data["status"].as_str().map(str::to_owned),
            created_at: rfc3339(at),
            attempts: Vec::new(),
            body: Arc::new(body),
        };
        let mut inner = self.inner();
        inner.events.push(record);
        Some(inner.events.len() - 1)
    }

    pub fn events(&self) -> Vec<EventRecord> {
        self.inner().events.clone()
    }

    fn index_of(&self, id: &str) -> Option<usize> {
        self.inner().events.iter().position(|e| e.id == id)
    }

    /// Sends new events in order — or keeps them back while held.
    pub fn dispatch(self: &Arc<Self>, indices: Vec<usize>) {
        {
            let mut inner = self.inner();
            if let Some(held) = inner.held.as_mut() {
                held.extend(indices);
                return;
            }
        }
        self.send_in_order(indices, Plan::INITIAL);
    }

    /// From now on, new events wait for [`Dispatcher::release`].
    pub fn hold(&self) {
        let mut inner = self.inner();
        if inner.held.is_none() {
            inner.held = Some(Vec::new());
        }
    }

    /// Sends every held event (reversed, or each twice, if asked) and stops
    /// holding. Returns the event ids in the order they go out.
    pub fn release(self: &Arc<Self>, reverse: bool, twice: bool) -> Vec<String> {
        let mut held = self.inner().held.take().unwrap_or_default();
        if reverse {
            held.reverse();
        }
        let ids = self.ids_of(&held);
        let plan = Plan {
            trigger: "released",
            twice,
            to: None,
        };
        self.send_in_order(held, plan);
        ids
    }

    /// The webhook ids of the events at `indices`, in that order.
    fn ids_of(&self, indices: &[usize]) -> Vec<String> {
        let inner = self.inner();
        indices
            .iter()
            .filter_map(|i| inner.events.get(*i).map(|e| e.id.clone()))
            .collect()
    }

    /// Sends every held event at once, each delivery (and with `twice` its
    /// duplicate) on its own task, as Polo does when its endpoints deliver
    /// independently; stops holding. Returns the event ids.
    pub fn release_concurrently(self: &Arc<Self>, twice: bool) -> Vec<String> {
        let held = self.inner().held.take().unwrap_or_default();
        let ids = self.ids_of(&held);
        let plan = Plan {
            trigger: "released",
            twice: false,
            to: None,
        };
        let times = if twice { 2 } else { 1 };
        for index in held {
            for _ in 0..times {
                self.send_in_order(vec![index], plan);
            }
        }
        ids
    }

    /// Delivers past events again, in exactly the order given. `fresh_id`
    /// sends each as a new event (a new `webhook-id`, the same body), as if
    /// Polo had re-sent an old state.
    pub fn deliver(
        self: &Arc<Self>,
        ids: &[String],
        fresh_id: bool,
        plan: Plan,
    ) -> Result<Vec<String>, String> {
        let mut indices = Vec::new();
        for id in ids {
            let index = self.index_of(id).ok_or(format!("no event {id}"))?;
            indices.push(index);
        }
        if fresh_id {
            let mut inner = self.inner();
            for index in &mut indices {
                let Some(mut copy) = inner.events.get(*index).cloned() else {
                    continue;
                };
                copy.id = format!("msg_{}", uuid::Uuid::new_v4().simple());
                copy.attempts.clear();
                inner.events.push(copy);
                *index = inner.events.len() - 1;
            }
        }
        let sent = {
            let inner = self.inner();
            indices
                .iter()
                .filter_map(|i| inner.events.get(*i).map(|e| e.id.clone()))
                .collect()
        };
        self.send_in_order(indices, plan);
        Ok(sent)
    }

    /// Re-enables an endpoint disabled after repeated failures.
    pub fn enable(&self, endpoint: &'static str) {
        self.inner().health.remove(endpoint);
    }

    pub fn disabled_endpoints(&self) -> Vec<&'static str> {
        self.inner()
            .health
            .iter()
            .filter(|(_, h)| h.disabled)
            .map(|(e, _)| *e)
            .collect()
    }

    /// Waits until no delivery or retry is in flight; false on timeout.
    pub async fn settle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.idle.notified();
            if self.in_flight.load(Ordering::SeqCst) == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return false;
            }
        }
    }

    fn begin(&self) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
    }

    fn end(&self) {
        if self.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
    }

    fn send_in_order(self: &Arc<Self>, indices: Vec<usize>, plan: Plan) {
        if indices.is_empty() {
            return;
        }
        self.begin();
        let this = self.clone();
        tokio::spawn(async move {
            for index in indices {
                let times = if plan.twice { 2 } else { 1 };
                for _ in 0..times {
                    if !this.attempt(index, plan, 1).await {
                        this.retry_later(index, plan);
                    }
                }
            }
            this.end();
        });
    }

    fn retry_later(self: &Arc<Self>, index: usize, plan: Plan) {
        self.begin();
        let this = self.clone();
        tokio::spawn(async move {
            let schedule = this.config.retry;
            for n in 2..=schedule.max_attempts {
                tokio::time::sleep(schedule.delay_after(n - 1)).await;
                let retry = Plan {
                    trigger: "retry",
                    ..plan
                };
                if this.attempt(index, retry, n).await {
                    break;
                }
            }
            this.end();
        });
    }

    /// One attempt; true when it needs no retry (2xx, or nothing to send).
    async fn attempt(&self, index: usize, plan: Plan, n: u32) -> bool {
        let Some((id, endpoint, body)) = self
            .inner()
            .events
            .get(index)
            .map(|e| (e.id.clone(), plan.to.unwrap_or(e.endpoint), e.body.clone()))
        else {
            return true;
        };
        let now = OffsetDateTime::now_utc();
        let mut attempt = Attempt {
            at: rfc3339(now),
            sandbox_at: rfc3339(self.clock.now()),
            webhook_id: id.clone(),
            trigger: plan.trigger,
            endpoint,
            status: None,
            error: None,
        };
        let disabled = self
            .inner()
            .health
            .get(endpoint)
            .is_some_and(|h| h.disabled);
        let done = match (&self.config.target, disabled) {
            (None, _) => {
                attempt.error = Some("no webhook target configured: recorded only".into());
                true
            }
            (Some(_), true) => {
                attempt.error = Some(format!(
                    "endpoint disabled after {DISABLE_AFTER} failures in a row"
                ));
                true
            }
            (Some(base), false) => {
                let outcome = self.post(base, endpoint, &id, now, &body).await;
                match outcome {
                    Ok(status) => attempt.status = Some(status),
                    Err(err) => attempt.error = Some(err),
                }
                let ok = attempt.status.is_some_and(|s| (200..300).contains(&s));
                self.note_health(endpoint, ok);
                ok || n >= self.config.retry.max_attempts
            }
        };
        if let Some(event) = self.inner().events.get_mut(index) {
            event.attempts.push(attempt);
        }
        done
    }

    async fn post(
        &self,
        base: &Url,
        endpoint: &str,
        id: &str,
        now: OffsetDateTime,
        body: &[u8],
    ) -> Result<u16, String> {
        let url = format!(
            "{}/api/billing/polo/{endpoint}",
            base.as_str().trim_end_matches('/')
        );
        let timestamp = now.unix_timestamp();
        let signature =
            sign(&self.config.secret, id, timestamp, body).map_err(|e| e.to_string())?;
        let response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    "timed out".to_owned()
                } else {
                    "connection failed".to_owned()
                }
            })?;
        Ok(response.status().as_u16())
    }

    fn note_health(&self, endpoint: &'static str, ok: bool) {
        let mut inner = self.inner();
        let health = inner.health.entry(endpoint).or_default();
        if ok {
            health.consecutive_failures = 0;
        } else {
            health.consecutive_failures += 1;
            if health.consecutive_failures >= DISABLE_AFTER {
                health.disabled = true;
            }
        }
    }
}
