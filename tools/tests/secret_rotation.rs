//! Every secret rotated mid-traffic, in RUNBOOK §4's order, loses nothing.
//! The real adapters read the secrets from Secrets Manager (the emulator)
//! through the five-minute cache; the Convex stand-in and the orchestrator
//! stand-in verify signed calls over HTTP against the secrets they accept;
//! Polo's deliveries arrive as the intake receives them. Between every step
//! of every rotation, deliveries keep coming, and each must be applied at
//! once (200, credentials pushed), never left to the inbox (202).
//!
//! The Polo API key and the PayPal credentials are rotated the same way,
//! against an HTTP Polo and an HTTP PayPal that accept only what they
//! currently hold.
//!
//! The step that would open a window of refusals is the last one (the
//! verifying side drops the old secret while warm containers still hold it
//! in their cache): a refused signature makes the container read the secret
//! again. The control test shows what the same rotation does to a container
//! that never re-reads.

use aws_sdk_secretsmanager::Client as SecretsClient;
use billing::accounts::{ConvexAccountStore, InMemoryAccountStore};
use billing::clock::{Clock, ManualClock};
use billing::domain::{AccountBilling, AccountId, Policy};
use billing::http::{RetryPolicy, SecureHttp};
use billing::idempotency::{InMemoryIdempotencyStore, RecordStatus};
use billing::polo::catalogue::Catalogue;
use billing::polo::routing::Endpoint;
use billing::polo::verifier::sign;
use billing::ports::Ports;
use billing::provisioning::{HttpProvisioner, InMemoryProvisioner};
use billing::secrets::{
    CachedSecretSource, SecretId, SecretString, SecretsManagerSource, SigningSecret,
};
use billing::telemetry::InMemoryMetrics;
use billing::webhook::{Intake, WebhookKeys};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;
use time::{Duration, OffsetDateTime};
use tools::convex_stub::ConvexStub;
use tools::local::LOCAL_PRODUCTS;
use tools::provisioning_receiver::ProvisioningReceiver;

const CONVEX_OLD: &str = "whsec_Y29udmV4LXNpZ25pbmctYmVmb3JlLXJvdGF0aW9u";
const CONVEX_NEW: &str = "whsec_Y29udmV4LXNpZ25pbmctYWZ0ZXItcm90YXRpb24=";
const PROVISIONING_OLD: &str = "whsec_cHJvdmlzaW9uaW5nLWJlZm9yZS1yb3RhdGlvbg==";
const PROVISIONING_NEW: &str = "whsec_cHJvdmlzaW9uaW5nLWFmdGVyLXJvdGF0aW9u";
const WEBHOOK_OLD: &str = "whsec_cG9sby13ZWJob29rLWJlZm9yZS1yb3RhdGlvbg==";
const WEBHOOK_NEW: &str = "whsec_cG9sby13ZWJob29rLWFmdGVyLXJvdGF0aW9u";
const DELIVERIES: usize = 24;

struct World {
    intake: Intake,
    secrets: SecretsClient,
    arns: HashMap<SecretId, String>,
    convex: Arc<ConvexStub>,
    receiver: Arc<ProvisioningReceiver>,
    store: Arc<InMemoryIdempotencyStore>,
    clock: Arc<ManualClock>,
    /// What Polo signs its deliveries with.
    polo_signs_with: Mutex<&'static str>,
    next: Mutex<usize>,
}

fn account(i: usize) -> String {
    format!("acct_rotation_{i}")
}

