//! The local server's hourly reconcile (run now by `POST /dev/reconcile`):
//! a subscription cancelled at period end runs out while the sandbox holds
//! every webhook back, and the reconcile alone ends the access.

mod support;

use serde_json::{json, Value};
use support::start_local;

const ACCOUNT: &str = "acct_e2e_reconcile";

async fn reconcile(local: &support::Local, query: &str) -> (u16, Value) {
    let answer = local
        .http
        .post(format!("{}/dev/reconcile{query}", local.app))
        .send()
        .await
        .expect("reconcile");
    let status = answer.status().as_u16();
    (status, answer.json().await.expect("json"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_period_that_ends_with_every_webhook_held_back_is_ended_by_the_hourly_reconcile() {
    // Arrange: pro bought, then cancelled at period end — delivered.
    let local = start_local().await;
    let token = local.token(ACCOUNT).await;
    local.buy(&token, "pro").await;
    let (code, portal) = local.api("POST", "/api/billing/portal", &token, None).await;
    assert_eq!(code, 200, "{portal}");
    let (code, _) = local
        .portal_action(portal["url"].as_str().unwrap(), "cancel")
        .await;
    assert_eq!(code, 303);
    local.settle().await;
    // The period ends, but Polo's webhooks never arrive.
    local.admin("/admin/webhooks/hold", json!({})).await;
    local
        .admin("/admin/clock/advance", json!({"by": "33d"}))
        .await;
    local.settle().await;
    assert_eq!(local.credentials(ACCOUNT).await["entitled"], true);
    let (_, nothing_due) = reconcile(&local, "?account=acct_local_2").await;
    assert_eq!(nothing_due["changed"], 0);

    // Act: the hourly run.
    let (status, report) = reconcile(&local, "").await;

    // Assert: only this account was due, and its access ended.
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        report,
        json!({"accounts": 1, "changed": 1, "failed": [], "backlog": false})
    );
    let ended = local.status(&token).await;
    assert_eq!(
        (
            ended["billingStatus"].clone(),
            ended["planTier"].clone(),
            ended["entitled"].clone()
        ),
        (json!("canceled"), json!("free"), json!(false))
    );
    assert_eq!(local.credentials(ACCOUNT).await["entitled"], false);
    let (again, _) = reconcile(&local, "").await;
    assert_eq!(again, 200);
    let (refused, body) = reconcile(&local, "?account=not%20an%20id").await;
    assert_eq!(
        (refused, body["error"].as_str()),
        (400, Some("account: not an account id"))
    );
}
