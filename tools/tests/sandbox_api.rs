//! The sandbox's `/v1` API as the project's real `PoloClient` sees it, and
//! raw: every endpoint polo-api.md lists, Polo's error shapes, the API key,
//! `x-request-id` on every answer, `Idempotency-Key`, and armed faults.

mod support;

use billing::domain::{AccountId, CheckoutId, PlanTier, ProductId};
use billing::http::{RetryPolicy, SecureHttp};
use billing::polo::client::PoloClient;
use billing::polo::ports::{
    BillingApi, CheckoutState, NewCheckout, Proration, SubscriptionChange, TrialOffer,
};
use billing::polo::ports::{PoloError, SubscriptionLookup};
use billing::secrets::{CachedSecretSource, InMemorySecretSource, SecretId};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tools::sandbox::dispatcher::RetrySchedule;
use tools::sandbox::LOCAL_API_KEY;

fn client(base: &str) -> PoloClient {
    let secrets = Arc::new(InMemorySecretSource::default());
    secrets.set(SecretId::PoloApiKey, LOCAL_API_KEY);
    let cached = Arc::new(CachedSecretSource::new(
        secrets,
        Arc::new(billing::clock::SystemClock),
    ));
    let http = SecureHttp::new(true, RetryPolicy::default()).unwrap();
    PoloClient::new(http, url::Url::parse(base).unwrap(), cached)
}

fn soon(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::now_utc() + time::Duration::seconds(seconds)
}

async fn sandbox(hang: Duration) -> String {
    let retry = RetrySchedule {
        first: Duration::from_millis(20),
        cap: Duration::from_millis(20),
        max_attempts: 1,
    };
    support::sandbox(None, retry, hang).await.1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_polo_client_drives_every_endpoint_the_project_uses() {
    let base = sandbox(Duration::from_secs(1)).await;
    let polo = client(&base);
    let account = AccountId::parse("acct_api").unwrap();
    let new = NewCheckout {
        account: account.clone(),
        tier: PlanTier::Pro,
        product: ProductId::parse("prod_local_pro").unwrap(),
        success_url: "http://127.0.0.1:3000/billing?checkout_id={CHECKOUT_ID}".into(),
        return_url: "http://127.0.0.1:3000/billing".into(),
        embed_origin: None,
        trial: TrialOffer::Days(10),
        idempotency_key: "chk-key-sandbox-api".into(),
    };
    let created = polo.create_checkout(&new, soon(5)).await.unwrap();
    assert_eq!(created.state, CheckoutState::Open);
    assert!(created.url.starts_with(&base), "{}", created.url);
    assert_eq!(created.account.as_ref(), Some(&account));
    assert!(polo
        .customer_for_account(&account, soon(5))
        .await
        .unwrap()
        .is_none());

    let paid = support::buy_existing(&base, &created.url).await;
    assert_eq!(paid, 303);
    let checkout = polo.get_checkout(&created.id, soon(5)).await.unwrap();
    assert_eq!(checkout.state, CheckoutState::Succeeded);
    let subscription_id = checkout
        .subscription
        .expect("a subscription once succeeded");
    let subscription = polo
        .get_subscription(&subscription_id, soon(5))
        .await
        .unwrap();
    // Polo's subscription leaves the polo module opaque; its fields are
    // read here in Polo's own JSON form.
    let seen = serde_json::to_value(&subscription).unwrap();
    assert_eq!(seen["status"], "trialing", "a trial was asked for");
    assert_eq!(seen["customer"]["external_id"], "acct_api");
    assert_eq!(seen["metadata"]["accountId"], json!("acct_api"));
    assert!(!seen["trial_end"].is_null() && seen["modified_at"].is_null());

    let page = polo.list_subscriptions(&account, 1, soon(5)).await.unwrap();
    assert_eq!((page.items.len(), page.max_page), (1, 1));
    let upgrade = SubscriptionChange::Product {
        product: ProductId::parse("prod_local_enterprise").unwrap(),
        proration: Proration::ChargeNow,
    };
    let changed = polo
        .update_subscription(&subscription_id, &upgrade, soon(5))
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&changed).unwrap()["product_id"],
        "prod_local_enterprise"
    );
    assert!(changed.watermark() > subscription.watermark());
    let canceled = polo
        .update_subscription(
            &subscription_id,
            &SubscriptionChange::CancelAtPeriodEnd(true),
            soon(5),
        )
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&canceled).unwrap()["cancel_at_period_end"],
        true
    );
    let portal = polo
        .create_portal_session(&account, "http://127.0.0.1:3000/billing", soon(5))
        .await
        .unwrap();
    assert!(portal
        .url
        .starts_with(&format!("{base}/portal?customer_session_token=")));

    let customer = polo
        .customer_for_account(&account, soon(5))
        .await
        .unwrap()
        .expect("created at Pay");
    let same = polo
        .ensure_customer(&account, "x@example.com", soon(5))
        .await
        .unwrap();
    assert_eq!(same.id, customer.id, "no second customer");
    let other = AccountId::parse("acct_api_other").unwrap();
    let made = polo
        .ensure_customer(&other, "o@example.com", soon(5))
        .await
        .unwrap();
    assert_eq!(made.account, Some(other));
    let products = polo.list_products(soon(5)).await.unwrap();
    assert_eq!(products.len(), 4);
    assert_eq!(products.iter().filter(|p| p.archived).count(), 1);
    let missing = polo
        .get_checkout(&CheckoutId::parse("nope").unwrap(), soon(5))
        .await;
    assert!(matches!(missing, Err(PoloError::NotFound)));
}

