//! Sending the burst as Polo would: every delivery at once, at most
//! `concurrency` in flight, each signed when it is sent (Polo signs every
//! attempt), and one answered 409 (another attempt holds the claim), 5xx or
//! with a function error sent again after a short jittered backoff (about
//! 100 ms, doubling to 2 s) until it gets a 2xx. Each attempt's answer and
//! time is kept.

use super::fleet::Fleet;
use super::story::Burst;
use crate::local::LOCAL_WEBHOOK_SECRET;
use crate::runtime_api::Outcome;
use crate::sample::resign_event;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Attempts per delivery before the harness gives up on it (Polo's own
/// schedule gives up after days; a burst that needs this many is broken).
const MAX_ATTEMPTS: usize = 200;

/// One attempt's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// The HTTP status; 0 when the function reported an invocation error
    /// or did not answer (API Gateway would answer 502).
    pub status: u16,
    /// `processed`, `duplicate`, `stale`, `parked`, `accepted`, or the
    /// error code (`in_progress`, ...).
    pub answer: String,
    pub millis: f64,
}

/// Every attempt of one delivery, first to last.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// Index into [`Burst::events`].
    pub event: usize,
    pub attempts: Vec<Attempt>,
    /// From the first attempt's send to the 2xx (backoffs included).
    pub total_millis: f64,
}

impl Delivered {
    pub fn last(&self) -> Option<&Attempt> {
        self.attempts.last()
    }
}

/// The API Gateway event for each distinct event: the function's shipped
/// `events/` sample carrying the event's body (signed at send time).
pub fn gateway_events(burst: &Burst, events_dir: &Path) -> Result<Vec<String>, String> {
    let mut shipped = std::collections::BTreeMap::new();
    burst
        .events
        .iter()
        .map(|e| {
            if !shipped.contains_key(e.function) {
                let file = events_dir.join(format!("{}.json", e.function));
                let text = std::fs::read_to_string(&file)
                    .map_err(|err| format!("{}: {err}", file.display()))?;
                let parsed: Value = serde_json::from_str(&text)
                    .map_err(|err| format!("{}: {err}", file.display()))?;
                shipped.insert(e.function, parsed);
            }
            let mut event = shipped[e.function].clone();
            event["isBase64Encoded"] = json!(false);
            event["body"] = json!(e.body);
            event["headers"]["content-length"] = json!(e.body.len().to_string());
            Ok(event.to_string())
        })
        .collect()
}

/// Sends every delivery of `burst` to `fleet`; returns each delivery's
/// attempts (in `burst.deliveries` order) and the wall time of the whole.
pub async fn send_all(
    burst: &Burst,
    gateway: &[String],
    fleet: &Fleet,
    concurrency: usize,
) -> Result<(Vec<Delivered>, Duration), String> {
    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let gateway: Arc<Vec<String>> = Arc::new(gateway.to_vec());
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(burst.deliveries.len());
    for (n, &index) in burst.deliveries.iter().enumerate() {
        let event = &burst.events[index];
        let api = fleet
            .apis
            .get(event.function)
            .ok_or(format!("no function {}", event.function))?
            .clone();
        let (permits, gateway, id) = (permits.clone(), gateway.clone(), event.id.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(n as u64);
            let mut attempts = Vec::new();
            let mut first_sent = None;
            loop {
                let attempt = {
                    let _permit = permits.acquire().await.map_err(|e| e.to_string())?;
                    let now = time::OffsetDateTime::now_utc().unix_timestamp();
                    let signed = resign_event(&gateway[index], &id, LOCAL_WEBHOOK_SECRET, now)?;
                    let sent = Instant::now();
                    first_sent.get_or_insert(sent);
                    let outcome = api.invoke(&signed, Duration::from_secs(60)).await;
                    answer(outcome, sent.elapsed())
                };
                let again = attempt.status == 409 || attempt.status >= 500 || attempt.status == 0;
                attempts.push(attempt);
                if !again || attempts.len() >= MAX_ATTEMPTS {
                    let total_millis =
                        first_sent.map_or(0.0, |t: Instant| t.elapsed().as_secs_f64() * 1000.0);
                    return Ok::<_, String>(Delivered {
                        event: index,
                        attempts,
                        total_millis,
                    });
                }
                // Polo's first retries come seconds apart; a burst's
                // backoff is shorter so a run ends (100 ms doubling to 2 s),
                // and jittered so the losers of one race do not all collide
                // again.
                let backoff = 100u64 << attempts.len().min(5);
                let backoff = backoff.min(2000);
                tokio::time::sleep(Duration::from_millis(backoff / 2 + rng.u64(0..backoff))).await;
            }
        }));
    }
    let mut delivered = Vec::with_capacity(tasks.len());
    for task in tasks {
        delivered.push(task.await.map_err(|e| e.to_string())??);
    }
    Ok((delivered, started.elapsed()))
}

fn answer(outcome: Result<Outcome, String>, took: Duration) -> Attempt {
    let millis = took.as_secs_f64() * 1000.0;
    let (status, answer) = match outcome {
        Ok(Outcome::Response(response)) => {
            let status = response["statusCode"]
                .as_u64()
                .and_then(|s| u16::try_from(s).ok())
                .unwrap_or(0);
            let body: Value = response["body"]
                .as_str()
                .and_then(|b| serde_json::from_str(b).ok())
                .unwrap_or(Value::Null);
            let answer = body["status"]
                .as_str()
                .or(body["error"].as_str())
                .unwrap_or("unreadable");
            (status, answer.to_owned())
        }
        Ok(Outcome::Error(_)) => (0, "function_error".to_owned()),
        Err(_) => (0, "no_answer".to_owned()),
    };
    Attempt {
        status,
        answer,
        millis,
    }
}
