//! The legacy PayPal cancellation: the HTTP client against wiremock (OAuth2
//! client credentials, the cancel call, PayPal's answers), and the queue
//! that provisioning-sync drains once a PayPal subscriber moved to Polo.

mod support;

use billing::domain::{PaypalLegacy, PlanTier, Provider};
use billing::handlers::provisioning_sync::cancel_paypal;
use billing::http::{RetryPolicy, SecureHttp};
use billing::paypal::{Cancelled, Canceller, InMemoryPaypal, PaypalClient, PaypalError};
use billing::secrets::SecretString;
use serde_json::json;
use support::system::{sub, System};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use wiremock::matchers::{body_json, body_string, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLIENT_ID: &str = "paypal_test_client_id_5b1e";
const CLIENT_SECRET: &str = "paypal_test_client_secret_c93d";
const TOKEN: &str = "paypal_test_access_token_77aa";

fn client(server: &MockServer) -> PaypalClient {
    PaypalClient::new(
        SecureHttp::new(true, RetryPolicy::default()).unwrap(),
        server.uri().parse().unwrap(),
        SecretString::new(CLIENT_ID),
        SecretString::new(CLIENT_SECRET),
    )
}

fn deadline() -> OffsetDateTime {
    OffsetDateTime::now_utc() + Duration::seconds(5)
}

async fn token_endpoint(server: &MockServer, expected_calls: u64) {
    use base64::Engine;
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    Mock::given(method("POST"))
        .and(path("/v1/oauth2/token"))
        .and(header("authorization", format!("Basic {basic}").as_str()))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string("grant_type=client_credentials"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "scope": "https://uri.paypal.com/services/subscriptions",
            "access_token": TOKEN,
            "token_type": "Bearer",
            "app_id": "APP-80W284485P519543T",
            "expires_in": 32400,
            "nonce": "2026-11-26T10:00:00Z"
        })))
        .expect(expected_calls)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_cancellation_gets_a_token_once_and_posts_the_cancel_with_its_request_id() {
    let (logs, _guard) = support::logs::capture();
    let server = MockServer::start().await;
    token_endpoint(&server, 1).await;
    for id in ["I-BW452GLLEP1G", "I-8XK2Q0TJ7W3N"] {
        Mock::given(method("POST"))
            .and(path(
                format!("/v1/billing/subscriptions/{id}/cancel").as_str(),
            ))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .and(header("paypal-request-id", format!("cancel-{id}").as_str()))
            .and(body_json(json!({"reason": "Moved to Polo billing"})))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
    }
    let paypal = client(&server);

    let first = paypal
        .cancel("I-BW452GLLEP1G", "Moved to Polo billing", deadline())
        .await
        .unwrap();
    let second = paypal
        .cancel("I-8XK2Q0TJ7W3N", "Moved to Polo billing", deadline())
        .await
        .unwrap();

    assert_eq!((first, second), (Cancelled::Now, Cancelled::Now));
    support::logs::assert_no_secret(&logs.text());
}

#[tokio::test]
async fn an_already_cancelled_subscription_counts_as_done() {
    let server = MockServer::start().await;
    token_endpoint(&server, 1).await;
    Mock::given(method("POST"))
        .and(path("/v1/billing/subscriptions/I-GONE/cancel"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "name": "UNPROCESSABLE_ENTITY",
            "message": "The requested action could not be performed.",
            "details": [{"issue": "SUBSCRIPTION_STATUS_INVALID", "description": "Invalid subscription status for cancel action; subscription status should be active or suspended."}]
        })))
        .mount(&server)
        .await;

    let outcome = client(&server)
        .cancel("I-GONE", "Moved to Polo billing", deadline())
        .await
        .unwrap();

    assert_eq!(outcome, Cancelled::AlreadyInactive);
}

