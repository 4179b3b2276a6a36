//! The local server: every function's real handler behind one router on
//! loopback, with the real routes — the four dashboard routes behind a
//! locally played API Gateway (dev JWT, claims where the authorizer puts
//! them: [`gateway`]), the five webhook routes through their intakes — the
//! reference billing panel ([`panel`]), and pages that stand in for what
//! lives outside this repo: the provisioning orchestrator ([`pages`]).
//!
//! [`assemble::start`] builds the whole system (the README's run command):
//! embedded defaults — in-memory account and idempotency stores, the Polo
//! sandbox in-process, reached through the real `PoloClient` over loopback
//! HTTP, its clock shared with the domain — or a real adapter per port.
//! [`LocalStack::new`] is the webhook-only preset over an in-memory Polo
//! that knows the sample events' subscriptions (load tests, send-event).

pub mod assemble;
pub mod changes;
pub mod console;
pub mod gateway;
pub mod jwt;
pub mod options;
pub mod pages;
pub mod panel;
pub mod walkthrough;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use billing::accounts::InMemoryAccountStore;
use billing::clock::SystemClock;
use billing::dashboard::{Dashboard, Route};
use billing::domain::{AccountBilling, AccountId, Policy};
use billing::idempotency::InMemoryIdempotencyStore;
use billing::polo::catalogue::Catalogue;
use billing::polo::memory::InMemoryPolo;
use billing::polo::routing::Endpoint;
use billing::ports::Ports;
use billing::provisioning::InMemoryProvisioner;
use billing::reconcile::Reconciler;
use billing::secrets::{CachedSecretSource, InMemorySecretSource, SecretId, SecretString};
use billing::telemetry::EmfStdout;
use billing::webhook::{Intake, WebhookKeys};
use jwt::DevJwt;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// The documented local webhook secret (never valid anywhere else).
pub const LOCAL_WEBHOOK_SECRET: &str = "whsec_bG9jYWwtdGVzdC1zZWNyZXQtZG8tbm90LXVzZS1pbi1wcm9k";
/// The documented local provisioning signing secret (`.env.example`).
pub const LOCAL_PROVISIONING_SECRET: &str = "whsec_bG9jYWwtcHJvdmlzaW9uaW5nLXNpZ25pbmctc2VjcmV0";
/// The documented local Convex signing secret (`.env.example`).
pub const LOCAL_CONVEX_SECRET: &str = "whsec_bG9jYWwtY29udmV4LXNpZ25pbmctc2VjcmV0";
/// The accounts the local stack starts with (the sample events use the first).
pub const LOCAL_ACCOUNTS: [&str; 3] = ["acct_local_1", "acct_local_2", "acct_local_3"];
/// The local product catalogue (the sample events sell `prod_local_pro`).
pub const LOCAL_PRODUCTS: (&str, &str, &str) = (
    "prod_local_starter",
    "prod_local_pro",
    "prod_local_enterprise",
);

/// The in-memory adapters in use, inspectable through `/dev/*`.
#[derive(Default)]
pub struct Memory {
    pub store: Option<Arc<InMemoryIdempotencyStore>>,
    pub accounts: Option<Arc<InMemoryAccountStore>>,
    /// What the (embedded) orchestrator holds.
    pub orchestrator: Option<Arc<InMemoryProvisioner>>,
}

