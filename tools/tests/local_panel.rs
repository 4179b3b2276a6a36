//! The billing panel's page over plain HTTP (its browser walk is
//! `browser_panel.rs`): who it signs in as — `?account=`, the owner of
//! `?checkout_id=`, the account this browser last used (its cookie), so
//! Polo's return links land on the account that left — and a PayPal legacy
//! sign-up.

mod support;

const COOKIE: &str = "local_billing_account";

async fn panel(local: &support::Local, query: &str, cookie: Option<&str>) -> (String, String) {
    let mut request = local.http.get(format!("{}/billing{query}", local.app));
    if let Some(account) = cookie {
        request = request.header("cookie", format!("theme=dark; {COOKIE}={account}"));
    }
    let response = request.send().await.expect("the panel");
    assert_eq!(response.status().as_u16(), 200);
    let set = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let html = response.text().await.expect("html");
    let shown = html
        .split("<strong id=\"account\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_default()
        .to_owned();
    assert!(
        set.starts_with(&format!("{COOKIE}={shown};")),
        "the page remembers who it showed: {set}"
    );
    (shown, html)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_panel_signs_in_as_the_account_asked_for_then_the_checkouts_owner_then_the_last_one_used(
) {
    let local = support::start_local().await;
    let (default, html) = panel(&local, "", None).await;
    assert_eq!(default, "acct_local_1");
    assert!(html.contains(r#"<script src="/billing/panel.js">"#));
    assert!(
        !html.contains("PayPal"),
        "the page itself never names PayPal"
    );
    assert_eq!(
        panel(&local, "?account=acct_panel_http", None).await.0,
        "acct_panel_http"
    );
    assert_eq!(
        panel(&local, "", Some("acct_panel_http")).await.0,
        "acct_panel_http",
        "a return link without a query lands on the last account"
    );
    let owner = local.token("acct_panel_owner").await;
    let checkout = local.checkout(&owner, "pro").await;
    let id = checkout["checkoutId"].as_str().expect("an id");
    assert_eq!(
        panel(
            &local,
            &format!("?checkout_id={id}"),
            Some("acct_panel_http")
        )
        .await
        .0,
        "acct_panel_owner",
        "the success URL signs in as the checkout's account"
    );
    assert_eq!(
        panel(&local, "", Some("not an account")).await.0,
        "acct_local_1"
    );

    let script = local
        .http
        .get(format!("{}/billing/panel.js", local.app))
        .send()
        .await
        .expect("the script");
    assert_eq!(
        script
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/javascript; charset=utf-8")
    );
    assert!(script
        .text()
        .await
        .expect("js")
        .contains("/api/billing/status"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paypal_sign_up_is_billed_by_paypal_until_its_paid_period_ends() {
    let local = support::start_local().await;
    panel(&local, "?account=acct_panel_pp&paypal=enterprise", None).await;
    let token = local.token("acct_panel_pp").await;
    let status = local.status(&token).await;
    assert_eq!(status["provider"], "paypal");
    assert_eq!(status["planTier"], "enterprise");
    assert_eq!(status["entitled"], true);
    let (code, portal) = local.api("POST", "/api/billing/portal", &token, None).await;
    assert_eq!(
        (code, portal["code"].as_str()),
        (200, Some("provider_paypal"))
    );
    // Asked again, an existing account is left as it is.
    panel(&local, "?account=acct_panel_pp&paypal=starter", None).await;
    assert_eq!(local.status(&token).await["planTier"], "enterprise");
}
