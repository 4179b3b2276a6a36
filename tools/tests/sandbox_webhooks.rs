//! The sandbox's webhook dispatcher, against a recording receiver: each
//! event type to its endpoint, signed per Standard Webhooks with real-time
//! timestamps, polo-api.md's sequences, retries with backoff, endpoint
//! disabling, and the admin API's redelivery and reordering.

mod support;

use billing::polo::verifier::{verify, SignatureHeaders, WebhookSecret};
use billing::secrets::SecretString;
use serde_json::{json, Value};
use std::time::Duration;
use support::receiver;
use tools::local::LOCAL_WEBHOOK_SECRET;
use tools::sandbox::dispatcher::RetrySchedule;

fn fast(max_attempts: u32) -> RetrySchedule {
    RetrySchedule {
        first: Duration::from_millis(40),
        cap: Duration::from_millis(200),
        max_attempts,
    }
}

fn verified_at(delivery: &receiver::Delivery, now: i64) -> bool {
    let secret = WebhookSecret::new(&SecretString::new(LOCAL_WEBHOOK_SECRET)).unwrap();
    let (id, ts, sig) = (
        delivery.header("webhook-id"),
        delivery.header("webhook-timestamp"),
        delivery.header("webhook-signature"),
    );
    let headers = SignatureHeaders {
        id: Some(&id),
        timestamp: Some(&ts),
        signature: Some(&sig),
    };
    verify(&delivery.body, headers, &[secret], now).is_ok()
}