#[tokio::test]
async fn refused_credentials_and_an_outage_are_told_apart() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/oauth2/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"})))
        .mount(&server)
        .await;
    let refused = client(&server)
        .cancel("I-1", "Moved to Polo billing", deadline())
        .await
        .unwrap_err();
    assert!(matches!(refused, PaypalError::Auth), "{refused:?}");

    let down = MockServer::start().await;
    token_endpoint(&down, 1).await;
    Mock::given(method("POST"))
        .and(path("/v1/billing/subscriptions/I-1/cancel"))
        .respond_with(ResponseTemplate::new(503))
        .expect(3)
        .mount(&down)
        .await;
    let unavailable = client(&down)
        .cancel("I-1", "Moved to Polo billing", deadline())
        .await
        .unwrap_err();
    assert!(
        matches!(unavailable, PaypalError::Unavailable(_)),
        "{unavailable:?}"
    );
}

/// A PayPal subscriber whose Polo subscription just became entitled.
async fn migrated(system: &System) {
    let mut account = system.account();
    account.provider = Provider::Paypal;
    account.plan_tier = PlanTier::Pro;
    account.paypal = Some(PaypalLegacy {
        subscription_id: "I-BW452GLLEP1G".into(),
        tier: PlanTier::Pro,
        paid_through: datetime!(2026-11-20 00:00 UTC),
    });
    system.accounts.insert(account);
    let trial = sub(
        "sub_1",
        "trialing",
        "prod_pro_monthly",
        "2026-11-10T12:00:00Z",
        "2026-11-20T00:00:00Z",
    );
    let mut trial = trial;
    trial["trial_end"] = "2026-11-20T00:00:00Z".into();
    let (status, _) = system.deliver("msg_t", "subscription.created", trial).await;
    assert_eq!(status, 200);
    let queued = system.account().pending_paypal_cancellation;
    assert!(queued.is_some(), "the PayPal subscription is queued");
}

#[tokio::test]
async fn a_queued_cancellation_is_sent_once_and_cleared() {
    let system = System::new(datetime!(2026-11-10 12:00 UTC));
    migrated(&system).await;
    let paypal = InMemoryPaypal::default();
    let deadline = datetime!(2026-11-10 12:01 UTC);

    let first = cancel_paypal(&system.updater, Some(&paypal), "run-1", deadline)
        .await
        .unwrap();
    let second = cancel_paypal(&system.updater, Some(&paypal), "run-2", deadline)
        .await
        .unwrap();

    assert_eq!((first.sent, second.sent), (1, 0));
    assert_eq!(paypal.cancelled(), ["I-BW452GLLEP1G"]);
    assert!(system.account().pending_paypal_cancellation.is_none());
    assert_eq!(system.account().provider, Provider::Polo);
}

#[tokio::test]
async fn a_failed_cancellation_stays_queued_counts_its_attempt_and_reports_its_age() {
    let system = System::new(datetime!(2026-11-10 12:00 UTC));
    migrated(&system).await;
    let paypal = InMemoryPaypal::default();
    paypal.set_failing(true);
    system.clock.set(datetime!(2026-11-11 13:00 UTC));
    let deadline = datetime!(2026-11-11 13:01 UTC);

    let report = cancel_paypal(&system.updater, Some(&paypal), "run-1", deadline)
        .await
        .unwrap();

    assert_eq!(report.failed, 1);
    let pending = system.account().pending_paypal_cancellation.unwrap();
    assert_eq!(pending.attempts, 1);
    assert!(
        report.oldest_pending_seconds > 86_400,
        "past a day: alarmed"
    );
    assert_eq!(
        system.metrics.values("PaypalCancellationPendingAgeSeconds"),
        vec![report.oldest_pending_seconds as f64]
    );
    paypal.set_failing(false);
    let retried = cancel_paypal(&system.updater, Some(&paypal), "run-2", deadline)
        .await
        .unwrap();
    assert_eq!(retried.sent, 1);
    assert!(system.account().pending_paypal_cancellation.is_none());
}
