//! The burst's deliveries: one subscription per account living a lifecycle
//! in Polo's order (created as a trial → active → renewals, each an
//! `order.paid` and a `subscription.cycled` → maybe a failed renewal and
//! its recovery → maybe a cancellation and revocation, or a failure that
//! ends revoked), every snapshot one minute newer than the one before (its
//! `modified_at` is the watermark). Then the copies: a share of deliveries
//! re-send an event under the same delivery id, as Polo's retries do, and
//! all accounts' deliveries are interleaved, as independent deliveries
//! arrive (see [`interleave`]).

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// One account's subscription at one point of its story.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State {
    pub status: &'static str,
    pub period_end: OffsetDateTime,
    pub cancel_at_period_end: bool,
}

/// One distinct Polo event (one delivery id).
#[derive(Debug, Clone)]
pub struct Event {
    /// Index of the account in [`Burst::accounts`].
    pub account: usize,
    /// The delivery id (`webhook-id`); a duplicate re-sends it.
    pub id: String,
    pub event_type: &'static str,
    /// The binary Polo's endpoint for this type runs.
    pub function: &'static str,
    /// The webhook body (Polo's JSON envelope).
    pub body: String,
    /// The subscription snapshot the event carries (wire JSON); `None` for
    /// `order.paid`, whose function applies the subscription as Polo has
    /// it when asked.
    pub snapshot: Option<Value>,
}

/// The accounts, their events in Polo's order, and the deliveries.
#[derive(Debug, Clone)]
pub struct Burst {
    pub accounts: Vec<String>,
    /// Every distinct event, each account's in its story's order.
    pub events: Vec<Event>,
    /// Each account's final subscription (what Polo returns when asked).
    pub finals: Vec<Value>,
    /// The order deliveries are sent in: indices into `events`, each event
    /// once plus the duplicates.
    pub deliveries: Vec<usize>,
}

impl Burst {
    /// Indices into `events` of account `account`'s events, in order.
    pub fn story_of(&self, account: usize) -> impl Iterator<Item = &Event> {
        self.events.iter().filter(move |e| e.account == account)
    }
}

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// `deliveries` deliveries for `accounts` accounts, `duplicate_percent` of
/// them copies, from `seed`. `now` anchors every date (periods end days
/// after it, so nothing expires during a run).
pub fn generate(
    accounts: usize,
    deliveries: usize,
    duplicate_percent: usize,
    seed: u64,
    now: OffsetDateTime,
) -> Burst {
    let mut rng = fastrand::Rng::with_seed(seed);
    let copies = deliveries * duplicate_percent / 100;
    let distinct = deliveries - copies;
    let lengths = story_lengths(&mut rng, accounts, distinct);
    let names: Vec<String> = (0..accounts)
        .map(|n| format!("acct_burst_{n:05}"))
        .collect();
    let mut events = Vec::with_capacity(distinct);
    let mut finals = Vec::with_capacity(accounts);
    for (n, (name, length)) in names.iter().zip(lengths).enumerate() {
        let last = story(&mut rng, n, name, length, now, &mut events);
        finals.push(last);
    }
    let deliveries = interleave(&mut rng, &events, accounts, copies);
    Burst {
        accounts: names,
        events,
        finals,
        deliveries,
    }
}

/// The sending order. Each account's story starts at a random place in the
/// burst and its events follow about three places apart, each a few places
/// early or late (Polo sends in order; independent deliveries overtake one
/// another); a copy follows its original within twenty places (Polo's
/// retry of a delivery it thinks failed). So accounts interleave across
/// the whole burst, and one account's events are in flight together only
/// as often as the concurrency lets them be.
fn interleave(
    rng: &mut fastrand::Rng,
    events: &[Event],
    accounts: usize,
    copies: usize,
) -> Vec<usize> {
    let span = events.len() + copies;
    let starts: Vec<usize> = (0..accounts).map(|_| rng.usize(0..span.max(1))).collect();
    let mut keyed: Vec<(usize, usize)> = Vec::with_capacity(span);
    let mut place = 0;
    for (n, event) in events.iter().enumerate() {
        if n > 0 && events[n - 1].account != event.account {
            place = 0;
        }
        keyed.push((starts[event.account] + 3 * place + rng.usize(0..8), n));
        place += 1;
    }
    for _ in 0..copies {
        let (key, n) = keyed[rng.usize(0..events.len())];
        keyed.push((key + rng.usize(1..20), n));
    }
    keyed.sort();
    keyed.into_iter().map(|(_, n)| n).collect()
}

