//! The outbound adapters over the hardened fetch layer, against wiremock:
//! the Polo client (exact method, path, headers; error mapping; retries;
//! deadline) and the signed provisioning push.

mod support;

use billing::clock::SystemClock;
use billing::domain::{AccountBilling, AccountId, SubscriptionId};
use billing::http::{RetryPolicy, SecureHttp};
use billing::polo::client::PoloClient;
use billing::polo::ports::{PoloError, SubscriptionLookup};
use billing::polo::verifier::{verify, SignatureHeaders, WebhookSecret};
use billing::provisioning::{HttpProvisioner, ProvisionError, Provisioner, ProvisioningRequest};
use billing::secrets::{CachedSecretSource, InMemorySecretSource, SecretId, SecretString};
use std::sync::Arc;
use std::time::Duration as StdDuration;
use support::polo::API_KEY;
use time::{Duration, OffsetDateTime};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const PROVISIONING_SECRET: &str = "whsec_cHJvdmlzaW9uaW5nLXRlc3Qtc2lnbmluZy1zZWNyZXQ=";

fn client(server: &MockServer) -> PoloClient {
    support::polo::client(&server.uri())
}

fn deadline(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::now_utc() + Duration::seconds(seconds)
}

fn subscription_json() -> serde_json::Value {
    support::polo::subscription("sub_1", "active", "acct_1")
}

#[tokio::test]
async fn get_subscription_sends_the_exact_request_and_parses_the_answer() {
    let (logs, _guard) = support::logs::capture();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/subscriptions/sub_1"))
        .and(header(
            "authorization",
            format!("Bearer {API_KEY}").as_str(),
        ))
        .and(header("accept", "application/json"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(subscription_json())
                .insert_header("x-request-id", "req_polo_123"),
        )
        .expect(1)
        .mount(&server)
        .await;

    let found = client(&server)
        .get_subscription(&SubscriptionId::parse("sub_1").unwrap(), deadline(5))
        .await
        .unwrap();

    assert_eq!(found.id(), "sub_1");
    let requests = server.received_requests().await.unwrap();
    let agent = requests[0]
        .headers
        .get("user-agent")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(agent.starts_with("polo-billing/"));
    let text = logs.text();
    assert!(
        text.contains("req_polo_123"),
        "the correlation id is logged"
    );
    support::logs::assert_no_secret(&text);
}

#[tokio::test]
async fn a_plain_success_is_logged_at_debug_a_correlation_id_or_a_failure_at_info() {
    let (logs, _guard) = support::logs::capture();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/subscriptions/sub_plain"))
        .respond_with(ResponseTemplate::new(200).set_body_json(subscription_json()))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/subscriptions/sub_1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(subscription_json())
                .insert_header("x-request-id", "req_polo_9"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/subscriptions/sub_gone"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;

    let polo = client(&server);
    for id in ["sub_plain", "sub_1", "sub_gone"] {
        let _ = polo
            .get_subscription(&SubscriptionId::parse(id).unwrap(), deadline(5))
            .await;
    }

    let levels: Vec<(String, String)> = logs
        .lines()
        .into_iter()
        .filter(|l| l["message"] == "outbound call")
        .map(|l| (l["path"].to_string(), l["level"].to_string()))
        .collect();
    let expected = [
        ("sub_plain", "DEBUG"),
        ("sub_1", "INFO"),
        ("sub_gone", "INFO"),
    ]
    .map(|(id, level)| {
        (
            format!("\"/v1/subscriptions/{id}\""),
            format!("\"{level}\""),
        )
    });
    assert_eq!(levels, expected);
}

#[tokio::test]
async fn an_id_is_percent_encoded_into_one_path_segment() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/subscriptions/...%22%3Ccustomers%3E%7Bx%7D%60"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(
                serde_json::json!({"error": "ResourceNotFound", "detail": "Not found"}),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;

    // Ids with `/ ? # %` or dot segments are refused at parse time; what an
    // id may hold that a path must still escape is escaped here.
    let id = SubscriptionId::parse("...\"<customers>{x}`").unwrap();
    let err = client(&server)
        .get_subscription(&id, deadline(5))
        .await
        .unwrap_err();

    assert!(matches!(err, PoloError::NotFound), "{err:?}");
}

#[tokio::test]
async fn polo_errors_map_to_typed_errors() {
    for (status, check) in [
        (
            401u16,
            (|e: &PoloError| matches!(e, PoloError::Auth)) as fn(&PoloError) -> bool,
        ),
        (403, |e| matches!(e, PoloError::Auth)),
        (409, |e| matches!(e, PoloError::Conflict)),
        (
            422,
            |e| matches!(e, PoloError::Validation(d) if d.contains("product_id")),
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(status).set_body_json(
                serde_json::json!({"error": "X", "detail": "body.product_id: invalid"}),
            ))
            .expect(1)
            .mount(&server)
            .await;
        let err = client(&server)
            .get_subscription(&SubscriptionId::parse("sub_1").unwrap(), deadline(5))
            .await
            .unwrap_err();
        assert!(check(&err), "HTTP {status} gave {err:?}");
        assert!(!err.is_transient());
    }
}

#[tokio::test]
async fn two_503s_then_success_is_three_attempts_and_one_answer() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(subscription_json()))
        .mount(&server)
        .await;

    let found = client(&server)
        .get_subscription(&SubscriptionId::parse("sub_1").unwrap(), deadline(5))
        .await;

    assert!(found.is_ok());
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_429_is_retried_after_its_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(subscription_json()))
        .mount(&server)
        .await;

    let started = std::time::Instant::now();
    let found = client(&server)
        .get_subscription(&SubscriptionId::parse("sub_1").unwrap(), deadline(5))
        .await;

    assert!(found.is_ok());
    assert!(
        started.elapsed() >= StdDuration::from_secs(1),
        "waited as asked"
    );
}

