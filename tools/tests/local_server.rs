//! The README's run command, over real HTTP: the local server's router on a
//! loopback port, sample events from `events/` signed with the local secret.

use std::path::Path;
use std::sync::Arc;
use tools::local::{LocalStack, LOCAL_WEBHOOK_SECRET};
use tools::sample;

async fn serve() -> String {
    let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let stack =
        Arc::new(LocalStack::new(&format!(r#"["{LOCAL_WEBHOOK_SECRET}"]"#), &events).unwrap());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, stack.router()).await.unwrap() });
    format!("http://{address}")
}

async fn send(base: &str, slug: &str, to: Option<&str>, id: &str) -> (u16, serde_json::Value) {
    let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let delivery = sample::load(&events, slug, id, LOCAL_WEBHOOK_SECRET, now).unwrap();
    let path = to
        .map(|t| format!("/api/billing/polo/{t}"))
        .unwrap_or(delivery.path);
    let mut request = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .body(delivery.body);
    for (name, value) in &delivery.headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (
        status,
        serde_json::from_str(&response.text().await.unwrap()).unwrap(),
    )
}

#[tokio::test]
async fn the_walkthrough_processes_dedupes_and_parks_over_http() {
    let base = serve().await;

    let first = send(&base, "subscription-created", None, "msg_walk_1").await;
    let duplicate = send(&base, "subscription-created", None, "msg_walk_1").await;
    let misrouted = send(
        &base,
        "payment-succeeded",
        Some("subscription-created"),
        "msg_walk_2",
    )
    .await;
    let every = [
        "subscription-updated",
        "subscription-canceled",
        "payment-failed",
        "payment-succeeded",
    ];
    for (i, slug) in every.iter().enumerate() {
        let answer = send(&base, slug, None, &format!("msg_walk_all_{i}")).await;
        assert_eq!(
            answer,
            (200, serde_json::json!({"status": "processed"})),
            "{slug}"
        );
    }

    assert_eq!(first, (200, serde_json::json!({"status": "processed"})));
    assert_eq!(duplicate, (200, serde_json::json!({"status": "duplicate"})));
    assert_eq!(
        misrouted,
        (
            200,
            serde_json::json!({"status": "parked", "reason": "misrouted"})
        )
    );
    let state: serde_json::Value = reqwest::get(format!("{base}/dev/state"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let account = &state["accounts"][0];
    assert_eq!(account["accountId"], "acct_local_1");
    assert!(
        account["version"].as_u64().unwrap() > 0,
        "the sample events changed the account"
    );
    assert!(
        state["provisioningPushes"].as_u64().unwrap() > 0,
        "the orchestrator heard of it"
    );
    let parked: Vec<_> = state["idempotency"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "PARKED")
        .collect();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0]["parkReason"], "misrouted");
}

#[tokio::test]
async fn an_unsigned_request_to_the_local_server_is_refused() {
    let base = serve().await;
    let response = reqwest::Client::new()
        .post(format!("{base}/api/billing/polo/subscription-created"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
}
