//! The local server: every webhook function's real intake behind one router
//! on loopback, with embedded defaults — in-memory idempotency store, the
//! webhook secret from `POLO_WEBHOOK_SECRETS` or the documented local test
//! secret — so it runs with no AWS account and no Docker.
//!
//! It plays API Gateway: each HTTP request becomes the `lambda_http`
//! request a function would receive (raw body bytes, headers) and the
//! function's answer goes back unchanged.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use billing::clock::SystemClock;
use billing::handlers::webhooks::RecordingHandler;
use billing::idempotency::InMemoryIdempotencyStore;
use billing::polo::routing::Endpoint;
use billing::secrets::{CachedSecretSource, InMemorySecretSource, SecretId};
use billing::telemetry::EmfStdout;
use billing::webhook::{Intake, WebhookKeys};
use std::collections::HashMap;
use std::sync::Arc;

/// The documented local webhook secret (never valid anywhere else).
pub const LOCAL_WEBHOOK_SECRET: &str = "whsec_bG9jYWwtdGVzdC1zZWNyZXQtZG8tbm90LXVzZS1pbi1wcm9k";

/// The assembled local system and its inspectable in-memory state.
pub struct LocalStack {
    pub intakes: HashMap<Endpoint, Intake>,
    pub store: Arc<InMemoryIdempotencyStore>,
    pub handler: Arc<RecordingHandler>,
}

impl LocalStack {
    /// `webhook_secrets` is the JSON list (or single secret) Polo signs with.
    pub fn new(webhook_secrets: &str) -> Self {
        let clock = Arc::new(SystemClock);
        let secrets = Arc::new(InMemorySecretSource::default());
        secrets.set(SecretId::PoloWebhook, webhook_secrets);
        let keys = Arc::new(WebhookKeys::new(Arc::new(CachedSecretSource::new(
            secrets,
            clock.clone(),
        ))));
        let store = Arc::new(InMemoryIdempotencyStore::default());
        let handler = Arc::new(RecordingHandler::default());
        let intakes = Endpoint::ALL
            .into_iter()
            .map(|endpoint| {
                let intake = Intake {
                    endpoint,
                    store: store.clone(),
                    keys: keys.clone(),
                    clock: clock.clone(),
                    metrics: Arc::new(EmfStdout),
                    handler: handler.clone(),
                    fallback_lease: time::Duration::seconds(9),
                };
                (endpoint, intake)
            })
            .collect();
        Self {
            intakes,
            store,
            handler,
        }
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
        let request = lambda_http::Request::from_parts(parts, lambda_http::Body::Binary(body.to_vec()));
        let response = intake.handle(request).await;
        let (parts, body) = response.into_parts();
        (parts, body.to_vec()).into_response()
    }
}

/// `GET /dev/state`: what the local system recorded, for QA and the walkthrough.
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
    let handled: Vec<_> = stack
        .handler
        .recorded()
        .into_iter()
        .map(|r| serde_json::json!({"webhookId": r.webhook_id, "type": r.event.event_type.as_str()}))
        .collect();
    Json(serde_json::json!({"idempotency": records, "handled": handled}))
}
