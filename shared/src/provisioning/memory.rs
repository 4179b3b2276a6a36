//! An in-memory orchestrator: records every push, applies a push only when
//! its version is newer than the last applied one (the real orchestrator's
//! rule), and can be made to fail like an outage, or to refuse chosen
//! accounts for good.

use super::*;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct InMemoryProvisioner {
    pushes: Mutex<Vec<ProvisioningRequest>>,
    applied: Mutex<HashMap<AccountId, ProvisioningRequest>>,
    failing: AtomicBool,
    losing_answers: AtomicBool,
    refused: Mutex<HashSet<AccountId>>,
}

impl InMemoryProvisioner {
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// Pushes land but their answers are lost (a timeout after the fact):
    /// the caller sees a failure, the orchestrator applied the push.
    pub fn set_losing_answers(&self, losing: bool) {
        self.losing_answers.store(losing, Ordering::SeqCst);
    }

    /// Every push for `account` is refused (4xx), as the orchestrator does
    /// with an account it will not provision.
    pub fn refuse(&self, account: &AccountId) {
        self.refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(account.clone());
    }

    /// Every push received, in order (including refused-as-old ones).
    pub fn pushes(&self) -> Vec<ProvisioningRequest> {
        self.pushes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The orchestrator's current decision for an account.
    pub fn decision(&self, account: &AccountId) -> Option<ProvisioningRequest> {
        self.applied
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(account)
            .cloned()
    }
}

#[async_trait]
impl Provisioner for InMemoryProvisioner {
    async fn push(
        &self,
        request: &ProvisioningRequest,
        _deadline: OffsetDateTime,
    ) -> Result<(), ProvisionError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(ProvisionError::Unavailable(
                "orchestrator set to fail".into(),
            ));
        }
        if self
            .refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&request.account_id)
        {
            return Err(ProvisionError::Rejected(
                "orchestrator refuses the account".into(),
            ));
        }
        self.pushes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(request.clone());
        let mut applied = self.applied.lock().unwrap_or_else(|p| p.into_inner());
        let newer = applied
            .get(&request.account_id)
            .is_none_or(|last| request.version > last.version);
        if newer {
            applied.insert(request.account_id.clone(), request.clone());
        }
        if self.losing_answers.load(Ordering::SeqCst) {
            return Err(ProvisionError::Unavailable(
                "the orchestrator's answer was lost".into(),
            ));
        }
        Ok(())
    }
}
