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
    Defer,
    ReleaseParked,
    ParkClaimed,
    ParkNew,
    Get,
    ReclaimParked,
    ClaimDue,
    ListOpen,
    ListParked,
    DiscardParked,
    Expedite,
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
        Some(r) if r.claim_token.as_ref() == Some(&claim.token) => Ok(r),
        _ => Err(StoreError::ClaimLost(claim.key.clone())),
    }
}

fn new_record(delivery: &Delivery, status: RecordStatus) -> IdempotencyRecord {
    IdempotencyRecord {
        delivery: delivery.clone(),
        status,
        claim_token: None,
        lease_expires_at: None,
        park_reason: None,
        payload: None,
        expires_at: None,
        attempts: 0,
        last_fault: None,
        next_attempt_at: None,
        discard_reason: None,
    }
}

/// A replay's hold on a parked record that has not ended yet.
fn replay_held(record: &IdempotencyRecord, now: OffsetDateTime) -> bool {
    record.claim_token.is_some() && record.lease_expires_at.is_some_and(|lease| lease >= now)
}

#[async_trait]
impl IdempotencyStore for InMemoryIdempotencyStore {
    async fn claim(
        &self,
        delivery: &Delivery,
        payload: &[u8],
        lease_expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<ClaimOutcome, StoreError> {
        self.enter(StoreOp::Claim)?;
        let mut records = self.lock();
        let previous = match records.get(&delivery.key) {
            None => None,
            Some(existing)
                if existing.delivery.body_hash == delivery.body_hash
                    && (existing.status == RecordStatus::Pending
                        || (existing.status == RecordStatus::InProgress
                            && existing.lease_expires_at.is_some_and(|lease| lease < now))) =>
            {
                Some(existing.clone())
            }
            Some(existing) => return Ok(ClaimOutcome::Existing(Box::new(existing.clone()))),
        };
        let token = ClaimToken::generate();
        let mut record = previous.clone().unwrap_or_else(|| {
            let mut fresh = new_record(delivery, RecordStatus::InProgress);
            fresh.payload = Some(payload.to_vec());
            fresh
        });
        record.status = RecordStatus::InProgress;
        record.claim_token = Some(token.clone());
        record.lease_expires_at = Some(lease_expires_at);
        record.next_attempt_at = None;
        let claim = Claim {
            key: delivery.key.clone(),
            token,
            lease_expires_at,
            took_over: previous.is_some(),
            attempts: record.attempts,
            first_received_at: record.delivery.received_at,
        };
        records.insert(delivery.key.clone(), record);
        Ok(ClaimOutcome::Claimed(claim))
    }

    async fn complete(&self, claim: &Claim, now: OffsetDateTime) -> Result<(), StoreError> {
        self.enter(StoreOp::Complete)?;
        let mut records = self.lock();
        let record = held_by(&mut records, claim)?;
        record.status = RecordStatus::Completed;
        record.claim_token = None;
        record.lease_expires_at = None;
        record.next_attempt_at = None;
        record.payload = None;
        record.expires_at = Some(now + RETENTION);
        Ok(())
    }

    async fn defer(
        &self,
        claim: &Claim,
        fault: &str,
        next_attempt_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.enter(StoreOp::Defer)?;
        let mut records = self.lock();
        let record = held_by(&mut records, claim)?;
        if record.status != RecordStatus::InProgress {
            return Err(StoreError::ClaimLost(claim.key.clone()));
        }
        record.status = RecordStatus::Pending;
        record.claim_token = None;
        record.lease_expires_at = None;
        record.attempts += 1;
        record.last_fault = Some(fault.to_owned());
        record.next_attempt_at = Some(next_attempt_at);
        Ok(())
    }

    async fn release_parked(&self, claim: &Claim) -> Result<(), StoreError> {
        self.enter(StoreOp::ReleaseParked)?;
        let mut records = self.lock();
        let record = held_by(&mut records, claim)?;
        if record.status != RecordStatus::Parked {
            return Err(StoreError::ClaimLost(claim.key.clone()));
        }
        record.claim_token = None;
        record.lease_expires_at = None;
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
        record.next_attempt_at = None;
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
        let mut record = new_record(delivery, RecordStatus::Parked);
        record.park_reason = Some(reason.clone());
        record.payload = Some(payload.to_vec());
        records.insert(delivery.key.clone(), record);
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
        now: OffsetDateTime,
    ) -> Result<Option<Claim>, StoreError> {
        self.enter(StoreOp::ReclaimParked)?;
        let mut records = self.lock();
        let Some(record) = records
            .get_mut(key)
            .filter(|r| r.status == RecordStatus::Parked && !replay_held(r, now))
        else {
            return Ok(None);
        };
        let token = ClaimToken::generate();
        record.claim_token = Some(token.clone());
        record.lease_expires_at = Some(lease_expires_at);
        Ok(Some(Claim {
            key: key.clone(),
            token,
            lease_expires_at,
            took_over: false,
            attempts: record.attempts,
            first_received_at: record.delivery.received_at,
        }))
    }

    async fn claim_due(
        &self,
        key: &RecordKey,
        lease_expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Option<(Claim, IdempotencyRecord)>, StoreError> {
        self.enter(StoreOp::ClaimDue)?;
        let mut records = self.lock();
        let Some(record) = records.get_mut(key).filter(|r| {
            matches!(r.status, RecordStatus::Pending | RecordStatus::InProgress)
                && r.due_at().is_some_and(|due| due <= now)
                && !(r.status == RecordStatus::InProgress
                    && r.lease_expires_at.is_some_and(|lease| lease >= now))
        }) else {
            return Ok(None);
        };
        let token = ClaimToken::generate();
        let took_over = record.status == RecordStatus::InProgress;
        record.status = RecordStatus::InProgress;
        record.claim_token = Some(token.clone());
        record.lease_expires_at = Some(lease_expires_at);
        record.next_attempt_at = None;
        let claim = Claim {
            key: key.clone(),
            token,
            lease_expires_at,
            took_over,
            attempts: record.attempts,
            first_received_at: record.delivery.received_at,
        };
        Ok(Some((claim, record.clone())))
    }

    async fn list_open(
        &self,
        after: Option<&OpenCursor>,
        limit: usize,
    ) -> Result<OpenPage, StoreError> {
        self.enter(StoreOp::ListOpen)?;
        let mut open: Vec<OpenRecord> = self
            .lock()
            .values()
            .filter_map(|r| {
                Some(OpenRecord {
                    key: r.delivery.key.clone(),
                    status: r.status,
                    due_at: r.due_at()?,
                    received_at: r.delivery.received_at,
                    attempts: r.attempts,
                })
            })
            .filter(|r| after.is_none_or(|c| (r.due_at, &r.key) > (c.due_at, &c.key)))
            .collect();
        open.sort_by(|a, b| (a.due_at, &a.key).cmp(&(b.due_at, &b.key)));
        let more = open.len() > limit;
        open.truncate(limit);
        let next = match open.last() {
            Some(last) if more => Some(OpenCursor {
                due_at: last.due_at,
                key: last.key.clone(),
            }),
            _ => None,
        };
        Ok(OpenPage {
            records: open,
            next,
        })
    }

    async fn expedite(&self, key: &RecordKey, now: OffsetDateTime) -> Result<bool, StoreError> {
        self.enter(StoreOp::Expedite)?;
        let mut records = self.lock();
        match records
            .get_mut(key)
            .filter(|r| r.status == RecordStatus::Pending)
        {
            Some(record) => {
                record.next_attempt_at = Some(now);
                Ok(true)
            }
            None => Ok(false),
        }
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

    async fn discard_parked(
        &self,
        key: &RecordKey,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.enter(StoreOp::DiscardParked)?;
        let mut records = self.lock();
        let Some(record) = records
            .get_mut(key)
            .filter(|r| r.status == RecordStatus::Parked && !replay_held(r, now))
        else {
            return Ok(false);
        };
        record.status = RecordStatus::Completed;
        record.claim_token = None;
        record.lease_expires_at = None;
        record.discard_reason = Some(reason.to_owned());
        record.expires_at = Some(now + RETENTION);
        Ok(true)
    }
}
