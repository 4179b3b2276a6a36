//! The sandbox's checkout pages as a browser receives them, raw: a declined
//! card goes back to the return URL of the checkout that was declined (the
//! app's page for that account), on the hosted page and in the embedded
//! checkout; the embedded checkout is framed only by the checkout's
//! `embed_origin` and tells only that origin what happened.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use tools::sandbox::dispatcher::RetrySchedule;
use tools::sandbox::LOCAL_API_KEY;

async fn sandbox() -> String {
    let retry = RetrySchedule {
        first: Duration::from_millis(20),
        cap: Duration::from_millis(20),
        max_attempts: 1,
    };
    support::sandbox(None, retry, Duration::from_secs(1))
        .await
        .1
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

/// A checkout for `account` through the API, as the checkout function makes
/// it (its return URL names the account, as a dashboard's could).
async fn checkout(base: &str, account: &str, embed_origin: Option<&str>) -> Value {
    let mut body = json!({
        "products": ["prod_local_pro"],
        "external_customer_id": account,
        "metadata": {"accountId": account},
        "success_url": "http://127.0.0.1:9/billing?checkout_id={CHECKOUT_ID}",
        "return_url": format!("http://127.0.0.1:9/billing?account={account}"),
    });
    if let Some(origin) = embed_origin {
        body["embed_origin"] = json!(origin);
    }
    let response = http()
        .post(format!("{base}/v1/checkouts/"))
        .bearer_auth(LOCAL_API_KEY)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("create");
    assert_eq!(response.status().as_u16(), 201);
    response.json().await.expect("checkout json")
}

async fn post(url: &str) -> (u16, Option<String>, String) {
    let response = http()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=buyer%40example.com")
        .send()
        .await
        .expect("post");
    let csp = response
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (
        response.status().as_u16(),
        csp,
        response.text().await.expect("html"),
    )
}

async fn get(url: &str) -> (u16, Option<String>, String) {
    let response = http().get(url).send().await.expect("get");
    let csp = response
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (
        response.status().as_u16(),
        csp,
        response.text().await.expect("html"),
    )
}

async fn checkout_status(base: &str, id: &str) -> String {
    let c: Value = http()
        .get(format!("{base}/v1/checkouts/{id}"))
        .bearer_auth(LOCAL_API_KEY)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    c["status"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_card_on_the_hosted_page_links_back_to_the_return_url_of_that_checkout() {
    let base = sandbox().await;
    let first = checkout(&base, "acct_decline_a", None).await;
    let second = checkout(&base, "acct_decline_b", None).await;
    let url = second["url"].as_str().expect("url");
    let (status, _, html) = post(&format!("{url}/decline")).await;
    assert_eq!(status, 402);
    assert!(html.contains("Your card was declined. No charge was made."));
    assert!(
        html.contains(r#"<a href="http://127.0.0.1:9/billing?account=acct_decline_b" id="back">"#),
        "back to the account that started it: {html}"
    );
    assert!(!html.contains("acct_decline_a"), "{html}");
    let id = second["id"].as_str().expect("id");
    assert_eq!(checkout_status(&base, id).await, "failed");
    let untouched = first["id"].as_str().expect("id");
    assert_eq!(checkout_status(&base, untouched).await, "open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_checkout_is_framed_only_by_its_embed_origin_and_tells_only_it_it_was_paid() {
    let base = sandbox().await;
    let origin = "http://127.0.0.1:3000";
    let c = checkout(&base, "acct_embed", Some(origin)).await;
    let secret = c["client_secret"].as_str().expect("a client secret");
    let embed = format!("{base}/checkout/{secret}/embed");
    let (status, csp, html) = get(&embed).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(
        csp.as_deref(),
        Some("frame-ancestors http://127.0.0.1:3000")
    );
    assert!(html.contains(r#"id="pay""#) && html.contains("29.00 USD / month"));
    assert!(html.contains(r#""event":"loaded""#), "{html}");

    let (status, csp, html) = post(&format!("{embed}/pay")).await;
    assert_eq!(status, 200, "paid in the frame, no redirect: {html}");
    assert_eq!(
        csp.as_deref(),
        Some("frame-ancestors http://127.0.0.1:3000")
    );
    let id = c["id"].as_str().expect("id");
    assert!(
        html.contains(&format!(
            r#"parent.postMessage({{"checkoutId":"{id}","event":"success","type":"polo:checkout"}}, origin);"#
        )) && html.contains(r#"const origin = "http://127.0.0.1:3000";"#),
        "{html}"
    );
    assert_eq!(checkout_status(&base, id).await, "succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_card_in_the_embedded_checkout_says_so_and_offers_the_way_back() {
    let base = sandbox().await;
    let c = checkout(&base, "acct_embed_declined", Some("http://127.0.0.1:3000")).await;
    let secret = c["client_secret"].as_str().expect("a client secret");
    let (status, _, html) = post(&format!("{base}/checkout/{secret}/embed/decline")).await;
    assert_eq!(status, 402);
    assert!(html.contains("Your card was declined. No charge was made."));
    assert!(html.contains(r#""event":"declined""#) && html.contains("data-close"));
    assert_eq!(
        checkout_status(&base, c["id"].as_str().expect("id")).await,
        "failed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_made_for_a_redirect_cannot_be_embedded() {
    let base = sandbox().await;
    let c = checkout(&base, "acct_not_embedded", None).await;
    let secret = c["client_secret"].as_str().expect("a client secret");
    let embed = format!("{base}/checkout/{secret}/embed");
    for (status, csp, html) in [get(&embed).await, post(&format!("{embed}/pay")).await] {
        assert_eq!(status, 403, "{html}");
        assert_eq!(csp.as_deref(), Some("frame-ancestors 'none'"));
    }
    assert_eq!(
        checkout_status(&base, c["id"].as_str().expect("id")).await,
        "open",
        "nothing was paid"
    );
    let (status, _, _) = get(&format!("{base}/checkout/not-a-secret/embed")).await;
    assert_eq!(status, 403);
}
