//! docs/RELIABILITY.md's fault table, one test per row: a verified delivery
//! whose handling meets each kind of answer from each dependency, driven
//! through the REAL adapter (Convex, Polo, orchestrator over HTTP against
//! wiremock; DynamoDB over the AWS wire protocol against wiremock), asserting
//! the webhook's answer and what is stored. The rule: a fault of our side
//! or of a dependency's availability or credentials is transient (202, the
//! event waits `PENDING` in the inbox); only a property of the event itself
//! parks it (200 parked); only failing to record the event answers 503.

mod support;

use billing::accounts::{AccountStore, ConvexAccountStore, InMemoryAccountStore};
use billing::clock::{Clock, ManualClock};
use billing::domain::{AccountBilling, AccountId};
use billing::http::{RetryPolicy, SecureHttp};
use billing::idempotency::{
    DynamoDbIdempotencyStore, IdempotencyStore, InMemoryIdempotencyStore, RecordStatus,
};
use billing::polo::client::PoloClient;
use billing::polo::ports::BillingApi;
use billing::polo::routing::Endpoint;
use billing::ports::Ports;
use billing::provisioning::{HttpProvisioner, InMemoryProvisioner, Provisioner};
use billing::secrets::{CachedSecretSource, InMemorySecretSource, SecretId, SecretString};
use billing::telemetry::InMemoryMetrics;
use billing::webhook::{Intake, WebhookKeys};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration as StdDuration;
use support::apigw;
use support::polo::{envelope, order, signed_headers, subscription, API_KEY, WEBHOOK_SECRET};
use time::{Duration, OffsetDateTime};
use wiremock::matchers::{any, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ACCOUNT: &str = "acct_1";
const CONVEX_SECRET: &str = "whsec_ZmF1bHQtdGFibGUtY29udmV4LXNpZ25pbmc=";
/// Nothing listens here: a connect error.
const CLOSED: &str = "http://127.0.0.1:9/";

/// Short retries: every row still goes through the adapter's retry loop.
fn http() -> SecureHttp {
    let retry = RetryPolicy {
        max_attempts: 2,
        base_delay: StdDuration::from_millis(10),
        max_delay: StdDuration::from_millis(50),
    };
    SecureHttp::new(true, retry).expect("an HTTP client")
}

fn seeded_accounts() -> Arc<InMemoryAccountStore> {
    let accounts = Arc::new(InMemoryAccountStore::default());
    accounts.insert(AccountBilling::new(AccountId::parse(ACCOUNT).unwrap()));
    accounts
}

/// One webhook endpoint over the given adapters, on real time (the
/// outbound calls' deadlines are real).
struct Rig {
    intake: Intake,
    store: Arc<dyn IdempotencyStore>,
    clock: Arc<ManualClock>,
}

fn rig(
    endpoint: Endpoint,
    store: Arc<dyn IdempotencyStore>,
    accounts: Arc<dyn AccountStore>,
    polo: Option<Arc<dyn BillingApi>>,
    provisioner: Arc<dyn Provisioner>,
) -> Rig {
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let secrets = Arc::new(InMemorySecretSource::default());
    secrets.set(SecretId::PoloWebhook, format!(r#"["{WEBHOOK_SECRET}"]"#));
    let keys = Arc::new(WebhookKeys::new(Arc::new(CachedSecretSource::new(
        secrets,
        clock.clone(),
    ))));
    let metrics = Arc::new(InMemoryMetrics::default());
    let ports = Ports {
        polo,
        idempotency: Some(store.clone()),
        catalogue: Arc::new(support::system::catalogue()),
        ..Ports::new(accounts, provisioner, clock.clone(), metrics)
    };
    let handler = ports.lifecycle_handler(&ports.updater());
    let intake = ports
        .intake(endpoint, keys, handler, clock.clone(), Duration::seconds(9))
        .unwrap();
    Rig {
        intake,
        store,
        clock,
    }
}

impl Rig {
    /// Delivers `data` as `event_type`, with a 2 s Lambda deadline.
    async fn deliver(&self, event_type: &str, data: Value) -> (u16, Value) {
        let body = envelope(event_type, data);
        let now = self.clock.now();
        let headers = signed_headers(WEBHOOK_SECRET, "msg_fault", now.unix_timestamp(), &body);
        let json = apigw::event_json(&self.intake.endpoint.path(), &headers, &body, false);
        let deadline_ms = (now + Duration::seconds(2)).unix_timestamp_nanos() / 1_000_000;
        let response = self
            .intake
            .handle(apigw::request(&json, deadline_ms as u64))
            .await;
        let status = response.status().as_u16();
        let body = serde_json::from_slice(response.body().as_ref()).expect("a JSON answer");
        (status, body)
    }

    async fn status(&self) -> Option<RecordStatus> {
        let key = billing::idempotency::RecordKey::for_delivery("msg_fault");
        self.store.get(&key).await.ok().flatten().map(|r| r.status)
    }
}

/// An active subscription whose period is still running (the rig runs on
/// real time, so the sample's fixed dates would have ended).
fn updated() -> Value {
    let mut s = subscription("sub_1", "active", ACCOUNT);
    s["current_period_end"] = "2099-01-01T00:00:00Z".into();
    s
}

// ---------------------------------------------------------------- Convex

async fn convex_rig(site: &str) -> Rig {
    let accounts = Arc::new(ConvexAccountStore::new(
        http(),
        site.parse().expect("a URL"),
        SecretString::new(CONVEX_SECRET),
    ));
    rig(
        Endpoint::SubscriptionUpdated,
        Arc::new(InMemoryIdempotencyStore::default()),
        accounts,
        None,
        Arc::new(InMemoryProvisioner::default()),
    )
}

/// Convex answering every call with `answer`.
async fn convex_answering(answer: ResponseTemplate) -> (Rig, MockServer) {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(answer).mount(&server).await;
    (convex_rig(&format!("{}/", server.uri())).await, server)
}

async fn assert_pending_after_convex(answer: ResponseTemplate) {
    let (rig, _server) = convex_answering(answer).await;
    let (status, body) = rig.deliver("subscription.updated", updated()).await;
    assert_eq!((status, body), (202, json!({"status": "accepted"})));
    assert_eq!(rig.status().await, Some(RecordStatus::Pending));
}

#[tokio::test]
async fn convex_unreachable_keeps_the_event_pending() {
    let rig = convex_rig(CLOSED).await;
    let (status, _) = rig.deliver("subscription.updated", updated()).await;
    assert_eq!(status, 202);
    assert_eq!(rig.status().await, Some(RecordStatus::Pending));
}

#[tokio::test]
async fn convex_timing_out_keeps_the_event_pending() {
    assert_pending_after_convex(ResponseTemplate::new(200).set_delay(StdDuration::from_secs(5)))
        .await;
}

#[tokio::test]
async fn convex_answering_503_keeps_the_event_pending() {
    assert_pending_after_convex(ResponseTemplate::new(503)).await;
}

#[tokio::test]
async fn convex_throttling_with_retry_after_keeps_the_event_pending() {
    assert_pending_after_convex(ResponseTemplate::new(429).insert_header("retry-after", "0")).await;
}

#[tokio::test]
async fn convex_throttling_without_retry_after_keeps_the_event_pending() {
    assert_pending_after_convex(ResponseTemplate::new(429)).await;
}

#[tokio::test]
async fn convex_refusing_our_signature_401_keeps_the_event_pending() {
    assert_pending_after_convex(
        ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_signature"})),
    )
    .await;
}

#[tokio::test]
async fn convex_forbidding_403_keeps_the_event_pending() {
    assert_pending_after_convex(ResponseTemplate::new(403)).await;
}

#[tokio::test]
async fn a_wrong_convex_site_url_answering_a_bare_404_keeps_the_event_pending() {
    assert_pending_after_convex(ResponseTemplate::new(404).set_body_string("Not Found")).await;
}

#[tokio::test]
async fn convex_refusing_our_request_400_keeps_the_event_pending() {
    assert_pending_after_convex(ResponseTemplate::new(400).set_body_json(
        json!({"error": "invalid_request", "detail": "account.version: must be an integer"}),
    ))
    .await;
}

#[tokio::test]
async fn convex_answering_an_undecodable_2xx_keeps_the_event_pending() {
    assert_pending_after_convex(ResponseTemplate::new(200).set_body_string("<html>ok</html>"))
        .await;
}

#[tokio::test]
async fn convex_losing_every_compare_and_set_409_keeps_the_event_pending() {
    let server = MockServer::start().await;
    let account = AccountBilling::new(AccountId::parse(ACCOUNT).unwrap());
    Mock::given(path("/billing/v1/accounts/get"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "account": account })))
        .mount(&server)
        .await;
    Mock::given(path("/billing/v1/accounts/compare-and-set"))
        .respond_with(
            ResponseTemplate::new(409)
                .set_body_json(json!({"error": "version_conflict", "currentVersion": 7})),
        )
        .mount(&server)
        .await;
    let rig = convex_rig(&format!("{}/", server.uri())).await;

    let (status, _) = rig.deliver("subscription.updated", updated()).await;

    assert_eq!(status, 202);
    assert_eq!(rig.status().await, Some(RecordStatus::Pending));
}

#[tokio::test]
async fn convex_not_knowing_the_account_parks_the_event() {
    let (rig, _server) = convex_answering(
        ResponseTemplate::new(404).set_body_json(json!({"error": "account_not_found"})),
    )
    .await;

    let (status, body) = rig.deliver("subscription.updated", updated()).await;

    assert_eq!(
        (status, body),
        (
            200,
            json!({"status": "parked", "reason": "unknown_account"})
        )
    );
    assert_eq!(rig.status().await, Some(RecordStatus::Parked));
}

// ------------------------------------------------------------------ Polo

async fn polo_rig(base: &str) -> Rig {
    let polo: Arc<PoloClient> = Arc::new(polo_client(base));
    rig(
        Endpoint::PaymentSucceeded,
        Arc::new(InMemoryIdempotencyStore::default()),
        seeded_accounts(),
        Some(polo),
        Arc::new(InMemoryProvisioner::default()),
    )
}

fn polo_client(base: &str) -> PoloClient {
    let secrets = Arc::new(InMemorySecretSource::default());
    secrets.set(SecretId::PoloApiKey, API_KEY);
    let cached = Arc::new(CachedSecretSource::new(
        secrets,
        Arc::new(billing::clock::SystemClock),
    ));
    PoloClient::new(http(), base.parse().expect("a URL"), cached)
}

/// `order.paid` makes the handler read the subscription from Polo.
async fn deliver_order(rig: &Rig) -> (u16, Value) {
    rig.deliver("order.paid", order("ord_1", "sub_1", ACCOUNT))
        .await
}

async fn polo_answering(answer: ResponseTemplate) -> (Rig, MockServer) {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(answer).mount(&server).await;
    (polo_rig(&format!("{}/", server.uri())).await, server)
}

async fn assert_pending_after_polo(answer: ResponseTemplate) {
    let (rig, _server) = polo_answering(answer).await;
    let (status, _) = deliver_order(&rig).await;
    assert_eq!(status, 202);
    assert_eq!(rig.status().await, Some(RecordStatus::Pending));
}

async fn assert_parked_after_polo(answer: ResponseTemplate, reason: &str) {
    let (rig, _server) = polo_answering(answer).await;
    let (status, body) = deliver_order(&rig).await;
    assert_eq!((status, body["reason"].as_str()), (200, Some(reason)));
    assert_eq!(rig.status().await, Some(RecordStatus::Parked));
}

#[tokio::test]
async fn polo_unreachable_keeps_the_order_pending() {
    let rig = polo_rig(CLOSED).await;
    assert_eq!(deliver_order(&rig).await.0, 202);
    assert_eq!(rig.status().await, Some(RecordStatus::Pending));
}

#[tokio::test]
async fn polo_timing_out_keeps_the_order_pending() {
    assert_pending_after_polo(ResponseTemplate::new(200).set_delay(StdDuration::from_secs(5)))
        .await;
}

#[tokio::test]
async fn polo_answering_502_keeps_the_order_pending() {
    assert_pending_after_polo(ResponseTemplate::new(502)).await;
}

#[tokio::test]
async fn polo_throttling_with_retry_after_keeps_the_order_pending() {
    assert_pending_after_polo(
        ResponseTemplate::new(429)
            .insert_header("retry-after", "0")
            .set_body_json(json!({"error": "TooManyRequests", "detail": "slow down"})),
    )
    .await;
}

#[tokio::test]
async fn polo_throttling_without_retry_after_keeps_the_order_pending() {
    assert_pending_after_polo(ResponseTemplate::new(429)).await;
}

#[tokio::test]
async fn polo_refusing_a_rotated_api_key_401_keeps_the_order_pending() {
    assert_pending_after_polo(
        ResponseTemplate::new(401)
            .set_body_json(json!({"error": "Unauthorized", "detail": "invalid token"})),
    )
    .await;
}

#[tokio::test]
async fn polo_forbidding_403_keeps_the_order_pending() {
    assert_pending_after_polo(
        ResponseTemplate::new(403).set_body_json(json!({"error": "Forbidden", "detail": "scope"})),
    )
    .await;
}

#[tokio::test]
async fn a_wrong_polo_base_url_answering_a_bare_404_keeps_the_order_pending() {
    assert_pending_after_polo(ResponseTemplate::new(404).set_body_string("Not Found")).await;
}

#[tokio::test]
async fn polo_answering_409_to_a_read_keeps_the_order_pending() {
    assert_pending_after_polo(
        ResponseTemplate::new(409).set_body_json(json!({"error": "Conflict", "detail": "busy"})),
    )
    .await;
}

#[tokio::test]
async fn polo_answering_an_undecodable_2xx_keeps_the_order_pending() {
    assert_pending_after_polo(ResponseTemplate::new(200).set_body_json(json!({"id": 42}))).await;
}

#[tokio::test]
async fn polo_not_knowing_the_orders_subscription_parks_the_order() {
    assert_parked_after_polo(
        ResponseTemplate::new(404)
            .set_body_json(json!({"error": "ResourceNotFound", "detail": "no such subscription"})),
        "unknown_subscription",
    )
    .await;
}

#[tokio::test]
async fn polo_refusing_the_orders_subscription_id_422_parks_the_order() {
    assert_parked_after_polo(
        ResponseTemplate::new(422).set_body_json(
            json!({"error": "RequestValidationError", "detail": "id: not a subscription id"}),
        ),
        "polo_refused",
    )
    .await;
}

// --------------------------------------------------------- orchestrator

/// The push fails: the account is written (its intent recorded) and
/// provisioning-sync re-sends it, so the webhook itself succeeds.
async fn assert_applied_despite_orchestrator(url: &str) {
    let accounts = seeded_accounts();
    let provisioner = Arc::new(HttpProvisioner::new(
        http(),
        url.parse().expect("a URL"),
        SecretString::new("whsec_ZmF1bHQtdGFibGUtcHJvdmlzaW9uaW5n"),
    ));
    let rig = rig(
        Endpoint::SubscriptionUpdated,
        Arc::new(InMemoryIdempotencyStore::default()),
        accounts.clone(),
        None,
        provisioner,
    );

    let (status, body) = rig.deliver("subscription.updated", updated()).await;

    assert_eq!((status, body), (200, json!({"status": "processed"})));
    assert_eq!(rig.status().await, Some(RecordStatus::Completed));
    let account = accounts
        .get(&AccountId::parse(ACCOUNT).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(account.needs_push(), "provisioning-sync will re-send it");
    assert!(account.unacknowledged_intent().is_some());
}

async fn orchestrator_answering(answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(answer).mount(&server).await;
    server
}

#[tokio::test]
async fn an_unreachable_orchestrator_leaves_the_push_to_provisioning_sync() {
    assert_applied_despite_orchestrator(CLOSED).await;
}

#[tokio::test]
async fn an_orchestrator_answering_503_leaves_the_push_to_provisioning_sync() {
    let server = orchestrator_answering(ResponseTemplate::new(503)).await;
    assert_applied_despite_orchestrator(&server.uri()).await;
}

#[tokio::test]
async fn an_orchestrator_refusing_our_signature_leaves_the_push_to_provisioning_sync() {
    let server = orchestrator_answering(ResponseTemplate::new(401)).await;
    assert_applied_despite_orchestrator(&server.uri()).await;
}

#[tokio::test]
async fn an_orchestrator_refusing_the_push_400_leaves_the_push_to_provisioning_sync() {
    let server = orchestrator_answering(ResponseTemplate::new(400)).await;
    assert_applied_despite_orchestrator(&server.uri()).await;
}

// --------------------------------------------------------------- DynamoDB

/// The real DynamoDB adapter against a server answering every call with
/// `answer` (the AWS JSON protocol), or nothing at all.
async fn dynamodb_rig(endpoint: &str) -> Rig {
    let config = aws_sdk_dynamodb::config::Builder::new()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::for_tests())
        .endpoint_url(endpoint)
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::standard().with_max_attempts(2))
        .build();
    let store = DynamoDbIdempotencyStore::new(aws_sdk_dynamodb::Client::from_conf(config), "idem");
    rig(
        Endpoint::SubscriptionUpdated,
        Arc::new(store),
        seeded_accounts(),
        None,
        Arc::new(InMemoryProvisioner::default()),
    )
}

