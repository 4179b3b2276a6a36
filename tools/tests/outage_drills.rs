//! An outage drill on the local stack (issue 22 item 4), on the sandbox's
//! clock: the provisioning orchestrator is down for an hour of domain time
//! while subscriptions renew, fail their renewal and end. No webhook is
//! refused; the credentials fall behind (the dangerous part: failed and
//! ended customers still hold them); when the orchestrator returns, one
//! `provisioning-sync` run brings every account's credentials to what the
//! account says.

mod support;

use serde_json::{json, Value};
use std::sync::Arc;
use support::{start_local, subscription_of};
use time::Duration;
use tools::sandbox::Sandbox;

const ACCOUNTS: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Story {
    Renews,
    RenewalFails,
    EndsAtPeriodEnd,
}

fn story(i: usize) -> Story {
    [Story::Renews, Story::RenewalFails, Story::EndsAtPeriodEnd][i % 3]
}

fn entitlement(v: &Value) -> Value {
    json!([v["entitled"], v["tier"], v["expiresAt"]])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hour_without_the_orchestrator_refuses_no_webhook_and_one_sync_converges_every_account()
{
    // Arrange: six paying customers; two will renew, two fail the renewal,
    // two cancelled at period end.
    let local = start_local().await;
    let running = local.running.as_ref().expect("in-process");
    let sandbox: Arc<Sandbox> = running.sandbox.clone().expect("the sandbox");
    let orchestrator = running
        .stack
        .memory
        .orchestrator
        .clone()
        .expect("the embedded orchestrator");
    let mut accounts = Vec::new();
    for i in 0..ACCOUNTS {
        let account = format!("acct_drill_{i}");
        let token = local.token(&account).await;
        local.buy(&token, "pro").await;
        accounts.push((account.clone(), subscription_of(&sandbox, &account)));
    }
    local.settle().await;
    for (i, (_, sub)) in accounts.iter().enumerate() {
        match story(i) {
            Story::RenewalFails => {
                local
                    .admin("/admin/renewals/fail-next", json!({"subscription_id": sub}))
                    .await;
            }
            Story::EndsAtPeriodEnd => sandbox
                .transition(|state, now| Ok(((), state.set_cancel_at_period_end(sub, true, now)?)))
                .expect("cancel at period end"),
            Story::Renews => {}
        }
    }
    local.settle().await;
    let period_end = sandbox.with_state(|state, _| {
        state
            .subscriptions
            .values()
            .filter_map(|s| s.current_period_end)
            .min()
            .expect("a period end")
    });
    let until_outage = period_end - sandbox.now() - Duration::minutes(30);
    local
        .admin(
            "/admin/clock/advance",
            json!({"by": format!("{}s", until_outage.whole_seconds())}),
        )
        .await;
    local.settle().await;

    // Act: the orchestrator is down for an hour of domain time, across
    // every period end; then it returns and provisioning-sync runs once.
    orchestrator.set_failing(true);
    let outage_started = sandbox.now();
    for _ in 0..6 {
        local
            .admin("/admin/clock/advance", json!({"by": "10m"}))
            .await;
        local.settle().await;
    }
    let outage = sandbox.now() - outage_started;
    let state = local.dev_state().await;
    let behind = accounts
        .iter()
        .filter(|(account, _)| {
            let stored = state["accounts"]
                .as_array()
                .and_then(|a| a.iter().find(|x| x["accountId"] == account.as_str()))
                .cloned()
                .unwrap_or(Value::Null);
            let held = state["credentials"]
                .as_array()
                .and_then(|a| a.iter().find(|x| x["accountId"] == account.as_str()))
                .cloned()
                .unwrap_or(Value::Null);
            entitlement(&held) != entitlement(&stored["desiredEntitlement"])
        })
        .count();
    orchestrator.set_failing(false);
    let sync = local
        .http
        .post(format!("{}/dev/sync", local.app))
        .send()
        .await
        .expect("sync");
    assert_eq!(sync.status(), 200);
    let sync: Value = sync.json().await.expect("a report");
    assert_eq!(
        (&sync["mismatched"], &sync["notPushed"], &sync["outOfTime"]),
        (&json!(ACCOUNTS), &json!(0), &json!(false)),
        "one run pushed every account: {sync}"
    );

    // Assert: every delivery was accepted, and after one sync the
    // orchestrator holds what each account says.
    let events = local.admin_get("/admin/events").await;
    let attempts: Vec<Value> = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .flat_map(|e| e["attempts"].as_array().cloned().unwrap_or_default())
        .collect();
    assert!(
        attempts.iter().all(|a| a["status"] == 200),
        "no webhook refused: {attempts:?}"
    );
    // Every account fell behind: the renewed ones' credentials still
    // expire at the old period end, and the failed and ended customers
    // still hold theirs.
    assert_eq!(
        behind, ACCOUNTS,
        "every account's push waited for the orchestrator"
    );
    let state = local.dev_state().await;
    for (i, (account, _)) in accounts.iter().enumerate() {
        let stored = state["accounts"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["accountId"] == account.as_str()))
            .cloned()
            .expect("the account");
        let held = state["credentials"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["accountId"] == account.as_str()))
            .cloned()
            .expect("credentials were pushed once");
        assert_eq!(
            entitlement(&held),
            entitlement(&stored["desiredEntitlement"]),
            "{account} ({:?})",
            story(i)
        );
        assert_eq!(
            stored["desiredEntitlement"]["entitled"],
            story(i) == Story::Renews,
            "{account} ({:?}): {stored}",
            story(i)
        );
    }
    println!(
        "orchestrator down {} domain minutes; {} deliveries, none refused; {behind} accounts behind when it returned; one sync: {sync}",
        outage.whole_minutes(),
        attempts.len()
    );
}
