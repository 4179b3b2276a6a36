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
    Acknowledge,
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

    /// Compare-and-set with the cause only (the Convex stand-in's call,
    /// which receives what Convex receives).
    pub fn compare_and_set_caused(
        &self,
        expected_version: u64,
        next: &AccountBilling,
        cause: AuditCause,
    ) -> Result<(), AccountStoreError> {
        self.enter(AccountOp::CompareAndSet)?;
        if next.version != expected_version + 1 {
            return Err(AccountStoreError::Rejected(
                "account.version: must be expectedVersion + 1".into(),
            ));
        }
        let mut state = self.lock();
        let stored = state
            .accounts
            .get(&next.account_id)
            .ok_or(AccountStoreError::NotFound)?
            .clone();
        let current = stored.version;
        if current != expected_version {
            return Err(AccountStoreError::Conflict {
                expected: expected_version,
                current: Some(current),
            });
        }
        let mut written = next.clone();
        written.provisioned_entitlement = ProvisionedEntitlement::newest(
            stored.provisioned_entitlement,
            next.provisioned_entitlement,
        );
        // As Convex does: the row's before and after are the stored and the
        // written state; only the cause is the caller's.
        let row = AuditEntry::recorded(cause, &stored, &written);
        state.accounts.insert(next.account_id.clone(), written);
        state.audit.push((next.account_id.clone(), row));
        Ok(())
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

    /// The accounts `keep` selects after `cursor` (an account id), a page in
    /// accountId order, as Convex pages them.
    fn page(
        &self,
        cursor: Option<&str>,
        limit: usize,
        keep: impl Fn(&AccountBilling) -> bool,
    ) -> AccountPage {
        let mut accounts: Vec<AccountBilling> = self
            .lock()
            .accounts
            .values()
            .filter(|a| cursor.is_none_or(|c| a.account_id.as_str() > c))
            .filter(|a| keep(a))
            .take(limit + 1)
            .cloned()
            .collect();
        let more = accounts.len() > limit;
        accounts.truncate(limit);
        let cursor = if more {
            accounts.last().map(|a| a.account_id.as_str().to_owned())
        } else {
            None
        };
        AccountPage { accounts, cursor }
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
        self.compare_and_set_caused(expected_version, next, AuditCause::from(audit))
    }

    async fn acknowledge_provisioning(
        &self,
        account_id: &AccountId,
        acknowledged: &ProvisionedEntitlement,
    ) -> Result<bool, AccountStoreError> {
        self.enter(AccountOp::Acknowledge)?;
        let mut state = self.lock();
        let account = state
            .accounts
            .get_mut(account_id)
            .ok_or(AccountStoreError::NotFound)?;
        if acknowledged.version > account.version {
            return Err(AccountStoreError::Rejected(
                "acknowledged.version: beyond the account's version".into(),
            ));
        }
        let newest =
            ProvisionedEntitlement::newest(account.provisioned_entitlement, Some(*acknowledged));
        let recorded = newest == Some(*acknowledged) && account.provisioned_entitlement != newest;
        account.provisioned_entitlement = newest;
        Ok(recorded)
    }

    async fn list_provisioning_mismatches(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<AccountPage, AccountStoreError> {
        self.enter(AccountOp::List)?;
        Ok(self.page(cursor, limit, AccountBilling::needs_push))
    }

    /// One pass in accountId order (Convex reads two index ranges; the
    /// cursor is opaque to callers either way).
    async fn list_expired(
        &self,
        now: OffsetDateTime,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<AccountPage, AccountStoreError> {
        self.enter(AccountOp::List)?;
        Ok(self.page(cursor, limit, |a| is_expired(a, now)))
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
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<AccountPage, AccountStoreError> {
        self.enter(AccountOp::List)?;
        Ok(self.page(cursor, limit, |a| a.pending_paypal_cancellation.is_some()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Entitlement, PlanTier};
    use time::macros::datetime;

    fn acked(version: u64) -> ProvisionedEntitlement {
        ProvisionedEntitlement {
            entitlement: Entitlement {
                entitled: true,
                tier: PlanTier::Pro,
                expires_at: Some(datetime!(2026-12-02 00:00 UTC)),
            },
            version,
        }
    }

    fn store_at(version: u64) -> (InMemoryAccountStore, AccountBilling) {
        let store = InMemoryAccountStore::default();
        let mut account = AccountBilling::new(AccountId::parse("acct_1").unwrap());
        account.version = version;
        store.insert(account.clone());
        (store, account)
    }

    #[tokio::test]
    async fn acknowledgements_are_recorded_newest_only_without_bumping_the_version() {
        let (store, account) = store_at(3);
        let id = &account.account_id;

        assert!(store.acknowledge_provisioning(id, &acked(2)).await.unwrap());
        assert!(store.acknowledge_provisioning(id, &acked(3)).await.unwrap());
        assert!(!store.acknowledge_provisioning(id, &acked(2)).await.unwrap());
        assert!(!store.acknowledge_provisioning(id, &acked(3)).await.unwrap());

        let stored = store.account(id).unwrap();
        assert_eq!(stored.provisioned_entitlement, Some(acked(3)));
        assert_eq!(stored.version, 3);
        assert!(store.audit_rows(id).is_empty());
    }

    #[tokio::test]
    async fn an_acknowledgement_beyond_the_version_or_of_no_account_is_refused() {
        let (store, account) = store_at(3);

        let beyond = store
            .acknowledge_provisioning(&account.account_id, &acked(4))
            .await;
        let nobody = store
            .acknowledge_provisioning(&AccountId::parse("acct_nobody").unwrap(), &acked(1))
            .await;

        assert!(
            matches!(beyond, Err(AccountStoreError::Rejected(ref d)) if d.starts_with("acknowledged.version")),
            "{beyond:?}"
        );
        assert!(matches!(nobody, Err(AccountStoreError::NotFound)));
        assert_eq!(store.account(&account.account_id).unwrap(), account);
    }

    #[tokio::test]
    async fn a_write_read_before_an_acknowledgement_keeps_the_newer_acknowledgement() {
        let (store, read) = store_at(3);
        store
            .acknowledge_provisioning(&read.account_id, &acked(3))
            .await
            .unwrap();
        let mut next = read.clone();
        next.version = 4;
        next.cancel_at_period_end = true;
        let audit = AuditEntry::new(
            "msg_1",
            "subscription.canceled",
            &read,
            &next,
            datetime!(2026-11-15 12:00 UTC),
        );

        store.compare_and_set(3, &next, &audit).await.unwrap();

        let stored = store.account(&read.account_id).unwrap();
        assert!(stored.cancel_at_period_end);
        assert_eq!(stored.provisioned_entitlement, Some(acked(3)));
    }

    #[tokio::test]
    async fn the_audit_row_records_the_stored_and_written_state_whatever_the_caller_claims() {
        let (store, read) = store_at(3);
        let mut next = read.clone();
        next.version = 4;
        next.cancel_at_period_end = true;
        let mut claimed = read.clone();
        claimed.version = 41;
        let forged = AuditEntry::new(
            "msg_forged",
            "subscription.canceled",
            &claimed,
            &claimed,
            datetime!(2026-11-15 12:00 UTC),
        );

        store.compare_and_set(3, &next, &forged).await.unwrap();

        let rows = store.audit_rows(&read.account_id);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].event_id, "msg_forged");
        assert_eq!(rows[0].before, AuditSummary::from(&read));
        assert_eq!(rows[0].after, AuditSummary::from(&next));
    }
}