async fn assert_unrecorded_answers_503(endpoint: &str) {
    let rig = dynamodb_rig(endpoint).await;
    let (status, body) = rig.deliver("subscription.updated", updated()).await;
    assert_eq!(
        (status, body),
        (
            503,
            json!({"error": "temporarily_unavailable", "detail": "retry later"})
        )
    );
}

async fn dynamodb_answering(status: u16, kind: &str) -> MockServer {
    let server = MockServer::start().await;
    let body = json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"), "message": "injected"});
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(status)
                .insert_header("content-type", "application/x-amz-json-1.0")
                .set_body_json(body),
        )
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn dynamodb_unreachable_answers_503_and_polo_retries() {
    assert_unrecorded_answers_503(CLOSED.trim_end_matches('/')).await;
}

#[tokio::test]
async fn dynamodb_throttling_answers_503_and_polo_retries() {
    let server = dynamodb_answering(400, "ProvisionedThroughputExceededException").await;
    assert_unrecorded_answers_503(&server.uri()).await;
}

#[tokio::test]
async fn dynamodb_answering_500_answers_503_and_polo_retries() {
    let server = dynamodb_answering(500, "InternalServerError").await;
    assert_unrecorded_answers_503(&server.uri()).await;
}

#[tokio::test]
async fn a_missing_idempotency_table_answers_503_and_polo_retries() {
    let server = dynamodb_answering(400, "ResourceNotFoundException").await;
    assert_unrecorded_answers_503(&server.uri()).await;
}

#[tokio::test]
async fn dynamodb_refusing_our_credentials_answers_503_and_polo_retries() {
    let server = dynamodb_answering(400, "UnrecognizedClientException").await;
    assert_unrecorded_answers_503(&server.uri()).await;
}
