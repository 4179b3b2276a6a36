//! The in-memory account store and orchestrator behind gates: each call
//! waits for the scheduler, then fails, succeeds, or takes effect and loses
//! its answer, as the scheduler says. One gated pair per operation (the
//! gate must know whose call it is), all over the same in-memory state.

use super::scheduler::{Call, Outcome, Scheduler};
use async_trait::async_trait;
use billing::accounts::{
    AccountPage, AccountStore, AccountStoreError, AuditEntry, InMemoryAccountStore, Page,
};
use billing::domain::{AccountBilling, AccountId, Entitlement, ProvisionedEntitlement};
use billing::provisioning::{
    InMemoryProvisioner, ProvisionError, Provisioner, ProvisioningRequest,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

/// Every desired entitlement the account store ever committed, by version:
/// what a push of that version must carry.
pub type History = Arc<Mutex<HashMap<u64, Entitlement>>>;

fn unavailable(call: Call) -> AccountStoreError {
    AccountStoreError::Unavailable(format!("explorer: {call:?} failed").into())
}

pub struct GatedAccounts {
    pub inner: Arc<InMemoryAccountStore>,
    /// None: no gate (the final, healthy sync), history still recorded.
    pub scheduler: Option<Arc<Scheduler>>,
    pub op: usize,
    pub history: History,
}

impl GatedAccounts {
    /// Waits at the gate and runs `call` as the outcome says.
    async fn through<T, F>(&self, call: Call, run: F) -> Result<T, AccountStoreError>
    where
        F: std::future::Future<Output = Result<T, AccountStoreError>>,
    {
        let outcome = match &self.scheduler {
            Some(scheduler) => scheduler.gate(self.op, call).await,
            None => Outcome::Ok,
        };
        match outcome {
            Outcome::Ok => run.await,
            Outcome::FailBefore => Err(unavailable(call)),
            Outcome::FailAfter => {
                let _ = run.await;
                Err(unavailable(call))
            }
        }
    }
}

#[async_trait]
impl AccountStore for GatedAccounts {
    async fn get(&self, id: &AccountId) -> Result<Option<AccountBilling>, AccountStoreError> {
        self.through(Call::AccountGet, self.inner.get(id)).await
    }

    async fn compare_and_set(
        &self,
        expected_version: u64,
        next: &AccountBilling,
        audit: &AuditEntry,
    ) -> Result<(), AccountStoreError> {
        let history = self.history.clone();
        let write = async {
            let written = self
                .inner
                .compare_and_set(expected_version, next, audit)
                .await;
            if written.is_ok() {
                let mut h = history.lock().unwrap();
                h.insert(next.version, next.desired_entitlement);
            }
            written
        };
        self.through(Call::AccountCas, write).await
    }

    async fn acknowledge_provisioning(
        &self,
        id: &AccountId,
        acknowledged: &ProvisionedEntitlement,
    ) -> Result<bool, AccountStoreError> {
        self.through(
            Call::AccountAck,
            self.inner.acknowledge_provisioning(id, acknowledged),
        )
        .await
    }

    async fn list_provisioning_mismatches(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<AccountPage, AccountStoreError> {
        self.through(
            Call::AccountList,
            self.inner.list_provisioning_mismatches(cursor, limit),
        )
        .await
    }

    async fn list_expired(
        &self,
        now: OffsetDateTime,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<AccountPage, AccountStoreError> {
        self.through(
            Call::AccountList,
            self.inner.list_expired(now, cursor, limit),
        )
        .await
    }

    async fn list_polo_subscribers(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page, AccountStoreError> {
        self.through(
            Call::AccountList,
            self.inner.list_polo_subscribers(cursor, limit),
        )
        .await
    }

    async fn list_pending_paypal_cancellations(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<AccountPage, AccountStoreError> {
        self.through(
            Call::AccountList,
            self.inner.list_pending_paypal_cancellations(cursor, limit),
        )
        .await
    }
}

pub struct GatedOrchestrator {
    pub inner: Arc<InMemoryProvisioner>,
    pub scheduler: Arc<Scheduler>,
    pub op: usize,
}

#[async_trait]
impl Provisioner for GatedOrchestrator {
    async fn push(
        &self,
        request: &ProvisioningRequest,
        deadline: OffsetDateTime,
    ) -> Result<(), ProvisionError> {
        let lost = || ProvisionError::Unavailable("explorer: push failed".into());
        match self.scheduler.gate(self.op, Call::Push).await {
            Outcome::Ok => self.inner.push(request, deadline).await,
            Outcome::FailBefore => Err(lost()),
            Outcome::FailAfter => {
                let _ = self.inner.push(request, deadline).await;
                Err(lost())
            }
        }
    }
}
