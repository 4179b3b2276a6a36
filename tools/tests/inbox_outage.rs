//! The inbox against an outage longer than Polo's whole retry schedule
//! (10 attempts, backoff capped at 20 min: about 1 h 10 min): Convex answers
//! 503 for 40 minutes, then 429 for 40, then 401 (a rotated signing secret)
//! for 40, with the real adapters — DynamoDB on the emulator, the signed
//! Convex HTTP calls to the Convex stand-in behind a fault switch. Every
//! delivery is answered 202 (the endpoint never sees a failure, so Polo
//! never disables it), none is parked, the inbox age metric passes an hour
//! while they are stuck, and after recovery `webhook-retry` applies every
//! event exactly once with no person acting — including the last delivery,
//! whose Lambda was killed mid-handling.

use billing::accounts::{AccountStore, ConvexAccountStore, InMemoryAccountStore};
use billing::clock::{Clock, ManualClock};
use billing::domain::{AccountBilling, AccountId, BillingStatus, Policy};
use billing::http::{RetryPolicy, SecureHttp};
use billing::idempotency::{DynamoDbIdempotencyStore, IdempotencyStore, RecordKey, RecordStatus};
use billing::polo::catalogue::Catalogue;
use billing::polo::routing::Endpoint;
use billing::polo::verifier::sign;
use billing::ports::Ports;
use billing::provisioning::InMemoryProvisioner;
use billing::secrets::{CachedSecretSource, InMemorySecretSource, SecretId, SecretString};
use billing::telemetry::InMemoryMetrics;
use billing::webhook::{Intake, Sweeper, WebhookKeys};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration as StdDuration;
use time::{Duration, OffsetDateTime};
use tools::convex_stub::ConvexStub;
use tools::fault_switch::{Fault, FaultSwitch};
use tools::local::{LOCAL_PRODUCTS, LOCAL_WEBHOOK_SECRET};

const CONVEX_SECRET: &str = "whsec_aW5ib3gtb3V0YWdlLWNvbnZleC1zaWduaW5n";
const ACCOUNTS: usize = 4;

struct World {
    intakes: std::collections::HashMap<Endpoint, Intake>,
    sweeper: Sweeper,
    store: Arc<dyn IdempotencyStore>,
    accounts: Arc<InMemoryAccountStore>,
    orchestrator: Arc<InMemoryProvisioner>,
    metrics: Arc<InMemoryMetrics>,
    clock: Arc<ManualClock>,
    fault: FaultSwitch,
}

fn account(i: usize) -> String {
    format!("acct_outage_{i}")
}

async fn world() -> World {
    let moto = std::env::var("MOTO_ENDPOINT")
        .expect("MOTO_ENDPOINT is not set: run scripts/test.sh, which starts the emulator");
    let table = tools::moto::fresh_table(&moto, "outage").await.unwrap();
    let store: Arc<dyn IdempotencyStore> = Arc::new(DynamoDbIdempotencyStore::new(
        tools::moto::dynamodb_client(&moto),
        table,
    ));
    let accounts = Arc::new(InMemoryAccountStore::default());
    for i in 0..=ACCOUNTS {
        accounts.insert(AccountBilling::new(AccountId::parse(&account(i)).unwrap()));
    }
    let fault = FaultSwitch::default();
    let convex = Arc::new(ConvexStub::new(accounts.clone(), CONVEX_SECRET).unwrap());
    let router = fault.wrap(convex.router());
    let convex_url = tools::serve_on_loopback(router).await.unwrap();
    let retry = RetryPolicy {
        max_attempts: 2,
        base_delay: StdDuration::from_millis(10),
        max_delay: StdDuration::from_millis(50),
    };
    let http = SecureHttp::new(true, retry).unwrap();
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let metrics = Arc::new(InMemoryMetrics::default());
    let orchestrator = Arc::new(InMemoryProvisioner::default());
    let (starter, pro, enterprise) = LOCAL_PRODUCTS;
    let ports = Ports {
        accounts: Arc::new(ConvexAccountStore::new(
            http,
            format!("{convex_url}/").parse().unwrap(),
            SecretString::new(CONVEX_SECRET),
        )),
        provisioner: orchestrator.clone(),
        polo: None,
        paypal: None,
        idempotency: Some(store.clone()),
        clock: clock.clone(),
        metrics: metrics.clone(),
        catalogue: Arc::new(Catalogue::from_lists(starter, pro, enterprise).unwrap()),
        policy: Policy::default(),
    };
    let handler = ports.lifecycle_handler(&ports.updater());
    let secrets = Arc::new(InMemorySecretSource::default());
    secrets.set(
        SecretId::PoloWebhook,
        format!(r#"["{LOCAL_WEBHOOK_SECRET}"]"#),
    );
    let keys = Arc::new(WebhookKeys::new(Arc::new(CachedSecretSource::new(
        secrets,
        clock.clone(),
    ))));
    let intakes = ports.intakes(keys, handler.clone(), clock.clone()).unwrap();
    let sweeper = ports.sweeper(handler).unwrap();
    World {
        intakes,
        sweeper,
        store,
        accounts,
        orchestrator,
        metrics,
        clock,
        fault,
    }
}

/// `subscription.active` for account `i`: pro for a year (credentials issued).
fn activation(i: usize, now: OffsetDateTime) -> Vec<u8> {
    tools::sample::activation(&account(i), LOCAL_PRODUCTS.1, now)
}

fn delivery_id(i: usize) -> String {
    format!("msg_outage_{i}")
}

impl World {
    fn intake(&self) -> &Intake {
        &self.intakes[&Endpoint::SubscriptionUpdated]
    }

    /// One delivery as API Gateway hands it to the function, with a 9 s
    /// Lambda deadline on the world's clock.
    fn request(&self, i: usize) -> lambda_http::Request {
        let now = self.clock.now();
        let body = activation(i, now);
        let ts = now.unix_timestamp();
        let signature = sign(
            &SecretString::new(LOCAL_WEBHOOK_SECRET),
            &delivery_id(i),
            ts,
            &body,
        )
        .unwrap();
        let mut request = http::Request::builder()
            .method("POST")
            .uri(format!(
                "https://api.example{}",
                self.intake().endpoint.path()
            ))
            .header("webhook-id", delivery_id(i))
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signature)
            .body(lambda_http::Body::Binary(body))
            .unwrap();
        let mut context = lambda_http::Context::default();
        context.deadline = ((now + Duration::seconds(9)).unix_timestamp_nanos() / 1_000_000) as u64;
        request.extensions_mut().insert(context);
        request
    }

    async fn deliver(&self, i: usize) -> (u16, Value) {
        let response = self.intake().handle(self.request(i)).await;
        let status = response.status().as_u16();
        (
            status,
            serde_json::from_slice(response.body().as_ref()).unwrap(),
        )
    }

    fn set(&self, fault: Fault) {
        self.fault.set(fault);
    }

    /// `webhook-retry` every minute for `minutes`.
    async fn sweep_every_minute_for(&self, minutes: i64) {
        for _ in 0..minutes {
            self.clock.set(self.clock.now() + Duration::minutes(1));
            self.sweeper
                .run(self.clock.now() + Duration::seconds(50))
                .await
                .unwrap();
        }
    }

    async fn record_status(&self, i: usize) -> Option<RecordStatus> {
        let key = RecordKey::for_delivery(&delivery_id(i));
        self.store.get(&key).await.unwrap().map(|r| r.status)
    }
}

