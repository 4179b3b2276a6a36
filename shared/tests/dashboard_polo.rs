//! The Polo billing client against wiremock — the exact method, path,
//! headers and body of every call, and Polo's errors mapped to `PoloError` —
//! and the dashboard handlers over that real client: retries that make one
//! checkout, and a slow Polo answered inside the Lambda timeout.

mod support;

use billing::config::BillingProvider;
use billing::dashboard::Route;
use billing::domain::{AccountId, CheckoutId, PlanTier, ProductId, SubscriptionId};
use billing::polo::client::PoloClient;
use billing::polo::ports::PoloError;
use billing::polo::ports::{
    BillingApi, CheckoutState, NewCheckout, Proration, SubscriptionChange, TrialOffer,
};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration as StdDuration;
use support::dashboard::{call, dashboard, settings};
use support::polo::API_KEY;
use support::system::{System, ACCOUNT};
use time::{Duration, OffsetDateTime};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(server: &MockServer) -> PoloClient {
    support::polo::client(&server.uri())
}

fn deadline() -> OffsetDateTime {
    OffsetDateTime::now_utc() + Duration::seconds(5)
}

fn account() -> AccountId {
    AccountId::parse(ACCOUNT).unwrap()
}

fn checkout_json(id: &str, status: &str) -> Value {
    json!({
        "id": id,
        "url": format!("https://sandbox.polo.example/checkout/{id}"),
        "client_secret": "polo_cs_secret_e1b2",
        "status": status,
        "expires_at": "2026-11-26T10:00:00Z",
        "customer_id": null,
        "external_customer_id": ACCOUNT,
        "product_id": "prod_pro_monthly",
        "subscription_id": if status == "succeeded" { json!("sub_1") } else { Value::Null },
        "metadata": {"accountId": ACCOUNT, "planTier": "pro"},
        "embed_origin": null
    })
}

fn new_checkout(trial: TrialOffer) -> NewCheckout {
    NewCheckout {
        account: account(),
        tier: PlanTier::Pro,
        product: ProductId::parse("prod_pro_monthly").unwrap(),
        success_url: "https://app.example.com/billing?checkout_id={CHECKOUT_ID}".into(),
        return_url: "https://app.example.com/billing".into(),
        embed_origin: None,
        trial,
        idempotency_key: "chk-key-test".into(),
    }
}

/// The headers every Polo call carries.
fn authorised(builder: wiremock::MockBuilder) -> wiremock::MockBuilder {
    builder
        .and(header(
            "authorization",
            format!("Bearer {API_KEY}").as_str(),
        ))
        .and(header("accept", "application/json"))
}

#[tokio::test]
async fn create_checkout_posts_exactly_the_documented_body() {
    let server = MockServer::start().await;
    authorised(Mock::given(method("POST")).and(path("/v1/checkouts/")))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "products": ["prod_pro_monthly"],
            "metadata": {"accountId": ACCOUNT, "planTier": "pro"},
            "external_customer_id": ACCOUNT,
            "success_url": "https://app.example.com/billing?checkout_id={CHECKOUT_ID}",
            "return_url": "https://app.example.com/billing",
            "allow_trial": true,
            "trial_interval": "day",
            "trial_interval_count": 14
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(checkout_json("chk_1", "open")))
        .expect(1)
        .mount(&server)
        .await;

    let created = client(&server)
        .create_checkout(&new_checkout(TrialOffer::Days(14)), deadline())
        .await
        .unwrap();

    assert_eq!(created.id.as_str(), "chk_1");
    assert_eq!(created.state, CheckoutState::Open);
    assert_eq!(created.account, Some(account()));
    let requests = server.received_requests().await.unwrap();
    assert!(requests[0].headers.get("idempotency-key").is_some());
}

