//! Polo's faults as the local stack meets them: on the dashboard, the
//! sandbox's armed 429s are ridden out, 503s and a hang end in
//! `polo_unavailable` inside the dashboard's 6 s Polo budget — also after
//! the shared clock moved a month ahead; on the webhook path, an
//! `order.paid` whose subscription lookup fails is accepted (202), kept in
//! the inbox and finished by the retry sweep.

mod support;

use serde_json::json;
use std::time::{Duration, Instant};
use support::start_local;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polo_faults_reach_the_dashboard_as_retries_or_polo_unavailable_within_its_budget() {
    let local = start_local().await;
    let token = local.token("acct_faults").await;
    let checkout = || {
        local.api(
            "POST",
            "/api/billing/checkout",
            &token,
            Some(json!({"planTier": "pro"})),
        )
    };

    local
        .admin(
            "/admin/faults",
            json!({"kind": "429", "count": 2, "retry_after": 1}),
        )
        .await;
    let started = Instant::now();
    let (code, body) = checkout().await;
    assert_eq!(code, 200, "two rate limits ridden out: {body}");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "Retry-After honoured"
    );

    local
        .admin("/admin/faults", json!({"kind": "503", "count": 3}))
        .await;
    let (code, body) = checkout().await;
    assert_eq!(
        (code, body["code"].clone()),
        (502, json!("polo_unavailable"))
    );

    local
        .admin("/admin/clock/advance", json!({"by": "60d"}))
        .await;
    local
        .admin("/admin/faults", json!({"kind": "hang", "count": 3}))
        .await;
    let started = Instant::now();
    let (code, body) = checkout().await;
    assert_eq!(
        (code, body["code"].clone()),
        (502, json!("polo_unavailable"))
    );
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_millis(7500),
        "the 6 s budget runs on real time: {elapsed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_paid_that_meets_polo_faults_is_accepted_kept_pending_and_finished_by_the_retry_sweep(
) {
    // Arrange: a paying customer, then Polo's API fails the renewal's
    // `order.paid` handling (its subscription lookup, three tries).
    let local = start_local().await;
    let token = local.token("acct_inbox").await;
    local.buy(&token, "pro").await;
    local.settle().await;
    local
        .admin("/admin/faults", json!({"kind": "503", "count": 3}))
        .await;

    // Act: a month passes; the renewal's events are delivered.
    local
        .admin("/admin/clock/advance", json!({"by": "31d"}))
        .await;
    local.settle().await;

    // Assert: accepted (Polo saw no failure), kept with its fault.
    let state = local.dev_state().await;
    let pending: Vec<_> = state["idempotency"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "PENDING")
        .cloned()
        .collect();
    assert_eq!(pending.len(), 1, "{state}");
    assert_eq!(pending[0]["eventType"], "order.paid");
    assert_eq!(pending[0]["attempts"], 1);
    assert!(pending[0]["lastFault"]
        .as_str()
        .unwrap()
        .contains("Polo unavailable"));
    let events = local.admin_get("/admin/events").await;
    let order = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["type"] == "order.paid")
        .cloned()
        .unwrap();
    let statuses: Vec<_> = order["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].clone())
        .collect();
    assert_eq!(statuses, [json!(202)], "one delivery, accepted: {order}");

    // The sweep, run now (it also runs every minute), finishes it.
    let answer = local
        .http
        .post(format!("{}/dev/retry", local.app))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let report: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(report["applied"], 1, "{report}");
    let state = local.dev_state().await;
    assert!(state["idempotency"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["status"] == "COMPLETED"));
}
