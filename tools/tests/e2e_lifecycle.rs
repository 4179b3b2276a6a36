//! The whole lifecycle over real HTTP through the local server and the
//! Polo sandbox: checkout → Pay on the hosted page → active, credentials
//! issued → failed renewal → past_due, revoked → paid in the portal →
//! cancel at period end → period end → canceled, free. Then every event
//! redelivered, and replayed reversed as new events: nothing changes.

mod support;

use serde_json::{json, Value};
use support::start_local;

const ACCOUNT: &str = "acct_e2e_1";

fn events_of(all: &Value) -> Vec<Value> {
    all["events"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_lives_its_whole_life_through_the_local_server_and_the_sandbox() {
    let local = start_local().await;
    let token = local.token(ACCOUNT).await;
    let fresh = local.status(&token).await;
    assert_eq!(
        (fresh["planTier"].clone(), fresh["billingStatus"].clone()),
        (json!("free"), json!("none"))
    );

    // Checkout: the API answers the hosted page's URL.
    let checkout = local.checkout(&token, "pro").await;
    let checkout_url = checkout["url"].as_str().expect("a checkout url").to_owned();
    let checkout_id = checkout["checkoutId"]
        .as_str()
        .expect("a checkout id")
        .to_owned();
    assert!(checkout_url.starts_with(&local.sandbox), "{checkout_url}");
    let (_, page) = local.page(&checkout_url).await;
    assert!(
        page.contains("Pro") && page.contains("29.00 USD / month"),
        "{page}"
    );
    assert!(
        page.contains("id=\"decline\""),
        "the page offers a declined card"
    );

    // Pay: 303 to the success URL with the checkout id filled in.
    let (code, location) = local.pay(&checkout_url).await;
    assert_eq!(code, 303);
    assert_eq!(
        location,
        format!("{}/billing?checkout_id={checkout_id}", local.app)
    );
    let (code, success_page) = local.page(&location).await;
    assert_eq!(code, 200);
    assert!(
        success_page.contains(r#"<script src="/billing/panel.js">"#),
        "the page is the billing panel"
    );
    let (code, script) = local.page(&format!("{}/billing/panel.js", local.app)).await;
    assert_eq!(code, 200);
    assert!(
        script.contains("/api/billing/status"),
        "the panel calls status"
    );

    // The success page's call: status confirms the checkout.
    let (code, confirmed) = local
        .api(
            "GET",
            &format!("/api/billing/status?checkout_id={checkout_id}"),
            &token,
            None,
        )
        .await;
    assert_eq!(code, 200, "{confirmed}");
    assert_eq!(confirmed["checkout"]["status"], "succeeded");
    assert_eq!(confirmed["planTier"], "pro");
    assert_eq!(confirmed["billingStatus"], "active");
    assert_eq!(confirmed["entitled"], true);
    local.settle().await;
    let issued = local.credentials(ACCOUNT).await;
    assert_eq!(
        (issued["entitled"].clone(), issued["tier"].clone()),
        (json!(true), json!("pro"))
    );
    let sequence: Vec<Value> = events_of(&local.admin_get("/admin/events").await)
        .iter()
        .map(|e| e["type"].clone())
        .collect();
    assert_eq!(
        sequence,
        [
            json!("subscription.created"),
            json!("subscription.active"),
            json!("order.paid")
        ]
    );
    let (code, again) = local
        .api(
            "POST",
            "/api/billing/checkout",
            &token,
            Some(json!({"planTier": "pro"})),
        )
        .await;
    assert_eq!(
        (code, again["code"].clone()),
        (409, json!("already_subscribed"))
    );

    // A month later the renewal's charge fails: past_due, credentials revoked.
    local.admin("/admin/renewals/fail-next", json!({})).await;
    local
        .admin("/admin/clock/advance", json!({"by": "31d"}))
        .await;
    local.settle().await;
    let failed = local.status(&token).await;
    assert_eq!(
        (failed["billingStatus"].clone(), failed["entitled"].clone()),
        (json!("past_due"), json!(false))
    );
    assert_eq!(local.credentials(ACCOUNT).await["entitled"], false);

    // The customer pays in Polo's portal: active again, credentials back.
    let (code, portal) = local.api("POST", "/api/billing/portal", &token, None).await;
    assert_eq!(code, 200, "{portal}");
    let portal_url = portal["url"].as_str().expect("a portal url").to_owned();
    // The past-due portal shows the period "Pay now" pays for.
    let (code, page) = local.page(&portal_url).await;
    assert_eq!(code, 200);
    let period = page
        .split("<dt>Period</dt><dd>")
        .nth(1)
        .and_then(|p| p.split("</dd>").next())
        .unwrap_or_default();
    let bounds: Vec<&str> = period
        .strip_prefix("unpaid: ")
        .map(|p| p.split(" to ").collect())
        .unwrap_or_default();
    assert_eq!(bounds.len(), 2, "{period}");
    for bound in bounds {
        assert!(
            time::OffsetDateTime::parse(bound, &time::format_description::well_known::Rfc3339)
                .is_ok(),
            "{period}"
        );
    }
    let (code, back) = local.portal_action(&portal_url, "recover").await;
    assert_eq!(code, 303, "{back}");
    local.settle().await;
    let recovered = local.status(&token).await;
    assert_eq!(
        (
            recovered["billingStatus"].clone(),
            recovered["entitled"].clone()
        ),
        (json!("active"), json!(true))
    );
    assert_eq!(local.credentials(ACCOUNT).await["entitled"], true);

    // Cancel at period end: still active and entitled until the period ends.
    let (code, _) = local.portal_action(&portal_url, "cancel").await;
    assert_eq!(code, 303);
    local.settle().await;
    let canceling = local.status(&token).await;
    assert_eq!(canceling["cancelAtPeriodEnd"], true);
    assert_eq!(
        (
            canceling["billingStatus"].clone(),
            canceling["entitled"].clone()
        ),
        (json!("active"), json!(true))
    );

    // The period ends: canceled, free, credentials revoked.
    local
        .admin("/admin/clock/advance", json!({"by": "31d"}))
        .await;
    local.settle().await;
    let ended = local.status(&token).await;
    assert_eq!(
        (
            ended["billingStatus"].clone(),
            ended["planTier"].clone(),
            ended["entitled"].clone()
        ),
        (json!("canceled"), json!("free"), json!(false))
    );
    let revoked = local.credentials(ACCOUNT).await;
    assert_eq!(
        (revoked["entitled"].clone(), revoked["tier"].clone()),
        (json!(false), json!("free"))
    );

    // Every event again (duplicates), then reversed as new events (stale
    // or equal snapshots), each twice: nothing changes.
    let before = local.account(ACCOUNT).await;
    let audit_before = local.dev_state().await["audit"].as_array().map(Vec::len);
    let ids: Vec<Value> = events_of(&local.admin_get("/admin/events").await)
        .iter()
        .map(|e| e["id"].clone())
        .collect();
    assert!(ids.len() >= 10, "the whole story's events: {ids:?}");
    for id in &ids {
        let id = id.as_str().unwrap_or_default();
        local
            .admin(&format!("/admin/events/{id}/redeliver"), json!({}))
            .await;
    }
    let reversed: Vec<Value> = ids.iter().rev().cloned().collect();
    local
        .admin(
            "/admin/events/deliver",
            json!({"ids": reversed, "fresh_id": true, "twice": true}),
        )
        .await;
    local.settle().await;
    assert_eq!(
        local.account(ACCOUNT).await,
        before,
        "replays changed the account"
    );
    assert_eq!(
        local.dev_state().await["audit"].as_array().map(Vec::len),
        audit_before
    );
    assert_eq!(local.credentials(ACCOUNT).await, revoked);
    let records = local.dev_state().await["idempotency"].clone();
    let records = records.as_array().cloned().unwrap_or_default();
    assert_eq!(
        records.len(),
        ids.len() * 2,
        "each original and each fresh id recorded once"
    );
    assert!(
        records.iter().all(|r| r["status"] == "COMPLETED"),
        "nothing parked: {records:?}"
    );
    for event in events_of(&local.admin_get("/admin/events").await) {
        let attempts = event["attempts"].as_array().cloned().unwrap_or_default();
        assert!(
            attempts.iter().all(|a| a["status"] == 200),
            "every delivery answered 200: {event}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_subscriptions_events_delivered_in_reverse_still_end_active() {
    let local = start_local().await;
    let token = local.token("acct_e2e_reorder").await;
    local.admin("/admin/webhooks/hold", json!({})).await;
    let checkout = local.checkout(&token, "starter").await;
    let (code, _) = local
        .pay(checkout["url"].as_str().unwrap_or_default())
        .await;
    assert_eq!(code, 303);
    let held = local.status(&token).await;
    assert_eq!(
        held["billingStatus"], "none",
        "no webhook arrived yet, and status was not asked about the checkout"
    );
    let released = local
        .admin(
            "/admin/webhooks/release",
            json!({"reverse": true, "twice": true}),
        )
        .await;
    assert_eq!(released["sent"].as_array().map(Vec::len), Some(3));
    local.settle().await;
    let after = local.status(&token).await;
    assert_eq!(
        (
            after["planTier"].clone(),
            after["billingStatus"].clone(),
            after["entitled"].clone()
        ),
        (json!("starter"), json!("active"), json!(true))
    );
    assert_eq!(
        local.credentials("acct_e2e_reorder").await["entitled"],
        true
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_card_fails_the_checkout_and_leaves_the_account_free() {
    let local = start_local().await;
    let token = local.token("acct_e2e_declined").await;
    let checkout = local.checkout(&token, "enterprise").await;
    let (_, html) = local
        .page(checkout["url"].as_str().unwrap_or_default())
        .await;
    let action = support::form_action(&html, "/decline").expect("a decline form");
    let (code, _) = local.submit(&action, &[]).await;
    assert_eq!(code, 402);
    let id = checkout["checkoutId"].as_str().unwrap_or_default();
    let (_, status) = local
        .api(
            "GET",
            &format!("/api/billing/status?checkout_id={id}"),
            &token,
            None,
        )
        .await;
    assert_eq!(status["checkout"]["status"], "failed");
    assert_eq!(
        (status["planTier"].clone(), status["entitled"].clone()),
        (json!("free"), json!(false))
    );
    local.settle().await;
    assert!(
        events_of(&local.admin_get("/admin/events").await).is_empty(),
        "no webhook for a declined card"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raw_dev_token_is_the_bare_jwt_the_dashboard_routes_accept() {
    support::capture_logs();
    let local = support::start_local().await;
    let url = |query: &str| format!("{}/dev/token?{query}", local.app);

    let answer = local
        .http
        .get(url("sub=acct_raw_1&format=raw"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert!(answer.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let token = answer.text().await.unwrap();

    assert_eq!(token.split('.').count(), 3, "a bare JWT: {token}");
    let status = local.status(&token).await;
    assert_eq!(status["accountId"], "acct_raw_1", "{status}");
    let refused = local.http.get(url("format=yaml")).send().await.unwrap();
    assert_eq!(refused.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_walkthrough_can_be_printed_again_with_a_working_token() {
    support::capture_logs();
    let local = support::start_local().await;

    let text = local
        .http
        .get(format!("{}/dev/walkthrough", local.app))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    for step in [
        "1. Start a checkout",
        "7. Replays change nothing",
        "/dev/walkthrough",
    ] {
        assert!(text.contains(step), "{step}: {text}");
    }
    let token = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("export TOKEN="))
        .expect("a token to export");
    assert_eq!(local.status(token).await["accountId"], "acct_local_1");
}
