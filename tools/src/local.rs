//! The local server: every webhook function's real intake and lifecycle
//! behind one router on loopback, with embedded defaults — in-memory
//! idempotency store, account store and provisioning orchestrator, the
//! webhook secret from `POLO_WEBHOOK_SECRETS` or the documented local test
//! secret — so it runs with no AWS account and no Docker.
//!
//! It plays API Gateway: each HTTP request becomes the `lambda_http`
//! request a function would receive (raw body bytes, headers) and the
//! function's answer goes back unchanged.
//!
//! Until the Polo sandbox exists, the Polo that `order.paid` consults knows
//! the subscriptions of the sample events in `events/`.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use billing::accounts::InMemoryAccountStore;
use billing::clock::SystemClock;
use billing::domain::{AccountBilling, AccountId, Policy};
use billing::handlers::lifecycle::LifecycleHandler;
use billing::idempotency::InMemoryIdempotencyStore;
use billing::polo::catalogue::Catalogue;
use billing::polo::memory::InMemoryPolo;
use billing::polo::routing::Endpoint;
use billing::provisioning::InMemoryProvisioner;
use billing::secrets::{CachedSecretSource, InMemorySecretSource, SecretId};
use billing::telemetry::EmfStdout;
use billing::updater::AccountUpdater;
use billing::webhook::{Intake, WebhookKeys};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// The documented local webhook secret (never valid anywhere else).
pub const LOCAL_WEBHOOK_SECRET: &str = "whsec_bG9jYWwtdGVzdC1zZWNyZXQtZG8tbm90LXVzZS1pbi1wcm9k";
/// The accounts the local stack starts with (the sample events use the first).
pub const LOCAL_ACCOUNTS: [&str; 3] = ["acct_local_1", "acct_local_2", "acct_local_3"];
/// The local product catalogue (the sample events sell `prod_local_pro`).
pub const LOCAL_PRODUCTS: (&str, &str, &str) = (
    "prod_local_starter",
    "prod_local_pro",
    "prod_local_enterprise",
);

/// The assembled local system and its inspectable in-memory state.
pub struct LocalStack {
    pub intakes: HashMap<Endpoint, Intake>,
    pub store: Arc<InMemoryIdempotencyStore>,
    pub accounts: Arc<InMemoryAccountStore>,
    pub orchestrator: Arc<InMemoryProvisioner>,
    pub polo: Arc<InMemoryPolo>,
}

impl LocalStack {
    /// `webhook_secrets` is the JSON list (or single secret) Polo signs with;
    /// `events_dir` holds the sample events whose subscriptions Polo knows.
    pub fn new(webhook_secrets: &str, events_dir: &Path) -> Result<Self, String> {
        let clock = Arc::new(SystemClock);
        let secrets = Arc::new(InMemorySecretSource::default());
        secrets.set(SecretId::PoloWebhook, webhook_secrets);
        let keys = Arc::new(WebhookKeys::new(Arc::new(CachedSecretSource::new(
            secrets,
            clock.clone(),
        ))));
        let store = Arc::new(InMemoryIdempotencyStore::default());
        let accounts = Arc::new(InMemoryAccountStore::default());
        for id in LOCAL_ACCOUNTS {
            let id = AccountId::parse(id).map_err(|e| e.to_string())?;
            accounts.insert(AccountBilling::new(id));
        }
        let orchestrator = Arc::new(InMemoryProvisioner::default());
        let polo = Arc::new(InMemoryPolo::default());
        for subscription in crate::sample::subscriptions(events_dir)? {
            polo.put_subscription(subscription);
        }
        let (starter, pro, enterprise) = LOCAL_PRODUCTS;
        let catalogue =
            Catalogue::from_lists(starter, pro, enterprise).map_err(|e| format!("{e:?}"))?;
        let metrics = Arc::new(EmfStdout);
        let handler = Arc::new(LifecycleHandler {
            updater: Arc::new(AccountUpdater {
                accounts: accounts.clone(),
                provisioner: orchestrator.clone(),
                clock: clock.clone(),
                metrics: metrics.clone(),
                policy: Policy::default(),
            }),
            catalogue: Arc::new(catalogue),
            polo: Some(polo.clone()),
        });
        let intakes = Intake::for_every_endpoint(
            store.clone(),
            keys,
            clock.clone(),
            metrics.clone(),
            handler,
        );
        Ok(Self {
            intakes,
            store,
            accounts,
            orchestrator,
            polo,
        })
    }

    pub fn router(self: Arc<Self>) -> Router {
        let mut router = Router::new().route("/dev/state", get(state));
        for endpoint in Endpoint::ALL {
            router = router.route(
                &endpoint.path(),
                post(
                    move |State(stack): State<Arc<LocalStack>>,
                          parts: http::request::Parts,
                          body: Bytes| async move {
                        stack.webhook(endpoint, parts, body).await
                    },
                ),
            );
        }
        router.with_state(self)
    }

    async fn webhook(
        &self,
        endpoint: Endpoint,
        parts: http::request::Parts,
        body: Bytes,
    ) -> axum::response::Response {
        let Some(intake) = self.intakes.get(&endpoint) else {
            return http::StatusCode::NOT_FOUND.into_response();
        };
        let request =
            lambda_http::Request::from_parts(parts, lambda_http::Body::Binary(body.to_vec()));
        let response = intake.handle(request).await;
        let (parts, body) = response.into_parts();
        (parts, body.to_vec()).into_response()
    }
}

/// `GET /dev/state`: accounts, what the orchestrator holds, and the
/// idempotency records — for QA and the walkthrough.
async fn state(State(stack): State<Arc<LocalStack>>) -> Json<serde_json::Value> {
    let records: Vec<_> = stack
        .store
        .snapshot()
        .into_iter()
        .map(|r| {
            serde_json::json!({
                "key": r.delivery.key.as_str(),
                "status": r.status.as_str(),
                "endpoint": r.delivery.endpoint,
                "eventType": r.delivery.event_type,
                "accountId": r.delivery.account_id,
                "parkReason": r.park_reason.map(|p| p.code),
            })
        })
        .collect();
    let credentials: Vec<_> = LOCAL_ACCOUNTS
        .iter()
        .filter_map(|id| AccountId::parse(id).ok())
        .filter_map(|id| stack.orchestrator.decision(&id))
        .collect();
    Json(serde_json::json!({
        "accounts": stack.accounts.all(),
        "credentials": credentials,
        "provisioningPushes": stack.orchestrator.pushes().len(),
        "idempotency": records,
    }))
}
