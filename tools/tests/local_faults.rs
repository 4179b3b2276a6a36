//! Polo's faults as the dashboard meets them through the local stack: the
//! sandbox's armed 429s are ridden out, 503s and a hang end in
//! `polo_unavailable` inside the dashboard's 6 s Polo budget — also after
//! the shared clock moved a month ahead.

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