#[tokio::test]
async fn an_outage_longer_than_polos_retries_loses_nothing_and_needs_no_one() {
    let w = world().await;
    w.set(Fault::Status(503, None));

    // Every delivery meets the outage: all answered 202, all PENDING.
    for i in 0..ACCOUNTS {
        let (status, body) = w.deliver(i).await;
        assert_eq!(
            (status, body),
            (202, json!({"status": "accepted"})),
            "delivery {i}"
        );
        assert_eq!(w.record_status(i).await, Some(RecordStatus::Pending));
    }
    // The last one's Lambda is killed mid-handling, with Convex hanging.
    w.set(Fault::Hang);
    let killed = {
        let intake_request = w.request(ACCOUNTS);
        let intake = &w.intakes[&Endpoint::SubscriptionUpdated];
        let handling = intake.handle(intake_request);
        tokio::time::timeout(StdDuration::from_millis(500), handling).await
    };
    assert!(killed.is_err(), "the handling was cut off mid-call");
    assert_eq!(
        w.record_status(ACCOUNTS).await,
        Some(RecordStatus::InProgress)
    );

    w.set(Fault::Status(503, None));
    w.sweep_every_minute_for(40).await;
    w.set(Fault::Status(429, Some(1)));
    w.sweep_every_minute_for(40).await;
    w.set(Fault::Status(401, None));
    w.sweep_every_minute_for(40).await;

    for i in 0..=ACCOUNTS {
        assert_eq!(
            w.record_status(i).await,
            Some(RecordStatus::Pending),
            "event {i} still waits, not parked, after 2 h of faults"
        );
    }
    let ages = w.metrics.values("InboxOldestOpenAgeSeconds");
    assert!(
        ages.iter().any(|age| *age > 3600.0),
        "the inbox age alarm's metric passed an hour: {ages:?}"
    );

    // Recovery: the sweep's backoff is at most an hour.
    w.set(Fault::Healthy);
    w.sweep_every_minute_for(61).await;

    for i in 0..=ACCOUNTS {
        assert_eq!(
            w.record_status(i).await,
            Some(RecordStatus::Completed),
            "event {i}"
        );
        let id = AccountId::parse(&account(i)).unwrap();
        let state = w.accounts.get(&id).await.unwrap().unwrap();
        assert_eq!(state.billing_status, BillingStatus::Active, "account {i}");
        assert_eq!(state.version, 1, "account {i} was written exactly once");
        let decision = w.orchestrator.decision(&id).expect("credentials issued");
        assert!(decision.entitled);
    }
    assert_eq!(
        w.metrics.values("InboxOldestOpenAgeSeconds").last(),
        Some(&0.0),
        "the inbox is empty"
    );
    assert_eq!(
        w.metrics.total("WebhookOutcome", "Outcome", "parked"),
        0,
        "nothing was parked"
    );
}
