//! The in-memory `IdempotencyStore`: the same conditional semantics as the
//! DynamoDB adapter, under one lock. Used by the local server and tests,
//! which can also make any operation fail like an unreachable DynamoDB and
//! count the calls each delivery costs.

use super::*;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The store's operations, for fault injection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreOp {
    Claim,
    Complete,
    Release,
    ParkClaimed,
    ParkNew,
    Get,
    ReclaimParked,
    ListParked,
}

#[derive(Debug, Default)]
pub struct InMemoryIdempotencyStore {
    records: Mutex<BTreeMap<RecordKey, IdempotencyRecord>>,
    failing: Mutex<HashSet<StoreOp>>,
    calls: AtomicUsize,
}

impl InMemoryIdempotencyStore {
    /// Makes every call of `op` fail as `Unavailable` until cleared.
    pub fn fail(&self, op: StoreOp) {
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

    /// How many store calls were made so far (each is one round trip).
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Every record, for assertions and the local server's views.
    pub fn snapshot(&self) -> Vec<IdempotencyRecord> {
        self.lock().values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<RecordKey, IdempotencyRecord>> {
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn enter(&self, op: StoreOp) -> Result<(), StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self
            .failing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&op)
        {
            return Err(StoreError::Unavailable(
                format!("injected fault on {op:?}").into(),
            ));
        }
        Ok(())
    }
}

fn held_by<'a>(
    records: &'a mut BTreeMap<RecordKey, IdempotencyRecord>,
    claim: &Claim,
) -> Result<&'a mut IdempotencyRecord, StoreError> {
    match records.get_mut(&claim.key) {
        Some(r)
            if r.status == RecordStatus::InProgress
                && r.claim_token.as_ref() == Some(&claim.token) =>
        {
            Ok(r)
        }
        _ => Err(StoreError::ClaimLost(claim.key.clone())),
    }
}

#[async_trait]
impl IdempotencyStore for InMemoryIdempotencyStore {
    async fn claim(
        &self,
        delivery: &Delivery,
        lease_expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<ClaimOutcome, StoreError> {
        self.enter(StoreOp::Claim)?;
        let mut records = self.lock();
        let took_over = match records.get(&delivery.key) {
            None => false,
            Some(existing)
                if existing.status == RecordStatus::InProgress
                    && existing.lease_expires_at.is_some_and(|lease| lease < now)
                    && existing.delivery.body_hash == delivery.body_hash =>
            {
                true
            }
            Some(existing) => return Ok(ClaimOutcome::Existing(Box::new(existing.clone()))),
        };
        let token = ClaimToken::generate();
        records.insert(
            delivery.key.clone(),
            IdempotencyRecord {
                delivery: delivery.clone(),
                status: RecordStatus::InProgress,
                claim_token: Some(token.clone()),
                lease_expires_at: Some(lease_expires_at),
                park_reason: None,
                payload: None,
                expires_at: None,
            },
        );
        Ok(ClaimOutcome::Claimed(Claim {
            key: delivery.key.clone(),
            token,
            lease_expires_at,
            took_over,
        }))
    }

    async fn complete(&self, claim: &Claim, now: OffsetDateTime) -> Result<(), StoreError> {
        self.enter(StoreOp::Complete)?;
        let mut records = self.lock();
        let record = held_by(&mut records, claim)?;
        record.status = RecordStatus::Completed;
        record.claim_token = None;
        record.lease_expires_at = None;
        record.expires_at = Some(now + RETENTION);
        Ok(())
    }

    async fn release(&self, claim: &Claim) -> Result<(), StoreError> {
        self.enter(StoreOp::Release)?;
        let mut records = self.lock();
        held_by(&mut records, claim)?;
        records.remove(&claim.key);
        Ok(())
    }

    async fn park_claimed(
        &self,
        claim: &Claim,
        reason: &ParkReason,
        payload: &[u8],
        _now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.enter(StoreOp::ParkClaimed)?;
        let mut records = self.lock();
        let record = held_by(&mut records, claim)?;
        record.status = RecordStatus::Parked;
        record.claim_token = None;
        record.lease_expires_at = None;
        record.park_reason = Some(reason.clone());
        record.payload = Some(payload.to_vec());
        record.expires_at = None;
        Ok(())
    }

    async fn park_new(
        &self,
        delivery: &Delivery,
        reason: &ParkReason,
        payload: &[u8],
    ) -> Result<ParkOutcome, StoreError> {
        self.enter(StoreOp::ParkNew)?;
        let mut records = self.lock();
        if let Some(existing) = records.get(&delivery.key) {
            return Ok(ParkOutcome::Existing(Box::new(existing.clone())));
        }
        records.insert(
            delivery.key.clone(),
            IdempotencyRecord {
                delivery: delivery.clone(),
                status: RecordStatus::Parked,
                claim_token: None,
                lease_expires_at: None,
                park_reason: Some(reason.clone()),
                payload: Some(payload.to_vec()),
                expires_at: None,
            },
        );
        Ok(ParkOutcome::Parked)
    }

    async fn get(&self, key: &RecordKey) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.enter(StoreOp::Get)?;
        Ok(self.lock().get(key).cloned())
    }

    async fn reclaim_parked(
        &self,
        key: &RecordKey,
        lease_expires_at: OffsetDateTime,
    ) -> Result<Option<Claim>, StoreError> {
        self.enter(StoreOp::ReclaimParked)?;
        let mut records = self.lock();
        let Some(record) = records
            .get_mut(key)
            .filter(|r| r.status == RecordStatus::Parked)
        else {
            return Ok(None);
        };
        let token = ClaimToken::generate();
        record.status = RecordStatus::InProgress;
        record.claim_token = Some(token.clone());
        record.lease_expires_at = Some(lease_expires_at);
        Ok(Some(Claim {
            key: key.clone(),
            token,
            lease_expires_at,
            took_over: false,
        }))
    }

    async fn list_parked(&self, limit: usize) -> Result<Vec<IdempotencyRecord>, StoreError> {
        self.enter(StoreOp::ListParked)?;
        Ok(self
            .lock()
            .values()
            .filter(|r| r.status == RecordStatus::Parked)
            .take(limit)
            .cloned()
            .collect())
    }
}