/// The assembled local system.
pub struct LocalStack {
    pub intakes: HashMap<Endpoint, Intake>,
    /// The four dashboard functions (absent in the webhook-only preset).
    pub dashboard: Option<Dashboard>,
    pub jwt: DevJwt,
    pub memory: Memory,
    /// The embedded provisioning orchestrator's receiving endpoint.
    pub receiver: Option<Arc<crate::provisioning_receiver::ProvisioningReceiver>>,
    /// Where the sandbox's admin API is, if it runs in-process.
    pub sandbox_url: Option<String>,
    /// The hourly `reconcile` function (absent in the webhook-only preset),
    /// also run on demand by `POST /dev/reconcile`.
    pub reconciler: Option<Arc<Reconciler>>,
    /// The app's URL and each port's adapter, once serving: what
    /// `GET /dev/walkthrough` prints again (with a fresh token).
    pub walkthrough: std::sync::OnceLock<(String, Vec<(&'static str, String)>)>,
}

fn seeded_accounts() -> Result<Arc<InMemoryAccountStore>, String> {
    let accounts = Arc::new(InMemoryAccountStore::default());
    for id in LOCAL_ACCOUNTS {
        let id = AccountId::parse(id).map_err(|e| e.to_string())?;
        accounts.insert(AccountBilling::new(id));
    }
    Ok(accounts)
}

fn local_catalogue() -> Result<Catalogue, String> {
    let (starter, pro, enterprise) = LOCAL_PRODUCTS;
    Catalogue::from_lists(starter, pro, enterprise).map_err(|e| format!("{e:?}"))
}

impl LocalStack {
    /// The webhook-only preset: every webhook route over in-memory stores
    /// and an in-memory Polo that knows the subscriptions of the sample
    /// events in `events_dir`; `webhook_secrets` is the JSON list (or single
    /// secret) Polo signs with.
    pub fn new(webhook_secrets: &str, events_dir: &Path) -> Result<Self, String> {
        let clock = Arc::new(SystemClock);
        let secrets = Arc::new(InMemorySecretSource::default());
        secrets.set(SecretId::PoloWebhook, webhook_secrets);
        let keys = Arc::new(WebhookKeys::new(Arc::new(CachedSecretSource::new(
            secrets,
            clock.clone(),
        ))));
        let store = Arc::new(InMemoryIdempotencyStore::default());
        let accounts = seeded_accounts()?;
        let orchestrator = Arc::new(InMemoryProvisioner::default());
        let polo = Arc::new(InMemoryPolo::default());
        for subscription in crate::sample::subscriptions(events_dir)? {
            polo.put_subscription(subscription);
        }
        let ports = Ports {
            accounts: accounts.clone(),
            provisioner: orchestrator.clone(),
            polo: Some(polo),
            paypal: None,
            idempotency: Some(store.clone()),
            clock: clock.clone(),
            metrics: Arc::new(EmfStdout),
            catalogue: Arc::new(local_catalogue()?),
            policy: Policy::default(),
        };
        let handler = ports.lifecycle_handler(&ports.updater());
        let intakes = ports
            .intakes(keys, handler, clock)
            .map_err(|e| e.to_string())?;
        Ok(Self {
            intakes,
            dashboard: None,
            jwt: DevJwt::new(SecretString::new(jwt::LOCAL_JWT_KEY)),
            memory: Memory {
                store: Some(store),
                accounts: Some(accounts),
                orchestrator: Some(orchestrator),
            },
            receiver: None,
            sandbox_url: None,
            walkthrough: Default::default(),
            reconciler: None,
        })
    }

    /// `webhook-retry` over the intakes' own store, handler and clock (the
    /// claims' leases and next attempts run on the same time).
    pub fn sweeper(&self) -> Option<billing::webhook::Sweeper> {
        let intake = self.intakes.values().next()?;
        Some(billing::webhook::Sweeper {
            store: intake.store.clone(),
            handler: intake.handler.clone(),
            clock: intake.clock.clone(),
            metrics: intake.metrics.clone(),
        })
    }

    /// Every route: webhooks, dashboard, the stand-in pages and `/dev/*`.
    pub fn router(self: Arc<Self>) -> Router {
        let mut router = Router::new()
            .route("/", get(|| async { Redirect::to("/billing") }))
            .route("/dev/state", get(pages::state))
            .route("/dev/token", get(pages::token))
            .route("/dev/walkthrough", get(pages::walkthrough))
            .route("/dev/credentials", get(pages::credentials))
            .route("/dev/reconcile", post(pages::reconcile))
            .route("/dev/sync", post(pages::sync))
            .route("/dev/retry", post(pages::retry))
            .route("/billing", get(panel::page))
            .route("/billing/panel.js", get(panel::script));
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
        for route in Route::ALL {
            let (method, path) = route.route_key().split_once(' ').unwrap_or(("GET", "/"));
            let handler = move |State(stack): State<Arc<LocalStack>>,
                                parts: http::request::Parts,
                                body: Bytes| async move {
                stack.dashboard_route(route, parts, body).await
            };
            router = match method {
                "GET" => router.route(path, get(handler)),
                _ => router.route(path, post(handler)),
            };
        }
        let receiver = self.receiver.clone();
        let mut router = router.with_state(self);
        if let Some(receiver) = receiver {
            router = router.nest("/dev/provisioning", receiver.router());
        }
        router
    }

    async fn webhook(
        &self,
        endpoint: Endpoint,
        parts: http::request::Parts,
        body: Bytes,
    ) -> Response {
        let Some(intake) = self.intakes.get(&endpoint) else {
            return http::StatusCode::NOT_FOUND.into_response();
        };
        let started = std::time::Instant::now();
        let account = console::webhook_account(&body);
        let request =
            lambda_http::Request::from_parts(parts, lambda_http::Body::Binary(body.to_vec()));
        let response = intake.handle(request).await;
        let (parts, body) = response.into_parts();
        console::RequestLine {
            method: "POST",
            path: &endpoint.path(),
            status: parts.status.as_u16(),
            account: account.as_deref(),
            outcome: console::outcome_of(&body),
            millis: started.elapsed().as_millis(),
        }
        .print();
        (parts, body.to_vec()).into_response()
    }

    async fn dashboard_route(
        &self,
        route: Route,
        parts: http::request::Parts,
        body: Bytes,
    ) -> Response {
        match &self.dashboard {
            Some(dashboard) => {
                let started = std::time::Instant::now();
                let (response, account) =
                    gateway::invoke(dashboard, &self.jwt, route, parts, body).await;
                let (parts, body) = response.into_parts();
                let body = axum::body::to_bytes(body, usize::MAX)
                    .await
                    .unwrap_or_default();
                let (method, path) = route.route_key().split_once(' ').unwrap_or(("GET", "/"));
                console::RequestLine {
                    method,
                    path,
                    status: parts.status.as_u16(),
                    account: account.as_deref(),
                    outcome: console::outcome_of(&body),
                    millis: started.elapsed().as_millis(),
                }
                .print();
                (parts, body).into_response()
            }
            None => (
                http::StatusCode::NOT_FOUND,
                Json(serde_json::json!({"message": "Not Found"})),
            )
                .into_response(),
        }
    }
}
