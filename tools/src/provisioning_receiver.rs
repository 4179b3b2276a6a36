//! A stand-in provisioning orchestrator: verifies each push's signature,
//! applies it only if its version is newer than the last applied (the real
//! orchestrator's rule), and shows which accounts hold credentials.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use billing::polo::verifier::WebhookSecret;
use billing::provisioning::{InMemoryProvisioner, Provisioner, ProvisioningRequest};
use billing::secrets::SecretString;
use std::sync::Arc;
use time::OffsetDateTime;

pub struct ProvisioningReceiver {
    pub orchestrator: Arc<InMemoryProvisioner>,
    secret: WebhookSecret,
}

impl ProvisioningReceiver {
    pub fn new(
        orchestrator: Arc<InMemoryProvisioner>,
        signing_secret: &str,
    ) -> Result<Self, String> {
        let secret =
            WebhookSecret::new(&SecretString::new(signing_secret)).map_err(|e| e.to_string())?;
        Ok(Self {
            orchestrator,
            secret,
        })
    }

    /// `POST /` receives pushes; `GET /` lists every push received.
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/", post(receive))
            .route("/", get(list))
            .with_state(self)
    }
}

async fn receive(
    State(receiver): State<Arc<ProvisioningReceiver>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    if !crate::signed(&headers, &body, &receiver.secret) {
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(request) = serde_json::from_slice::<ProvisioningRequest>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    match receiver
        .orchestrator
        .push(&request, OffsetDateTime::now_utc())
        .await
    {
        Ok(()) => StatusCode::ACCEPTED,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

async fn list(State(receiver): State<Arc<ProvisioningReceiver>>) -> Json<Vec<ProvisioningRequest>> {
    Json(receiver.orchestrator.pushes())
}