/// `re_reads`: the adapters read their signing secret through the cache at
/// each call (as deployed); `false` pins the values read at cold start.
async fn world(re_reads: bool) -> World {
    let moto = std::env::var("MOTO_ENDPOINT")
        .expect("MOTO_ENDPOINT is not set: run scripts/test.sh, which starts the emulator");
    let secrets = tools::moto::secretsmanager_client(&moto);
    let mut arns = HashMap::new();
    for (id, value) in [
        (SecretId::ConvexSigning, CONVEX_OLD.to_owned()),
        (SecretId::ProvisioningSigning, PROVISIONING_OLD.to_owned()),
        (SecretId::PoloWebhook, format!(r#"["{WEBHOOK_OLD}"]"#)),
    ] {
        let arn = tools::moto::fresh_secret(&secrets, id.name(), &value)
            .await
            .unwrap();
        arns.insert(id, arn);
    }
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let cache = Arc::new(CachedSecretSource::new(
        Arc::new(SecretsManagerSource::new(secrets.clone(), arns.clone())),
        clock.clone(),
    ));
    let accounts = Arc::new(InMemoryAccountStore::default());
    for i in 0..DELIVERIES {
        accounts.insert(AccountBilling::new(AccountId::parse(&account(i)).unwrap()));
    }
    let convex = Arc::new(ConvexStub::new(accounts, CONVEX_OLD).unwrap());
    let convex_url = tools::serve_on_loopback(convex.clone().router())
        .await
        .unwrap();
    let receiver = Arc::new(
        ProvisioningReceiver::new(Arc::new(InMemoryProvisioner::default()), PROVISIONING_OLD)
            .unwrap(),
    );
    let receiver_url = tools::serve_on_loopback(receiver.clone().router())
        .await
        .unwrap();
    let signing = |id: SecretId, old: &str| {
        if re_reads {
            SigningSecret::cached(cache.clone(), id)
        } else {
            SigningSecret::from(SecretString::new(old))
        }
    };
    let http = SecureHttp::new(
        true,
        RetryPolicy {
            max_attempts: 2,
            base_delay: StdDuration::from_millis(10),
            max_delay: StdDuration::from_millis(50),
        },
    )
    .unwrap();
    let (starter, pro, enterprise) = LOCAL_PRODUCTS;
    let store = Arc::new(InMemoryIdempotencyStore::default());
    let ports = Ports {
        accounts: Arc::new(ConvexAccountStore::new(
            http.clone(),
            format!("{convex_url}/").parse().unwrap(),
            signing(SecretId::ConvexSigning, CONVEX_OLD),
        )),
        provisioner: Arc::new(HttpProvisioner::new(
            http,
            format!("{receiver_url}/").parse().unwrap(),
            signing(SecretId::ProvisioningSigning, PROVISIONING_OLD),
        )),
        polo: None,
        paypal: None,
        idempotency: Some(store.clone()),
        clock: clock.clone(),
        metrics: Arc::new(InMemoryMetrics::default()),
        catalogue: Arc::new(Catalogue::from_lists(starter, pro, enterprise).unwrap()),
        policy: Policy::default(),
    };
    let intake = ports
        .intake(
            Endpoint::SubscriptionUpdated,
            Arc::new(WebhookKeys::new(cache)),
            ports.lifecycle_handler(&ports.updater()),
            clock.clone(),
            Duration::seconds(9),
        )
        .unwrap();
    World {
        intake,
        secrets,
        arns,
        convex,
        receiver,
        store,
        clock,
        polo_signs_with: Mutex::new(WEBHOOK_OLD),
        next: Mutex::new(0),
    }
}

/// `subscription.active` for account `i`: pro for a year (credentials issued).
fn activation(i: usize, now: OffsetDateTime) -> Vec<u8> {
    tools::sample::activation(&account(i), LOCAL_PRODUCTS.1, now)
}

impl World {
    /// The next two deliveries, as API Gateway hands them to the function;
    /// returns their answers' statuses.
    async fn traffic(&self) -> Vec<u16> {
        let mut statuses = Vec::new();
        for _ in 0..2 {
            let i = {
                let mut next = self.next.lock().unwrap();
                *next += 1;
                *next - 1
            };
            let now = self.clock.now();
            let body = activation(i, now);
            let id = format!("msg_rotation_{i}");
            let secret = *self.polo_signs_with.lock().unwrap();
            let signature =
                sign(&SecretString::new(secret), &id, now.unix_timestamp(), &body).unwrap();
            let mut request = http::Request::builder()
                .method("POST")
                .uri(format!(
                    "https://api.example{}",
                    self.intake.endpoint.path()
                ))
                .header("webhook-id", &id)
                .header("webhook-timestamp", now.unix_timestamp().to_string())
                .header("webhook-signature", signature)
                .body(lambda_http::Body::Binary(body))
                .unwrap();
            let mut context = lambda_http::Context::default();
            context.deadline =
                ((now + Duration::seconds(9)).unix_timestamp_nanos() / 1_000_000) as u64;
            request.extensions_mut().insert(context);
            statuses.push(self.intake.handle(request).await.status().as_u16());
        }
        statuses
    }

    async fn put(&self, id: SecretId, value: String) {
        self.secrets
            .put_secret_value()
            .secret_id(&self.arns[&id])
            .secret_string(value)
            .send()
            .await
            .unwrap();
    }

    /// A rotation later: past the one-minute limit on forced re-reads, well
    /// inside the five-minute cache.
    fn two_minutes_later(&self) {
        self.clock.set(self.clock.now() + Duration::minutes(2));
    }

    /// RUNBOOK §4 for Convex's signing secret, traffic between each step.
    async fn rotate_convex(&self) -> Vec<u16> {
        let mut statuses = self.traffic().await;
        self.convex.accept(&[CONVEX_NEW, CONVEX_OLD]).unwrap();
        statuses.extend(self.traffic().await);
        self.put(SecretId::ConvexSigning, CONVEX_NEW.to_owned())
            .await;
        statuses.extend(self.traffic().await);
        self.convex.accept(&[CONVEX_NEW]).unwrap();
        statuses.extend(self.traffic().await);
        statuses
    }

    /// The same for the orchestrator's signing secret.
    async fn rotate_provisioning(&self) -> Vec<u16> {
        self.receiver
            .accept(&[PROVISIONING_NEW, PROVISIONING_OLD])
            .unwrap();
        let mut statuses = self.traffic().await;
        self.put(SecretId::ProvisioningSigning, PROVISIONING_NEW.to_owned())
            .await;
        statuses.extend(self.traffic().await);
        self.receiver.accept(&[PROVISIONING_NEW]).unwrap();
        statuses.extend(self.traffic().await);
        statuses
    }

    /// Polo's webhook secret: both in our list, Polo switches, the old goes.
    async fn rotate_webhook(&self) -> Vec<u16> {
        self.put(
            SecretId::PoloWebhook,
            format!(r#"["{WEBHOOK_NEW}","{WEBHOOK_OLD}"]"#),
        )
        .await;
        let mut statuses = self.traffic().await;
        *self.polo_signs_with.lock().unwrap() = WEBHOOK_NEW;
        statuses.extend(self.traffic().await);
        self.put(SecretId::PoloWebhook, format!(r#"["{WEBHOOK_NEW}"]"#))
            .await;
        statuses.extend(self.traffic().await);
        statuses
    }

    fn delivered(&self) -> usize {
        *self.next.lock().unwrap()
    }
}

#[tokio::test]
async fn rotating_every_signing_and_webhook_secret_mid_traffic_loses_nothing() {
    let w = world(true).await;

    let mut statuses = w.rotate_convex().await;
    w.two_minutes_later();
    statuses.extend(w.rotate_provisioning().await);
    w.two_minutes_later();
    statuses.extend(w.rotate_webhook().await);

    assert_eq!(
        statuses,
        vec![200; w.delivered()],
        "every delivery applied at once"
    );
    assert!(w.delivered() <= DELIVERIES);
    for record in w.store.snapshot() {
        assert_eq!(
            record.status,
            RecordStatus::Completed,
            "{:?}",
            record.delivery
        );
    }
    let pushes = w.receiver.orchestrator.pushes();
    for i in 0..w.delivered() {
        let id = AccountId::parse(&account(i)).unwrap();
        let account = w.convex.accounts.account(&id).unwrap();
        assert!(
            account.provisioned_entitlement.is_some(),
            "{id}: not acknowledged"
        );
        assert_eq!(
            pushes
                .iter()
                .filter(|p| p.account_id == id && p.entitled)
                .count(),
            1,
            "{id}: one push"
        );
    }
}

#[tokio::test]
async fn a_container_pinned_to_the_old_secret_would_have_left_events_in_the_inbox() {
    let w = world(false).await;

    let statuses = w.rotate_convex().await;

    // The last step (Convex drops the old secret) refuses the pinned
    // container: the deliveries wait in the inbox instead of being applied.
    assert_eq!(statuses, vec![200, 200, 200, 200, 200, 200, 202, 202]);
    let pending = w
        .store
        .snapshot()
        .into_iter()
        .filter(|r| r.status == RecordStatus::Pending)
        .count();
    assert_eq!(pending, 2);
}

#[tokio::test]
async fn a_polo_api_key_revoked_before_the_cache_expires_is_read_again_and_nothing_fails() {
    use billing::domain::SubscriptionId;
    use billing::polo::client::PoloClient;
    use billing::polo::ports::SubscriptionLookup;
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let moto = std::env::var("MOTO_ENDPOINT")
        .expect("MOTO_ENDPOINT is not set: run scripts/test.sh, which starts the emulator");
    let secrets = tools::moto::secretsmanager_client(&moto);
    let arn = tools::moto::fresh_secret(&secrets, "polo-api-key", "polo_key_old")
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let cache = Arc::new(CachedSecretSource::new(
        Arc::new(SecretsManagerSource::new(
            secrets.clone(),
            HashMap::from([(SecretId::PoloApiKey, arn.clone())]),
        )),
        clock.clone(),
    ));
    let polo = MockServer::start().await;
    let subscription = serde_json::from_slice::<serde_json::Value>(&activation(0, clock.now()))
        .unwrap()["data"]
        .clone();
    let holds = |key: &'static str| {
        Mock::given(method("GET"))
            .and(path("/v1/subscriptions/sub_1"))
            .and(header("authorization", format!("Bearer {key}").as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(subscription.clone()))
    };
    holds("polo_key_old").mount(&polo).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"type": "Unauthorized"})))
        .with_priority(10)
        .mount(&polo)
        .await;
    let client = PoloClient::new(
        SecureHttp::new(true, RetryPolicy::default()).unwrap(),
        polo.uri().parse().unwrap(),
        cache,
    );
    let id = SubscriptionId::parse("sub_1").unwrap();
    let deadline = || OffsetDateTime::now_utc() + Duration::seconds(5);
    client.get_subscription(&id, deadline()).await.unwrap();

    // RUNBOOK §4: the new key goes into the secret; Polo revokes the old
    // one before this container's cache would have expired.
    secrets
        .put_secret_value()
        .secret_id(&arn)
        .secret_string("polo_key_new")
        .send()
        .await
        .unwrap();
    polo.reset().await;
    holds("polo_key_new").mount(&polo).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"type": "Unauthorized"})))
        .with_priority(10)
        .mount(&polo)
        .await;

    let answer = client.get_subscription(&id, deadline()).await;

    assert!(answer.is_ok(), "{answer:?}");
    let keys: Vec<String> = polo
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter_map(|r| {
            r.headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(keys, ["Bearer polo_key_old", "Bearer polo_key_new"]);
}

#[tokio::test]
async fn rotated_paypal_credentials_are_read_again_when_paypal_refuses_the_old_ones() {
    use base64::Engine;
    use billing::paypal::{Cancelled, Canceller, PaypalClient};
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let moto = std::env::var("MOTO_ENDPOINT")
        .expect("MOTO_ENDPOINT is not set: run scripts/test.sh, which starts the emulator");
    let secrets = tools::moto::secretsmanager_client(&moto);
    let credentials = |id: &str| json!({"clientId": id, "clientSecret": format!("{id}-secret")});
    let arn = tools::moto::fresh_secret(&secrets, "paypal", &credentials("app_old").to_string())
        .await
        .unwrap();
    let cache = Arc::new(CachedSecretSource::new(
        Arc::new(SecretsManagerSource::new(
            secrets.clone(),
            HashMap::from([(SecretId::Paypal, arn.clone())]),
        )),
        Arc::new(ManualClock::new(OffsetDateTime::now_utc())),
    ));
    let paypal = MockServer::start().await;
    // PayPal as it stands for one REST app: its credentials get a token, and
    // only that token may cancel; anything else is refused 401.
    let serve_app = |app: &'static str| {
        let paypal = &paypal;
        async move {
            paypal.reset().await;
            let basic =
                base64::engine::general_purpose::STANDARD.encode(format!("{app}:{app}-secret"));
            Mock::given(method("POST"))
                .and(path("/v1/oauth2/token"))
                .and(header("authorization", format!("Basic {basic}").as_str()))
                .respond_with(ResponseTemplate::new(200).set_body_json(
                    json!({"access_token": format!("token-{app}"), "expires_in": 32400}),
                ))
                .mount(paypal)
                .await;
            Mock::given(method("POST"))
                .and(path("/v1/billing/subscriptions/I-ROTATION/cancel"))
                .and(header(
                    "authorization",
                    format!("Bearer token-{app}").as_str(),
                ))
                .respond_with(ResponseTemplate::new(204))
                .mount(paypal)
                .await;
            Mock::given(method("POST"))
                .respond_with(
                    ResponseTemplate::new(401)
                        .set_body_json(json!({"name": "AUTHENTICATION_FAILURE", "details": []})),
                )
                .with_priority(10)
                .mount(paypal)
                .await;
        }
    };
    serve_app("app_old").await;
    let client = PaypalClient::from_secret(
        SecureHttp::new(true, RetryPolicy::default()).unwrap(),
        paypal.uri().parse().unwrap(),
        cache,
    );
    let deadline = || OffsetDateTime::now_utc() + Duration::seconds(5);
    let cancel = || client.cancel("I-ROTATION", "Moved to Polo billing", deadline());
    assert!(matches!(cancel().await, Ok(Cancelled::Now)));

    // RUNBOOK §4: the new app's credentials go into the secret, then the old
    // app is deleted in PayPal (its token dies with it), all before this
    // container's cache or token would have expired.
    secrets
        .put_secret_value()
        .secret_id(&arn)
        .secret_string(credentials("app_new").to_string())
        .send()
        .await
        .unwrap();
    serve_app("app_new").await;

    let answer = cancel().await;

    assert!(matches!(answer, Ok(Cancelled::Now)), "{answer:?}");
    let seen: Vec<String> = paypal
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let auth = r
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let who = if auth.starts_with("Basic ") {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(auth.trim_start_matches("Basic "))
                    .unwrap_or_default();
                String::from_utf8_lossy(&decoded)
                    .split(':')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            } else {
                auth.trim_start_matches("Bearer ").to_owned()
            };
            format!("{} {who}", r.url.path())
        })
        .collect();
    assert_eq!(
        seen,
        [
            "/v1/billing/subscriptions/I-ROTATION/cancel token-app_old",
            "/v1/oauth2/token app_old",
            "/v1/oauth2/token app_new",
            "/v1/billing/subscriptions/I-ROTATION/cancel token-app_new",
        ]
    );
}