/// Story lengths between 3 and 15 events summing to `total` (at least 3
/// per account), about `total / accounts` each.
fn story_lengths(rng: &mut fastrand::Rng, accounts: usize, total: usize) -> Vec<usize> {
    let mean = (total / accounts.max(1)).max(3);
    let spread = mean.saturating_sub(3).min(4);
    let mut lengths: Vec<usize> = (0..accounts)
        .map(|_| rng.usize(mean - spread..=mean + spread))
        .collect();
    let mut sum: usize = lengths.iter().sum();
    let mut n = 0;
    while sum != total && !lengths.is_empty() {
        let i = n % lengths.len();
        if sum < total && lengths[i] < 15 {
            lengths[i] += 1;
            sum += 1;
        } else if sum > total && lengths[i] > 3 {
            lengths[i] -= 1;
            sum -= 1;
        }
        n += 1;
        if n > 100 * lengths.len() {
            break;
        }
    }
    lengths
}

#[derive(Clone, Copy)]
enum Step {
    Created,
    Active,
    OrderPaid,
    Cycled,
    Updated,
    PastDue,
    Canceled,
    Revoked,
}

/// Appends account `n`'s `length` events to `events`; returns its final
/// subscription.
fn story(
    rng: &mut fastrand::Rng,
    n: usize,
    account: &str,
    length: usize,
    now: OffsetDateTime,
    events: &mut Vec<Event>,
) -> Value {
    let ending: &[Step] = match (length, rng.u8(0..3)) {
        (0..=3, _) | (_, 0) => &[],
        (_, 1) => &[Step::Canceled, Step::Revoked],
        _ => &[Step::PastDue, Step::Revoked],
    };
    let mut steps = vec![Step::Created, Step::Active];
    while steps.len() + ending.len() < length {
        let left = length - steps.len() - ending.len();
        match (left, rng.u8(0..4)) {
            (1, _) => steps.push(Step::Updated),
            (_, 0) => steps.extend([Step::PastDue, Step::Active]),
            _ => steps.extend([Step::OrderPaid, Step::Cycled]),
        }
    }
    steps.extend_from_slice(ending);
    steps.truncate(length.max(1));

    let created = now - Duration::hours(2);
    let mut state = State {
        status: "trialing",
        period_end: now + Duration::days(7),
        cancel_at_period_end: false,
    };
    let mut last = Value::Null;
    for (minute, step) in steps.into_iter().enumerate() {
        let (event_type, function) = match step {
            Step::Created => ("subscription.created", "webhook-subscription-created"),
            Step::Active => {
                state.status = "active";
                if state.period_end < now + Duration::days(30) {
                    state.period_end = now + Duration::days(30);
                }
                ("subscription.active", "webhook-subscription-updated")
            }
            Step::OrderPaid => ("order.paid", "webhook-payment-succeeded"),
            Step::Cycled => {
                state.period_end += Duration::days(30);
                ("subscription.cycled", "webhook-subscription-updated")
            }
            Step::Updated => ("subscription.updated", "webhook-subscription-updated"),
            Step::PastDue => {
                state.status = "past_due";
                ("subscription.past_due", "webhook-payment-failed")
            }
            Step::Canceled => {
                state.cancel_at_period_end = true;
                ("subscription.canceled", "webhook-subscription-canceled")
            }
            Step::Revoked => {
                state.status = "canceled";
                ("subscription.revoked", "webhook-subscription-canceled")
            }
        };
        let modified = created + Duration::minutes(minute as i64 + 1);
        let subscription = subscription(account, &state, created, modified);
        let (data, snapshot) = if event_type == "order.paid" {
            (order(account, subscription.clone(), modified), None)
        } else {
            (subscription.clone(), Some(subscription.clone()))
        };
        let body = json!({"type": event_type, "timestamp": rfc3339(modified), "data": data});
        events.push(Event {
            account: n,
            id: format!("msg_{account}_{minute:02}"),
            event_type,
            function,
            body: body.to_string(),
            snapshot,
        });
        last = subscription;
    }
    last
}