async fn admin(base: &str, path: &str, body: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{base}{path}"))
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn settle(base: &str) {
    let answer = admin(
        base,
        "/admin/webhooks/settle",
        json!({"timeout_seconds": 20}),
    )
    .await;
    assert_eq!(answer["settled"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_goes_to_its_endpoint_signed_with_the_real_time_even_after_the_clock_moves() {
    let (receiver, target) = receiver::serve().await;
    let (_sandbox, base) = support::sandbox(Some(target), fast(3), Duration::from_secs(1)).await;
    let checkout = support::buy(&base, "acct_hooks", "prod_local_pro").await;
    settle(&base).await;
    let bought: Vec<(String, String)> = receiver
        .deliveries()
        .iter()
        .map(|d| {
            (
                d.endpoint.clone(),
                d.json()["type"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        bought,
        [
            (
                "subscription-created".to_owned(),
                "subscription.created".to_owned()
            ),
            (
                "subscription-updated".to_owned(),
                "subscription.active".to_owned()
            ),
            ("payment-succeeded".to_owned(), "order.paid".to_owned()),
        ]
    );
    let first = &receiver.deliveries()[0];
    assert_eq!(first.json()["data"]["status"], "incomplete");
    assert_eq!(
        first.json()["data"]["customer"]["external_id"],
        "acct_hooks"
    );
    assert!(first.json()["data"]["modified_at"].is_null());
    assert_eq!(
        receiver.deliveries()[2].json()["data"]["billing_reason"],
        "subscription_create"
    );
    assert_eq!(checkout["status"], "succeeded");

    admin(&base, "/admin/clock/advance", json!({"by": "31d"})).await;
    settle(&base).await;
    let renewal: Vec<String> = receiver.deliveries()[3..]
        .iter()
        .map(|d| d.json()["type"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        renewal,
        ["subscription.cycled", "subscription.updated", "order.paid"]
    );
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    for delivery in receiver.deliveries() {
        assert!(
            verified_at(&delivery, now),
            "signed, real-time timestamp: {}",
            delivery.header("webhook-timestamp")
        );
        assert!(delivery.header("webhook-id").starts_with("msg_"));
    }
    let ids: std::collections::HashSet<String> = receiver
        .deliveries()
        .iter()
        .map(|d| d.header("webhook-id"))
        .collect();
    assert_eq!(ids.len(), 6, "one webhook-id per event");
    // Each attempt carries the sandbox's clock like its event does: the
    // renewal's attempts are a month ahead of real time, as the renewal is.
    let events: Value = reqwest::get(format!("{base}/admin/events"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let parse = |v: &Value| {
        time::OffsetDateTime::parse(
            v.as_str().unwrap_or_default(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    let renewal = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "subscription.cycled")
        .unwrap();
    let attempt = &renewal["attempts"][0];
    let ahead = parse(&attempt["sandbox_at"]) - parse(&attempt["at"]);
    assert!(ahead >= time::Duration::days(30), "{attempt}");
    assert!(
        (parse(&attempt["sandbox_at"]) - parse(&renewal["created_at"])).abs()
            < time::Duration::minutes(5)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_endpoint_is_retried_with_backoff_and_a_redirect_counts_as_failure() {
    let (receiver, target) = receiver::serve().await;
    let (_sandbox, base) = support::sandbox(Some(target), fast(10), Duration::from_secs(1)).await;
    receiver.script("subscription-created", &[500, 302, 503]);
    support::buy(&base, "acct_retry", "prod_local_starter").await;
    settle(&base).await;
    let created: Vec<_> = receiver
        .deliveries()
        .into_iter()
        .filter(|d| d.endpoint == "subscription-created")
        .collect();
    assert_eq!(created.len(), 4, "three failures, then 200");
    let id = created[0].header("webhook-id");
    assert!(
        created.iter().all(|d| d.header("webhook-id") == id),
        "the same webhook-id on every attempt"
    );
    let gaps: Vec<Duration> = created.windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(
        gaps[0] >= Duration::from_millis(40) && gaps[1] >= Duration::from_millis(80),
        "{gaps:?}"
    );
    assert!(
        gaps[2] >= Duration::from_millis(160),
        "the wait doubles: {gaps:?}"
    );
    let events: Value = reqwest::get(format!("{base}/admin/events"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let attempts = events["events"][0]["attempts"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let statuses: Vec<Value> = attempts.iter().map(|a| a["status"].clone()).collect();
    assert_eq!(statuses, [json!(500), json!(302), json!(503), json!(200)]);
    assert_eq!(attempts[1]["trigger"], "retry");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_failing_ten_times_in_a_row_is_disabled_until_enabled_again() {
    let (receiver, target) = receiver::serve().await;
    let (_sandbox, base) = support::sandbox(Some(target), fast(10), Duration::from_secs(1)).await;
    receiver.always(Some(503));
    support::buy(&base, "acct_disabled", "prod_local_pro").await;
    settle(&base).await;
    let state: Value = reqwest::get(format!("{base}/admin/state"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let disabled = state["disabled_endpoints"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(disabled.contains(&json!("subscription-created")), "{state}");
    let created = |r: &receiver::Receiver| {
        r.deliveries()
            .iter()
            .filter(|d| d.endpoint == "subscription-created")
            .count()
    };
    assert_eq!(created(&receiver), 10);

    receiver.always(None);
    let events: Value = reqwest::get(format!("{base}/admin/events"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first = events["events"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    admin(
        &base,
        &format!("/admin/events/{first}/redeliver"),
        json!({}),
    )
    .await;
    settle(&base).await;
    assert_eq!(created(&receiver), 10, "a disabled endpoint gets nothing");
    admin(
        &base,
        "/admin/endpoints/subscription-created/enable",
        json!({}),
    )
    .await;
    admin(
        &base,
        &format!("/admin/events/{first}/redeliver"),
        json!({}),
    )
    .await;
    settle(&base).await;
    assert_eq!(created(&receiver), 11);
    assert_eq!(
        receiver.deliveries().last().map(|d| d.header("webhook-id")),
        Some(first)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_events_go_out_reversed_and_twice_and_past_ones_in_any_order_or_elsewhere() {
    let (receiver, target) = receiver::serve().await;
    let (_sandbox, base) = support::sandbox(Some(target), fast(3), Duration::from_secs(1)).await;
    admin(&base, "/admin/webhooks/hold", json!({})).await;
    support::buy(&base, "acct_held", "prod_local_pro").await;
    settle(&base).await;
    assert!(receiver.deliveries().is_empty(), "held");
    let released = admin(
        &base,
        "/admin/webhooks/release",
        json!({"reverse": true, "twice": true}),
    )
    .await;
    settle(&base).await;
    let sent: Vec<String> = released["sent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let seen: Vec<String> = receiver
        .deliveries()
        .iter()
        .map(|d| d.header("webhook-id"))
        .collect();
    let expected: Vec<String> = sent
        .iter()
        .flat_map(|id| [id.clone(), id.clone()])
        .collect();
    assert_eq!(seen, expected);
    let types: Vec<Value> = receiver
        .deliveries()
        .iter()
        .step_by(2)
        .map(|d| d.json()["type"].clone())
        .collect();
    assert_eq!(
        types,
        [
            json!("order.paid"),
            json!("subscription.active"),
            json!("subscription.created")
        ]
    );

    let fresh = admin(
        &base,
        "/admin/events/deliver",
        json!({"ids": [sent[2], sent[0]], "fresh_id": true, "to": "payment-failed"}),
    )
    .await;
    settle(&base).await;
    let last_two: Vec<_> = receiver.deliveries().into_iter().rev().take(2).collect();
    assert!(
        last_two.iter().all(|d| d.endpoint == "payment-failed"),
        "misrouted on purpose"
    );
    let fresh_ids: Vec<String> = fresh["sent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert!(
        fresh_ids.iter().all(|id| !sent.contains(id)),
        "new webhook-ids"
    );
    assert_eq!(
        last_two[1].body,
        receiver.deliveries()[4].body,
        "the same body as the original"
    );
}
