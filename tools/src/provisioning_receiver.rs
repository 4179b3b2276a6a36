//! A stand-in provisioning orchestrator: verifies each push's signature,
//! applies it only if its version is newer than the last applied (the real
//! orchestrator's rule), and shows which accounts hold credentials (the
//! local terminal prints a line when an account's are issued or revoked).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use billing::provisioning::{InMemoryProvisioner, Provisioner, ProvisioningRequest};
use std::sync::Arc;
use time::OffsetDateTime;

pub struct ProvisioningReceiver {
    pub orchestrator: Arc<InMemoryProvisioner>,
    secrets: crate::AcceptedSecrets,
}

impl ProvisioningReceiver {
    pub fn new(
        orchestrator: Arc<InMemoryProvisioner>,
        signing_secret: &str,
    ) -> Result<Self, String> {
        Ok(Self {
            orchestrator,
            secrets: crate::AcceptedSecrets::new(&[signing_secret])?,
        })
    }

    /// The secrets accepted from now on: several while one is rotated (the
    /// verifying side's half of RUNBOOK §4).
    pub fn accept(&self, signing_secrets: &[&str]) -> Result<(), String> {
        self.secrets.accept(signing_secrets)
    }

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
    if !crate::signed(&headers, &body, &receiver.secrets.current()) {
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(request) = serde_json::from_slice::<ProvisioningRequest>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let before = receiver.orchestrator.decision(&request.account_id);
    match receiver
        .orchestrator
        .push(&request, OffsetDateTime::now_utc())
        .await
    {
        Ok(()) => {
            if let Some(after) = receiver.orchestrator.decision(&request.account_id) {
                crate::local::changes::print(|colour| {
                    crate::local::changes::credentials_line(
                        before.as_ref(),
                        &after,
                        OffsetDateTime::now_utc(),
                        colour,
                    )
                });
            }
            StatusCode::ACCEPTED
        }
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

async fn list(State(receiver): State<Arc<ProvisioningReceiver>>) -> Json<Vec<ProvisioningRequest>> {
    Json(receiver.orchestrator.pushes())
}
