//! The "try it" walkthrough the local server prints, with a ready token.

use super::assemble::Running;
use super::pages::TOKEN_LIFETIME;

pub fn text(running: &Running) -> String {
    render(
        &running.app_url,
        &running.adapters,
        running.sandbox.as_ref().map(|s| s.public_url()),
        &running.stack.jwt,
    )
}

/// The walkthrough for a server at `app` (printed at start, and again by
/// `GET /dev/walkthrough`), with a fresh dev token.
pub fn render(
    app: &str,
    adapters: &[(&'static str, String)],
    sandbox: Option<&str>,
    jwt: &super::jwt::DevJwt,
) -> String {
    let token = jwt.issue(super::LOCAL_ACCOUNTS[0], TOKEN_LIFETIME);
    let mut out = format!("\nPolo billing — the whole system on loopback\n\n  app + API    {app}   (API Gateway played locally: dashboard + webhook routes)\n");
    for (port, adapter) in adapters {
        out.push_str(&format!("  {port:<12} {adapter}\n"));
    }
    out.push_str(&format!(
        "  walkthrough  curl -s {app}/dev/walkthrough   (prints this again)\n"
    ));
    let Some(sb) = sandbox else {
        out.push_str(&format!(
            "\n  A dev token for acct_local_1 (12 h):\n    export TOKEN={token}\n\
             \n  Try it:\n    curl -s -X POST {app}/api/billing/checkout -H \"authorization: Bearer $TOKEN\" -H 'content-type: application/json' -d '{{\"planTier\":\"pro\"}}'\n"
        ));
        return out;
    };
    let cli = "cargo run -q -p tools --bin polo-sandbox --";
    out.push_str(&format!(
        r#"
Try it (another terminal). A dev token for acct_local_1, valid 12 h (more: curl '{app}/dev/token?sub=acct_new'):
  export TOKEN={token}
  export POLO_SANDBOX_URL={sb}

  1. Start a checkout (the dashboard's "Subscribe" button):
       curl -s -X POST {app}/api/billing/checkout -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{{"planTier":"pro"}}'
     -> {{"ok":true,"url":"{sb}/checkout/polo_c_...","checkoutId":"...",...}}
  2. Open that url in a browser and click Pay. You land on {app}/billing?checkout_id=...,
     which calls status: plan pro, status active, entitled true.
     Or do it all in the billing panel, {app}/billing: Subscribe (Polo's page, or "Pay here"
     in a modal), Upgrade/Downgrade, Manage billing. ?account=acct_x signs in as another account.
  3. Credentials issued: {app}/dev/credentials shows acct_local_1 "issued".
  4. A failed renewal, a month later:
       {cli} fail-renewal
       {cli} advance 31d
       curl -s {app}/api/billing/status -H "authorization: Bearer $TOKEN"
     -> billingStatus past_due, entitled false; /dev/credentials shows "revoked".
  5. Pay it and cancel, in Polo's portal:
       curl -s -X POST {app}/api/billing/portal -H "authorization: Bearer $TOKEN"
     open its url: "Pay now" (active again, credentials issued), then "Cancel at period end".
  6. The period ends:
       {cli} advance 31d
     -> status canceled, plan free, credentials revoked.
  7. Replays change nothing:
       {cli} events                                   # every event and its deliveries
       {cli} redeliver <event-id>                      # the same webhook-id again: duplicate
       {cli} deliver <id3> <id2> <id1> --fresh-id      # old states, new ids, reversed: stale
       curl -s {app}/dev/state                         # accounts, credentials, idempotency records
  Faults for retry drills: {cli} fault 429 --count 2 --retry-after 1   (or 503, hang)
"#
    ));
    out
}