/// The subscription in Polo's wire JSON.
pub fn subscription(
    account: &str,
    state: &State,
    created: OffsetDateTime,
    modified: OffsetDateTime,
) -> Value {
    let canceled = state.status == "canceled";
    let trial = state.status == "trialing";
    json!({
        "id": format!("sub_{account}"),
        "status": state.status,
        "product_id": "prod_local_pro",
        "customer_id": format!("cus_{account}"),
        "customer": {"id": format!("cus_{account}"), "external_id": account, "email": "burst@example.com"},
        "metadata": {"accountId": account, "planTier": "pro"},
        "current_period_start": rfc3339(created),
        "current_period_end": rfc3339(state.period_end),
        "trial_start": trial.then(|| rfc3339(created)),
        "trial_end": trial.then(|| rfc3339(state.period_end)),
        "cancel_at_period_end": state.cancel_at_period_end,
        "canceled_at": (canceled || state.cancel_at_period_end).then(|| rfc3339(modified)),
        "ends_at": (canceled || state.cancel_at_period_end).then(|| rfc3339(state.period_end)),
        "ended_at": canceled.then(|| rfc3339(modified)),
        "started_at": rfc3339(created),
        "created_at": rfc3339(created),
        "modified_at": rfc3339(modified),
        "amount": 2900,
        "currency": "usd",
        "recurring_interval": "month",
        "checkout_id": null,
    })
}

/// A renewal's `order.paid`, embedding the subscription as it was then.
fn order(account: &str, embedded: Value, at: OffsetDateTime) -> Value {
    json!({
        "id": format!("ord_{account}_{}", at.unix_timestamp()),
        "status": "paid",
        "paid": true,
        "billing_reason": "subscription_cycle",
        "subscription_id": format!("sub_{account}"),
        "subscription": embedded,
        "customer_id": format!("cus_{account}"),
        "customer": {"id": format!("cus_{account}"), "external_id": account, "email": "burst@example.com"},
        "product_id": "prod_local_pro",
        "total_amount": 2900,
        "currency": "usd",
        "created_at": rfc3339(at),
        "modified_at": rfc3339(at),
        "metadata": {},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_burst_has_the_asked_number_of_deliveries_and_copies() {
        let burst = generate(100, 1000, 10, 7, OffsetDateTime::now_utc());
        assert_eq!(burst.deliveries.len(), 1000);
        assert_eq!(burst.events.len(), 900);
        assert_eq!(burst.finals.len(), 100);
        let ids: std::collections::BTreeSet<_> = burst.events.iter().map(|e| &e.id).collect();
        assert_eq!(ids.len(), 900, "delivery ids are unique per event");
    }

    #[test]
    fn every_story_starts_created_and_its_watermarks_only_grow() {
        let burst = generate(50, 500, 10, 3, OffsetDateTime::now_utc());
        for n in 0..50 {
            let story: Vec<_> = burst.story_of(n).collect();
            assert_eq!(story[0].event_type, "subscription.created");
            let marks: Vec<String> = story
                .iter()
                .map(|e| {
                    let body: Value = serde_json::from_str(&e.body).unwrap_or_default();
                    body["timestamp"].as_str().unwrap_or_default().to_owned()
                })
                .collect();
            assert!(marks.windows(2).all(|w| w[0] < w[1]), "{marks:?}");
        }
    }
}
