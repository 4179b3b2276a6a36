//! The in-memory `AccountStore`: the local server's and tests' account
//! store, with Convex's semantics (compare-and-set and audit row in one
//! step) under one lock, call counting, and fault injection per operation.

use super::*;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountOp {
    Get,
    CompareAndSet,
    List,
}

#[derive(Debug, Default)]
struct State {
    accounts: BTreeMap<AccountId, AccountBilling>,
    audit: Vec<(AccountId, AuditEntry)>,
}

#[derive(Debug, Default)]
pub struct InMemoryAccountStore {
    state: Mutex<State>,
    failing: Mutex<HashSet<AccountOp>>,
    calls: AtomicUsize,
}

impl InMemoryAccountStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates (or replaces) an account, as the app does at sign-up.
    pub fn insert(&self, account: AccountBilling) {
        self.lock()
            .accounts
            .insert(account.account_id.clone(), account);
    }

    pub fn account(&self, id: &AccountId) -> Option<AccountBilling> {
        self.lock().accounts.get(id).cloned()
    }

    pub fn all(&self) -> Vec<AccountBilling> {
        self.lock().accounts.values().cloned().collect()
    }

    pub fn audit_rows(&self, id: &AccountId) -> Vec<AuditEntry> {
        self.lock()
            .audit
            .iter()
            .filter(|(a, _)| a == id)
            .map(|(_, e)| e.clone())
            .collect()
    }

    pub fn fail(&self, op: AccountOp) {
        self.failing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(op);
    }

    pub fn heal(&self) {
        self.failing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn enter(&self, op: AccountOp) -> Result<(), AccountStoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self
            .failing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&op)
        {
            return Err(AccountStoreError::Unavailable(
                format!("injected fault on {op:?}").into(),
            ));
        }
        Ok(())
    }

    fn filtered(
        &self,
        limit: usize,
        keep: impl Fn(&AccountBilling) -> bool,
    ) -> Vec<AccountBilling> {
        self.lock()
            .accounts
            .values()
            .filter(|a| keep(a))
            .take(limit)
            .cloned()
            .collect()
    }
}

#[async_trait]
impl AccountStore for InMemoryAccountStore {
    async fn get(
        &self,
        account_id: &AccountId,
    ) -> Result<Option<AccountBilling>, AccountStoreError> {
        self.enter(AccountOp::Get)?;
        Ok(self.lock().accounts.get(account_id).cloned())
    }

    async fn compare_and_set(
        &self,
        expected_version: u64,
        next: &AccountBilling,
        audit: &AuditEntry,
    ) -> Result<(), AccountStoreError> {
        self.enter(AccountOp::CompareAndSet)?;
        if next.version != expected_version + 1 {
            return Err(AccountStoreError::Rejected(
                "account.version: must be expectedVersion + 1".into(),
            ));
        }
        let mut state = self.lock();
        let current = state
            .accounts
            .get(&next.account_id)
            .ok_or(AccountStoreError::NotFound)?
            .version;
        if current != expected_version {
            return Err(AccountStoreError::Conflict {
                expected: expected_version,
                current: Some(current),
            });
        }
        state.accounts.insert(next.account_id.clone(), next.clone());
        state.audit.push((next.account_id.clone(), audit.clone()));
        Ok(())
    }

    async fn list_provisioning_mismatches(
        &self,
        limit: usize,
    ) -> Result<Vec<AccountBilling>, AccountStoreError> {
        self.enter(AccountOp::List)?;
        Ok(self.filtered(limit, AccountBilling::needs_push))
    }

    async fn list_expired(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<AccountBilling>, AccountStoreError> {
        self.enter(AccountOp::List)?;
        Ok(self.filtered(limit, |a| is_expired(a, now)))
    }

    async fn list_polo_subscribers(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page, AccountStoreError> {
        self.enter(AccountOp::List)?;
        let state = self.lock();
        let mut ids: Vec<AccountId> = state
            .accounts
            .values()
            .filter(|a| !a.subscriptions.is_empty())
            .filter(|a| cursor.is_none_or(|c| a.account_id.as_str() > c))
            .map(|a| a.account_id.clone())
            .take(limit + 1)
            .collect();
        let more = ids.len() > limit;
        ids.truncate(limit);
        let cursor = if more {
            ids.last().map(|id| id.as_str().to_owned())
        } else {
            None
        };
        Ok(Page {
            account_ids: ids,
            cursor,
        })
    }

    async fn list_pending_paypal_cancellations(
        &self,
        limit: usize,
    ) -> Result<Vec<AccountBilling>, AccountStoreError> {
        self.enter(AccountOp::List)?;
        Ok(self.filtered(limit, |a| a.pending_paypal_cancellation.is_some()))
    }
}
