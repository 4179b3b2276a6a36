//! The webhook side of the system assembled on in-memory ports: the five
//! intakes with the real lifecycle handler, one account store, one
//! orchestrator, one Polo. Deliveries go in as real API Gateway v2 events.

use super::apigw;
use super::polo::{signed_headers, WEBHOOK_SECRET};
use billing::accounts::InMemoryAccountStore;
use billing::clock::{Clock, ManualClock};
use billing::domain::{AccountBilling, AccountId, Policy};
use billing::handlers::provisioning_sync::{self, SyncReport};
use billing::idempotency::InMemoryIdempotencyStore;
use billing::polo::catalogue::Catalogue;
use billing::polo::memory::InMemoryPolo;
use billing::polo::routing::Endpoint;
use billing::ports::Ports;
use billing::provisioning::{InMemoryProvisioner, ProvisioningRequest};
use billing::secrets::{CachedSecretSource, InMemorySecretSource, SecretId};
use billing::telemetry::InMemoryMetrics;
use billing::updater::AccountUpdater;
use billing::webhook::{Intake, SweepReport, WebhookKeys};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

pub const ACCOUNT: &str = "acct_1";

pub struct System {
    /// Every log line of the system goes to the whole-run secret scan.
    pub logs: super::logs::Captured,
    _log_guard: tracing::subscriber::DefaultGuard,
    pub intakes: HashMap<Endpoint, Intake>,
    pub accounts: Arc<InMemoryAccountStore>,
    pub provisioner: Arc<InMemoryProvisioner>,
    pub polo: Arc<InMemoryPolo>,
    pub store: Arc<InMemoryIdempotencyStore>,
    pub clock: Arc<ManualClock>,
    pub metrics: Arc<InMemoryMetrics>,
    pub updater: Arc<AccountUpdater>,
    /// The ports everything above is built from: a test that needs one
    /// port of its own replaces it (`Ports { accounts, ..system.ports.clone() }`).
    pub ports: Ports,
}

pub fn catalogue() -> Catalogue {
    Catalogue::from_lists(
        "prod_starter",
        "prod_pro_monthly,prod_pro_legacy",
        "prod_enterprise",
    )
    .unwrap()
}

impl System {
    pub fn new(now: OffsetDateTime) -> Self {
        let (logs, _log_guard) = super::logs::capture();
        let clock = Arc::new(ManualClock::new(now));
        let secrets = Arc::new(InMemorySecretSource::default());
        secrets.set(SecretId::PoloWebhook, format!(r#"["{WEBHOOK_SECRET}"]"#));
        let keys = Arc::new(WebhookKeys::new(Arc::new(CachedSecretSource::new(
            secrets,
            clock.clone(),
        ))));
        let accounts = Arc::new(InMemoryAccountStore::default());
        accounts.insert(AccountBilling::new(AccountId::parse(ACCOUNT).unwrap()));
        let provisioner = Arc::new(InMemoryProvisioner::default());
        let polo = Arc::new(InMemoryPolo::default());
        let store = Arc::new(InMemoryIdempotencyStore::default());
        let metrics = Arc::new(InMemoryMetrics::default());
        let ports = Ports {
            accounts: accounts.clone(),
            provisioner: provisioner.clone(),
            polo: Some(polo.clone()),
            paypal: None,
            idempotency: Some(store.clone()),
            clock: clock.clone(),
            metrics: metrics.clone(),
            catalogue: Arc::new(catalogue()),
            policy: Policy::default(),
        };
        let updater = ports.updater();
        let handler = ports.lifecycle_handler(&updater);
        let intakes = ports.intakes(keys, handler, clock.clone()).unwrap();
        Self {
            logs,
            _log_guard,
            intakes,
            accounts,
            provisioner,
            polo,
            store,
            clock,
            metrics,
            updater,
            ports,
        }
    }

    /// Delivers `{type, data}` to the endpoint registered for its type.
    pub async fn deliver(&self, id: &str, event_type: &str, data: Value) -> (u16, Value) {
        let endpoint = endpoint_for(event_type);
        self.deliver_to(endpoint, id, event_type, data).await
    }

    pub async fn deliver_to(
        &self,
        endpoint: Endpoint,
        id: &str,
        event_type: &str,
        data: Value,
    ) -> (u16, Value) {
        let body = super::polo::envelope(event_type, data);
        self.deliver_raw(endpoint, id, &body).await
    }

    pub async fn deliver_raw(&self, endpoint: Endpoint, id: &str, body: &[u8]) -> (u16, Value) {
        let now = self.clock.now();
        let headers = signed_headers(WEBHOOK_SECRET, id, now.unix_timestamp(), body);
        let json = apigw::event_json(&endpoint.path(), &headers, body, false);
        let deadline_ms = ((now + Duration::seconds(9)).unix_timestamp() * 1000) as u64;
        let response = self.intakes[&endpoint]
            .handle(apigw::request(&json, deadline_ms))
            .await;
        let status = response.status().as_u16();
        (
            status,
            serde_json::from_slice(response.body().as_ref()).unwrap(),
        )
    }

    pub fn account(&self) -> AccountBilling {
        self.accounts
            .account(&AccountId::parse(ACCOUNT).unwrap())
            .unwrap()
    }

    pub fn pushes(&self) -> Vec<ProvisioningRequest> {
        self.provisioner.pushes()
    }

    /// The orchestrator's current decision for the account.
    pub fn decision(&self) -> Option<ProvisioningRequest> {
        self.provisioner
            .decision(&AccountId::parse(ACCOUNT).unwrap())
    }

    pub async fn provisioning_sync(&self) -> SyncReport {
        let deadline = self.clock.now() + Duration::seconds(50);
        provisioning_sync::run(
            &self.updater,
            &*self.accounts,
            &*self.clock,
            &*self.metrics,
            "test",
            deadline,
        )
        .await
        .unwrap()
    }

    /// One run of `webhook-retry` over the same store and handler.
    pub async fn sweep(&self) -> SweepReport {
        let any = self
            .intakes
            .values()
            .next()
            .expect("the system has intakes");
        let sweeper = self.ports.sweeper(any.handler.clone()).unwrap();
        sweeper
            .run(self.clock.now() + Duration::seconds(50))
            .await
            .expect("the sweep lists the open records")
    }
}

pub fn endpoint_for(event_type: &str) -> Endpoint {
    let t = billing::polo::events::EventType::parse(event_type);
    Endpoint::ALL
        .into_iter()
        .find(|e| e.accepts(&t))
        .unwrap_or(Endpoint::SubscriptionUpdated)
}

/// A subscription snapshot with the fields a lifecycle test varies.
pub fn sub(id: &str, status: &str, product: &str, modified_at: &str, period_end: &str) -> Value {
    let mut s = super::polo::subscription(id, status, ACCOUNT);
    s["product_id"] = product.into();
    s["modified_at"] = modified_at.into();
    s["current_period_end"] = period_end.into();
    s
}