async fn raw(
    method: reqwest::Method,
    url: String,
    key: Option<&str>,
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    let text = response.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_take_polos_shape_and_every_answer_carries_a_request_id() {
    let base = sandbox(Duration::from_secs(1)).await;
    let get = reqwest::Method::GET;
    let post = reqwest::Method::POST;
    let (status, headers, body) = raw(
        get.clone(),
        format!("{base}/v1/subscriptions/x"),
        None,
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"].clone()),
        (401, json!("Unauthorized"))
    );
    assert!(headers.contains_key("x-request-id"));
    let (status, _, body) = raw(
        get.clone(),
        format!("{base}/v1/subscriptions/x"),
        Some("wrong"),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"].clone()),
        (401, json!("Unauthorized"))
    );
    let (status, _, body) = raw(
        get.clone(),
        format!("{base}/v1/subscriptions/x"),
        Some(LOCAL_API_KEY),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"].clone()),
        (404, json!("ResourceNotFound"))
    );
    let (status, _, body) = raw(
        post.clone(),
        format!("{base}/v1/checkouts/"),
        Some(LOCAL_API_KEY),
        Some(json!({"products": ["prod_local_pro"], "colour": "red"})),
    )
    .await;
    assert_eq!(
        (status, body["error"].clone()),
        (422, json!("RequestValidationError"))
    );
    assert_eq!(body["detail"][0]["loc"][0], "body");
    let (status, _, body) = raw(
        post.clone(),
        format!("{base}/v1/checkouts/"),
        Some(LOCAL_API_KEY),
        Some(json!({"products": ["prod_local_pro_2025"]})),
    )
    .await;
    assert_eq!(
        (status, body["detail"][0]["loc"].clone()),
        (422, json!(["body", "products"]))
    );
    let many: serde_json::Map<String, Value> =
        (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
    let (status, _, _) = raw(
        post.clone(),
        format!("{base}/v1/checkouts/"),
        Some(LOCAL_API_KEY),
        Some(json!({"products": ["prod_local_pro"], "metadata": many})),
    )
    .await;
    assert_eq!(status, 422, "more than 50 metadata keys");
    let customer = json!({"external_id": "acct_dup", "email": "d@example.com"});
    let (status, _, _) = raw(
        post.clone(),
        format!("{base}/v1/customers/"),
        Some(LOCAL_API_KEY),
        Some(customer.clone()),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _, body) = raw(
        post.clone(),
        format!("{base}/v1/customers/"),
        Some(LOCAL_API_KEY),
        Some(customer),
    )
    .await;
    assert_eq!(
        (status, body["error"].clone()),
        (409, json!("AlreadyExists"))
    );
    let (status, _, body) = raw(
        reqwest::Method::PATCH,
        format!("{base}/v1/subscriptions/x"),
        Some(LOCAL_API_KEY),
        Some(json!({"cancel_at_period_end": true, "revoke": true})),
    )
    .await;
    assert_eq!(
        (status, body["error"].clone()),
        (422, json!("RequestValidationError"))
    );
    for path in ["/checkout/nope", "/portal", "/admin/clock", "/nothing"] {
        let (_, headers, _) = raw(get.clone(), format!("{base}{path}"), None, None).await;
        assert!(headers.contains_key("x-request-id"), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_retried_with_the_same_idempotency_key_creates_one_checkout() {
    let base = sandbox(Duration::from_secs(1)).await;
    let http = reqwest::Client::new();
    let create = |key: &'static str| {
        http.post(format!("{base}/v1/checkouts/"))
            .bearer_auth(LOCAL_API_KEY)
            .header("idempotency-key", key)
            .header("content-type", "application/json")
            .body(
                json!({"products": ["prod_local_pro"], "external_customer_id": "acct_idem"})
                    .to_string(),
            )
            .send()
    };
    let first: Value = create("k-1").await.unwrap().json().await.unwrap();
    let again: Value = create("k-1").await.unwrap().json().await.unwrap();
    let other: Value = create("k-2").await.unwrap().json().await.unwrap();
    assert_eq!(first["id"], again["id"]);
    assert_ne!(first["id"], other["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn armed_faults_answer_429_with_retry_after_then_503_then_hang() {
    let base = sandbox(Duration::from_millis(400)).await;
    let arm = |kind: &str, count: usize| {
        reqwest::Client::new()
            .post(format!("{base}/admin/faults"))
            .body(json!({"kind": kind, "count": count, "retry_after": 7}).to_string())
            .send()
    };
    arm("429", 1).await.unwrap();
    arm("503", 1).await.unwrap();
    arm("hang", 1).await.unwrap();
    let url = || format!("{base}/v1/products/");
    let (status, headers, body) = raw(reqwest::Method::GET, url(), Some(LOCAL_API_KEY), None).await;
    assert_eq!(
        (status, body["error"].clone()),
        (429, json!("TooManyRequests"))
    );
    assert_eq!(
        headers.get("retry-after").and_then(|v| v.to_str().ok()),
        Some("7")
    );
    let (status, _, body) = raw(reqwest::Method::GET, url(), Some(LOCAL_API_KEY), None).await;
    assert_eq!(
        (status, body["error"].clone()),
        (503, json!("ServiceUnavailable"))
    );
    let started = Instant::now();
    let (status, _, _) = raw(reqwest::Method::GET, url(), Some(LOCAL_API_KEY), None).await;
    assert!(started.elapsed() >= Duration::from_millis(400) && status == 503);
    let (status, _, _) = raw(reqwest::Method::GET, url(), Some(LOCAL_API_KEY), None).await;
    assert_eq!(status, 200, "faults are used up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_rides_out_rate_limits_and_gives_up_on_a_hang_within_its_deadline() {
    let base = sandbox(Duration::from_secs(20)).await;
    let polo = client(&base);
    let admin = |body: Value| {
        reqwest::Client::new()
            .post(format!("{base}/admin/faults"))
            .body(body.to_string())
            .send()
    };
    admin(json!({"kind": "429", "count": 2, "retry_after": 1}))
        .await
        .unwrap();
    let started = Instant::now();
    let products = polo.list_products(soon(6)).await.unwrap();
    assert_eq!(products.len(), 4);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "Retry-After honoured twice"
    );
    admin(json!({"kind": "hang", "count": 3})).await.unwrap();
    let started = Instant::now();
    let hung = polo.list_products(soon(2)).await;
    assert!(matches!(hung, Err(PoloError::Unavailable(_))), "{hung:?}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "bounded by the deadline"
    );
}