#[tokio::test]
async fn get_checkout_percent_encodes_the_id_into_one_path_segment() {
    let server = MockServer::start().await;
    authorised(Mock::given(method("GET")).and(path("/v1/checkouts/chk%3C1%3E")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(checkout_json("chk<1>", "succeeded")),
        )
        .expect(1)
        .mount(&server)
        .await;

    let found = client(&server)
        .get_checkout(&CheckoutId::parse("chk<1>").unwrap(), deadline())
        .await
        .unwrap();

    assert_eq!(found.state, CheckoutState::Succeeded);
    assert_eq!(found.subscription.unwrap().as_str(), "sub_1");
}

#[tokio::test]
async fn a_customer_session_is_created_for_the_external_customer_and_its_token_dropped() {
    let server = MockServer::start().await;
    authorised(Mock::given(method("POST")).and(path("/v1/customer-sessions/")))
        .and(body_json(json!({
            "external_customer_id": ACCOUNT,
            "return_url": "https://app.example.com/billing"
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": "cs_1",
            "token": "polo_cst_token_9d8c",
            "expires_at": "2026-11-26T10:00:00Z",
            "customer_portal_url": "https://sandbox.polo.example/portal?token=polo_cst_token_9d8c",
            "customer_id": "cus_1"
        })))
        .expect(1)
        .mount(&server)
        .await;

    let session = client(&server)
        .create_portal_session(&account(), "https://app.example.com/billing", deadline())
        .await
        .unwrap();

    assert!(session
        .url
        .starts_with("https://sandbox.polo.example/portal"));
}

#[tokio::test]
async fn subscriptions_are_listed_by_external_customer_id_page_and_limit() {
    let server = MockServer::start().await;
    authorised(Mock::given(method("GET")).and(path("/v1/subscriptions/")))
        .and(query_param("external_customer_id", ACCOUNT))
        .and(query_param("page", "2"))
        .and(query_param("limit", "100"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "items": [support::polo::subscription("sub_1", "active", ACCOUNT)],
            "pagination": {"total_count": 101, "max_page": 2}
        })))
        .expect(1)
        .mount(&server)
        .await;

    let page = client(&server)
        .list_subscriptions(&account(), 2, deadline())
        .await
        .unwrap();

    assert_eq!(page.items.len(), 1);
    assert_eq!(page.max_page, 2);
}

