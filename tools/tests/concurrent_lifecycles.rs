//! Whole lifecycles delivered all at once over real HTTP: many accounts
//! buy through the local server and the Polo sandbox while every webhook is
//! held back; their subscriptions then renew, fail a renewal, cancel at
//! period end and end, change plan or are revoked; finally every held event
//! goes out at once, each twice, each delivery on its own task — Polo's
//! independent endpoints racing for the same accounts. After one
//! `provisioning-sync`, the orchestrator must hold every account's desired
//! entitlement.

mod support;

use serde_json::{json, Value};
use std::sync::Arc;
use support::{start_local, subscription_of};
use tools::sandbox::Sandbox;

const ACCOUNTS: usize = 24;

/// What happens to an account's subscription after the purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Story {
    /// Renews, then is revoked: canceled, free.
    RenewedThenRevoked,
    /// The renewal's charge fails: past_due.
    RenewalFails,
    /// Cancel at period end, then the period ends: canceled, free.
    CanceledAtPeriodEnd,
    /// Renews, then changes plan: entitled on the new tier.
    RenewedThenChangedPlan,
}

impl Story {
    fn of(i: usize) -> Self {
        [
            Story::RenewedThenRevoked,
            Story::RenewalFails,
            Story::CanceledAtPeriodEnd,
            Story::RenewedThenChangedPlan,
        ][i % 4]
    }

    fn ends_entitled(self) -> bool {
        self == Story::RenewedThenChangedPlan
    }
}

/// The in-process sandbox behind a local stack started by the test.
fn sandbox_of(local: &support::Local) -> Arc<Sandbox> {
    local
        .running
        .as_ref()
        .and_then(|r| r.sandbox.clone())
        .expect("the sandbox runs in-process")
}

fn entitlement(v: &Value) -> Value {
    json!([v["entitled"], v["tier"], v["expiresAt"]])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_lifecycle_delivered_at_once_with_duplicates_converges_after_one_sync() {
    // Arrange: the purchases, with every webhook held back.
    let local = start_local().await;
    let sandbox = sandbox_of(&local);
    local.admin("/admin/webhooks/hold", json!({})).await;
    let tiers = ["starter", "pro", "enterprise"];
    let mut subscriptions = Vec::new();
    for i in 0..ACCOUNTS {
        let account = format!("acct_race_{i:02}");
        let token = local.token(&account).await;
        let checkout = local.checkout(&token, tiers[i % 3]).await;
        let (code, _) = local
            .pay(checkout["url"].as_str().unwrap_or_default())
            .await;
        assert_eq!(code, 303, "{account} paid");
        subscriptions.push((account.clone(), subscription_of(&sandbox, &account)));
    }

    // The stories: set up before the month ends, the rest after it.
    for (i, (_, sub)) in subscriptions.iter().enumerate() {
        match Story::of(i) {
            Story::RenewalFails => {
                local
                    .admin(
                        "/admin/renewals/fail-next",
                        json!({ "subscription_id": sub }),
                    )
                    .await;
            }
            Story::CanceledAtPeriodEnd => sandbox
                .transition(|state, now| Ok(((), state.set_cancel_at_period_end(sub, true, now)?)))
                .expect("cancel at period end"),
            _ => {}
        }
    }
    local
        .admin("/admin/clock/advance", json!({"by": "31d"}))
        .await;
    for (i, (_, sub)) in subscriptions.iter().enumerate() {
        match Story::of(i) {
            Story::RenewedThenRevoked => sandbox
                .transition(|state, now| Ok(((), state.revoke(sub, now)?)))
                .expect("revoke"),
            Story::RenewedThenChangedPlan => {
                let to = [
                    "prod_local_pro",
                    "prod_local_enterprise",
                    "prod_local_starter",
                ][i % 3];
                sandbox
                    .transition(|state, now| Ok(((), state.change_product(sub, to, true, now)?)))
                    .expect("plan change")
            }
            _ => {}
        }
    }

    // Act: every delivery at once, each twice; then one sync.
    let released = local
        .admin(
            "/admin/webhooks/release",
            json!({"concurrent": true, "twice": true}),
        )
        .await;
    let events = released["sent"].as_array().map(Vec::len).unwrap_or(0);
    local.settle().await;
    let (code, sync) = {
        let response = local
            .http
            .post(format!("{}/dev/sync", local.app))
            .send()
            .await
            .expect("sync");
        let code = response.status().as_u16();
        (code, response.json::<Value>().await.expect("json"))
    };
    assert_eq!(code, 200, "{sync}");

    // Assert: the orchestrator holds what every account should have.
    let state = local.dev_state().await;
    let accounts = state["accounts"].as_array().cloned().unwrap_or_default();
    let credentials = state["credentials"].as_array().cloned().unwrap_or_default();
    let mut entitled = 0;
    for (i, (account, _)) in subscriptions.iter().enumerate() {
        let stored = accounts
            .iter()
            .find(|a| a["accountId"] == account.as_str())
            .expect("the account");
        // Never told anything is "not entitled" (the orchestrator's default).
        let held = credentials
            .iter()
            .find(|c| c["accountId"] == account.as_str())
            .cloned()
            .unwrap_or(json!({"entitled": false, "tier": "free", "expiresAt": null}));
        assert_eq!(
            entitlement(&held),
            entitlement(&stored["desiredEntitlement"]),
            "{account} ({:?}): the orchestrator holds {held}, the account is {stored}",
            Story::of(i)
        );
        assert_eq!(
            stored["desiredEntitlement"]["entitled"],
            Story::of(i).ends_entitled(),
            "{account} ({:?}) ended {stored}",
            Story::of(i)
        );
        entitled += usize::from(Story::of(i).ends_entitled());
    }
    assert!(entitled > 0 && entitled < ACCOUNTS);
    let records = state["idempotency"].as_array().cloned().unwrap_or_default();
    assert!(
        records.iter().all(|r| r["status"] == "COMPLETED"),
        "every delivery completed: {records:?}"
    );
    assert!(
        events >= ACCOUNTS * 5,
        "whole lifecycles went out: {events} events"
    );
    println!(
        "{ACCOUNTS} accounts, {events} events, {} deliveries (each twice, all at once), {} pushes; sync: {sync}",
        events * 2,
        state["provisioningPushes"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_checkouts_at_once_for_one_account_make_one_sandbox_checkout_and_one_url() {
    // Arrange: one account's token, the request a double-clicking user sends.
    let local = start_local().await;
    let sandbox = sandbox_of(&local);
    let token = local.token("acct_double_click").await;

    // Act: twenty at once, over HTTP, through the real Polo client.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (http, url, token) = (
            local.http.clone(),
            format!("{}/api/billing/checkout", local.app),
            token.clone(),
        );
        tasks.spawn(async move {
            let response = http
                .post(url)
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(r#"{"planTier":"pro"}"#)
                .send()
                .await
                .expect("checkout");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.expect("json"))
        });
    }
    let mut urls = std::collections::BTreeSet::new();
    while let Some(done) = tasks.join_next().await {
        let (status, body) = done.unwrap();
        assert_eq!(status, 200, "{body}");
        urls.insert(body["url"].as_str().unwrap_or_default().to_owned());
    }

    // Assert: one checkout at Polo, the same URL to every request.
    let created = sandbox.with_state(|state, _| {
        state
            .checkouts
            .values()
            .filter(|c| c.external_customer_id.as_deref() == Some("acct_double_click"))
            .count()
    });
    assert_eq!(created, 1);
    assert_eq!(urls.len(), 1, "{urls:?}");
}
