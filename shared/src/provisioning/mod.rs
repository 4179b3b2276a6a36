//! The `Provisioner` port: tells the provisioning orchestrator whether an
//! account's managed provider credentials should exist. Level-triggered:
//! each push carries the whole desired state and the account version, and
//! the orchestrator ignores versions older than the last it applied, so a
//! repeated or late push is harmless.

mod http;
mod memory;

pub use self::http::HttpProvisioner;
pub use memory::InMemoryProvisioner;

use crate::domain::{AccountBilling, AccountId, BillingStatus, PlanTier};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The push's body (docs/API_PROVISIONING_SERVICE.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisioningRequest {
    pub account_id: AccountId,
    pub version: u64,
    pub entitled: bool,
    pub tier: PlanTier,
    pub status: BillingStatus,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Why: the event type or job that changed the entitlement.
    pub reason: String,
    /// The webhook id (or job run) behind it, for the orchestrator's logs.
    pub source_event_id: String,
}

impl ProvisioningRequest {
    pub fn for_account(account: &AccountBilling, reason: &str, source_event_id: &str) -> Self {
        Self {
            account_id: account.account_id.clone(),
            version: account.version,
            entitled: account.desired_entitlement.entitled,
            tier: account.desired_entitlement.tier,
            status: account.billing_status,
            expires_at: account.desired_entitlement.expires_at,
            reason: reason.to_owned(),
            source_event_id: source_event_id.to_owned(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// Unreachable, timed out or 5xx: `provisioning-sync` pushes again.
    #[error("provisioning orchestrator unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The orchestrator refused the request (4xx): a contract bug, alarmed.
    #[error("provisioning orchestrator refused the push: {0}")]
    Rejected(String),
}

#[async_trait]
pub trait Provisioner: Send + Sync {
    /// Delivers the desired state; `Ok` means the orchestrator acknowledged it.
    async fn push(
        &self,
        request: &ProvisioningRequest,
        deadline: OffsetDateTime,
    ) -> Result<(), ProvisionError>;
}