#[tokio::test]
async fn persistent_rate_limiting_ends_as_rate_limited() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "30"))
        .mount(&server)
        .await;

    let err = client(&server)
        .get_subscription(&SubscriptionId::parse("sub_1").unwrap(), deadline(5))
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            PoloError::RateLimited {
                retry_after_seconds: Some(30)
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "a 30 s wait does not fit a 5 s budget"
    );
}

#[tokio::test]
async fn polo_slower_than_the_budget_fails_within_the_deadline() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(subscription_json())
                .set_delay(StdDuration::from_secs(10)),
        )
        .mount(&server)
        .await;

    let started = std::time::Instant::now();
    let err = client(&server)
        .get_subscription(&SubscriptionId::parse("sub_1").unwrap(), deadline(2))
        .await
        .unwrap_err();

    assert!(err.is_transient(), "{err:?}");
    assert!(
        started.elapsed() < StdDuration::from_secs(2),
        "answered inside the deadline: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_non_https_polo_url_is_refused_outside_the_local_stage() {
    let server = MockServer::start().await;
    let secrets = Arc::new(InMemorySecretSource::default());
    secrets.set(SecretId::PoloApiKey, API_KEY);
    let http = SecureHttp::new(false, RetryPolicy::default()).unwrap();
    let polo = PoloClient::new(
        http,
        server.uri().parse().unwrap(),
        Arc::new(CachedSecretSource::new(secrets, Arc::new(SystemClock))),
    );

    let err = polo
        .get_subscription(&SubscriptionId::parse("sub_1").unwrap(), deadline(5))
        .await
        .unwrap_err();

    assert!(matches!(err, PoloError::Unavailable(_)));
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "nothing was sent"
    );
}

fn provisioner(server: &MockServer) -> HttpProvisioner {
    let http = SecureHttp::new(true, RetryPolicy::default()).unwrap();
    let url = format!("{}/provisioning/v1/entitlements", server.uri());
    HttpProvisioner::new(
        http,
        url.parse().unwrap(),
        SecretString::new(PROVISIONING_SECRET),
    )
}

fn push_request() -> ProvisioningRequest {
    let mut account = AccountBilling::new(AccountId::parse("acct_1").unwrap());
    account.version = 7;
    ProvisioningRequest::for_account(&account, "subscription.revoked", "msg_1")
}

fn verifies(request: &Request) -> bool {
    let get = |n: &str| request.headers.get(n).and_then(|v| v.to_str().ok());
    let secret = WebhookSecret::new(&SecretString::new(PROVISIONING_SECRET)).unwrap();
    let headers = SignatureHeaders {
        id: get("webhook-id"),
        timestamp: get("webhook-timestamp"),
        signature: get("webhook-signature"),
    };
    verify(
        &request.body,
        headers,
        &[secret],
        OffsetDateTime::now_utc().unix_timestamp(),
    )
    .is_ok()
}

#[tokio::test]
async fn a_push_is_a_signed_post_of_the_whole_desired_state() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/provisioning/v1/entitlements"))
        .and(header("idempotency-key", "acct_1:7"))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;

    provisioner(&server)
        .push(&push_request(), deadline(5))
        .await
        .unwrap();

    let request = &server.received_requests().await.unwrap()[0];
    assert!(
        verifies(request),
        "the orchestrator can verify the signature"
    );
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "accountId": "acct_1", "version": 7, "entitled": false, "tier": "free", "status": "none",
            "expiresAt": null, "reason": "subscription.revoked", "sourceEventId": "msg_1"
        })
    );
}

#[tokio::test]
async fn a_failing_orchestrator_is_retried_with_the_same_idempotency_key_then_reported() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;

    let err = provisioner(&server)
        .push(&push_request(), deadline(5))
        .await
        .unwrap_err();

    assert!(matches!(err, ProvisionError::Unavailable(_)));
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3);
    assert!(requests
        .iter()
        .all(|r| r.headers.get("idempotency-key").unwrap() == "acct_1:7"));
}

#[tokio::test]
async fn a_refused_push_is_rejected_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400))
        .expect(1)
        .mount(&server)
        .await;
    let err = provisioner(&server)
        .push(&push_request(), deadline(5))
        .await
        .unwrap_err();
    assert!(matches!(err, ProvisionError::Rejected(_)));
}