#[tokio::test]
async fn a_subscription_update_patches_exactly_one_change() {
    let server = MockServer::start().await;
    authorised(Mock::given(method("PATCH")).and(path("/v1/subscriptions/sub_1")))
        .and(body_json(
            json!({"product_id": "prod_starter", "proration_behavior": "prorate"}),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(support::polo::subscription("sub_1", "active", ACCOUNT)),
        )
        .expect(1)
        .mount(&server)
        .await;
    authorised(Mock::given(method("PATCH")).and(path("/v1/subscriptions/sub_1")))
        .and(body_json(json!({"cancel_at_period_end": true})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(support::polo::subscription("sub_1", "active", ACCOUNT)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let polo = client(&server);
    let id = SubscriptionId::parse("sub_1").unwrap();

    let change = SubscriptionChange::Product {
        product: ProductId::parse("prod_starter").unwrap(),
        proration: Proration::NextInvoice,
    };
    polo.update_subscription(&id, &change, deadline())
        .await
        .unwrap();
    polo.update_subscription(
        &id,
        &SubscriptionChange::CancelAtPeriodEnd(true),
        deadline(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn ensure_customer_looks_up_first_and_treats_a_409_as_already_created() {
    let server = MockServer::start().await;
    let lookup = format!("/v1/customers/external/{ACCOUNT}");
    // First lookup: none yet. The create races another request and loses
    // (409); the second lookup finds the winner's customer.
    authorised(Mock::given(method("GET")).and(path(lookup.as_str())))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": "ResourceNotFound", "detail": "Not found"})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    authorised(Mock::given(method("POST")).and(path("/v1/customers/")))
        .and(body_json(json!({
            "external_id": ACCOUNT,
            "email": "ada@example.com",
            "metadata": {"accountId": ACCOUNT}
        })))
        .respond_with(
            ResponseTemplate::new(409)
                .set_body_json(json!({"error": "Conflict", "detail": "exists"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    authorised(Mock::given(method("GET")).and(path(lookup.as_str())))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "cus_1", "external_id": ACCOUNT, "email": "ada@example.com"
        })))
        .mount(&server)
        .await;

    let customer = client(&server)
        .ensure_customer(&account(), "ada@example.com", deadline())
        .await
        .unwrap();

    assert_eq!(customer.id.as_str(), "cus_1");
    assert_eq!(customer.account, Some(account()));
}

#[tokio::test]
async fn products_are_listed_across_every_page() {
    let server = MockServer::start().await;
    for (page, id) in [("1", "prod_a"), ("2", "prod_b")] {
        authorised(Mock::given(method("GET")).and(path("/v1/products/")))
            .and(query_param("is_recurring", "true"))
            .and(query_param("page", page))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "items": [{"id": id, "name": id, "is_recurring": true, "is_archived": false,
                           "recurring_interval": "month"}],
                "pagination": {"total_count": 2, "max_page": 2}
            })))
            .expect(1)
            .mount(&server)
            .await;
    }

    let products = client(&server).list_products(deadline()).await.unwrap();

    let ids: Vec<&str> = products.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["prod_a", "prod_b"]);
}

#[tokio::test]
async fn polo_errors_map_to_typed_errors_with_the_validation_detail() {
    let cases: [(u16, Value); 5] = [
        (401, json!({"error": "Unauthorized", "detail": "bad key"})),
        (
            404,
            json!({"error": "ResourceNotFound", "detail": "Not found"}),
        ),
        (409, json!({"error": "Conflict", "detail": "busy"})),
        (
            422,
            json!({"error": "RequestValidationError", "detail": [{"loc": ["body", "products"], "msg": "required"}]}),
        ),
        (
            400,
            json!({"error": "BadRequest", "detail": "success_url: invalid"}),
        ),
    ];
    for (status, body) in cases {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .expect(1)
            .mount(&server)
            .await;
        let err = client(&server)
            .get_checkout(&CheckoutId::parse("chk_1").unwrap(), deadline())
            .await
            .unwrap_err();
        match (status, err) {
            (401, PoloError::Auth) | (404, PoloError::NotFound) | (409, PoloError::Conflict) => {}
            (422, PoloError::Validation(detail)) => assert!(detail.contains("products")),
            (400, PoloError::Validation(detail)) => assert_eq!(detail, "success_url: invalid"),
            (status, err) => panic!("{status} mapped to {err:?}"),
        }
    }
}

#[tokio::test]
async fn polo_answering_503_twice_then_201_makes_one_checkout_in_three_attempts_with_one_key() {
    let (logs, _guard) = support::logs::capture();
    let server = MockServer::start().await;
    // Checkout first asks Polo for subscriptions that have not ended: none.
    Mock::given(method("GET"))
        .and(path("/v1/subscriptions/"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"items": [], "pagination": {"total_count": 0, "max_page": 1}}),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/checkouts/"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/checkouts/"))
        .respond_with(ResponseTemplate::new(201).set_body_json(checkout_json("chk_1", "open")))
        .mount(&server)
        .await;
    let system = System::new(OffsetDateTime::now_utc());
    let d = dashboard(
        &system,
        Arc::new(client(&server)),
        settings(BillingProvider::Polo),
    );

    let (status, body) = call(
        &d,
        Route::Checkout,
        Some(ACCOUNT),
        "",
        Some(r#"{"planTier":"pro"}"#),
    )
    .await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checkoutId"], "chk_1");
    let requests: Vec<_> = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == "POST")
        .collect();
    assert_eq!(requests.len(), 3, "three attempts");
    let keys: std::collections::BTreeSet<_> = requests
        .iter()
        .map(|r| {
            r.headers
                .get("idempotency-key")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(keys.len(), 1, "one Idempotency-Key across the retries");
    let text = logs.text();
    assert!(!text.contains(API_KEY), "the API key is never logged");
    assert!(
        !text.contains("polo_cs_secret_e1b2"),
        "nor the client secret"
    );
    support::logs::assert_no_secret(&text);
}

#[tokio::test]
async fn polo_slower_than_the_budget_gets_a_clear_answer_inside_the_lambda_timeout_and_nothing_written(
) {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(support::polo::subscription("sub_1", "active", ACCOUNT))
                .set_delay(StdDuration::from_secs(30)),
        )
        .mount(&server)
        .await;
    // The timed-out change may have reached Polo: the handler reads the
    // subscription again, and Polo shows it unchanged.
    Mock::given(method("GET"))
        .and(path("/v1/subscriptions/sub_1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(support::polo::subscription("sub_1", "active", ACCOUNT)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let system = System::new(OffsetDateTime::now_utc());
    let s = support::polo::subscription("sub_1", "active", ACCOUNT);
    let now = OffsetDateTime::now_utc();
    let mut s = s;
    s["modified_at"] = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
        .into();
    s["current_period_end"] = (now + Duration::days(20))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
        .into();
    let (delivered, _) = system.deliver("msg_1", "subscription.active", s).await;
    assert_eq!(delivered, 200);
    let before = system.account();
    let d = dashboard(
        &system,
        Arc::new(client(&server)),
        settings(BillingProvider::Polo),
    );
    let started = std::time::Instant::now();

    // `call` gives the request a 10 s Lambda deadline, as the template does.
    let (status, body) = call(
        &d,
        Route::ChangePlan,
        Some(ACCOUNT),
        "",
        Some(r#"{"planTier":"starter"}"#),
    )
    .await;

    let elapsed = started.elapsed();
    assert_eq!(
        (status, body["code"].as_str()),
        (502, Some("polo_unavailable"))
    );
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("Nothing was charged or changed"));
    assert!(
        elapsed < StdDuration::from_secs(10),
        "answered before the Lambda timeout ({elapsed:?})"
    );
    assert_eq!(system.account(), before, "nothing written");
}
