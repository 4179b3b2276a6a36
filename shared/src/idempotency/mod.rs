//! The `IdempotencyStore` port: one record per webhook delivery id, so that
//! each Polo event is handled exactly once and nothing verified is lost.
//!
//! A record is `IN_PROGRESS` (claimed by one attempt until its lease, the
//! Lambda deadline, runs out), `PENDING` (a transient fault stopped it; the
//! inbox retries it at its next attempt time), `COMPLETED` (expires by TTL
//! after 30 days) or `PARKED` (permanently unprocessable; keeps its raw
//! payload until resolved). The raw payload is stored with the claim, so a
//! record whose handler crashed or failed can be finished without Polo.
//! Only the holder of the claim token may complete, defer, park or release a
//! claim, so an attempt whose lease ran out and was taken over can change
//! nothing.

mod dynamodb;
mod memory;
mod park;

pub use dynamodb::DynamoDbIdempotencyStore;
pub use memory::{InMemoryIdempotencyStore, StoreOp};
pub use park::{ParkCode, ParkReason};

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::fmt;
use time::{Duration, OffsetDateTime};

/// How long a `COMPLETED` record (or a resolved `PARKED` one) is kept.
pub const RETENTION: Duration = Duration::days(30);

/// The record's key: the `webhook-id`, or `{webhook-id}#{body-hash}` for a
/// delivery that reuses an id with a different body.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordKey(String);

impl RecordKey {
    pub fn for_delivery(webhook_id: &str) -> Self {
        Self(webhook_id.to_owned())
    }

    /// A delivery to an endpoint that does not handle its type: parked under
    /// a key of its own (the id and the endpoint that received it), so the
    /// same id delivered to the right endpoint is still processed there, not
    /// taken for a duplicate.
    pub fn for_misrouted(webhook_id: &str, endpoint: &str) -> Self {
        Self(format!("{webhook_id}@{endpoint}"))
    }

    pub fn for_conflicting_body(webhook_id: &str, hash: &BodyHash) -> Self {
        Self(format!("{webhook_id}#{}", hash.as_str()))
    }

    /// Rebuilds a key read back from the store.
    pub fn from_stored(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Hex SHA-256 of the raw body as received.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BodyHash(String);

impl BodyHash {
    pub fn of(body: &[u8]) -> Self {
        Self(hex::encode(Sha256::digest(body)))
    }

    pub fn from_stored(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Proof of holding a claim: only this token completes, parks or releases it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimToken(String);

impl ClaimToken {
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    pub fn from_stored(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordStatus {
    InProgress,
    /// Verified and recorded; a transient fault stopped it: the inbox
    /// retries it (Polo's redelivery may finish it first).
    Pending,
    Completed,
    Parked,
}

impl RecordStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "IN_PROGRESS",
            Self::Pending => "PENDING",
            Self::Completed => "COMPLETED",
            Self::Parked => "PARKED",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "IN_PROGRESS" => Some(Self::InProgress),
            "PENDING" => Some(Self::Pending),
            "COMPLETED" => Some(Self::Completed),
            "PARKED" => Some(Self::Parked),
            _ => None,
        }
    }
}

/// What is known about a delivery when it is first recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub key: RecordKey,
    pub body_hash: BodyHash,
    /// The endpoint (function) that received it: replay routes by it.
    pub endpoint: String,
    /// `webhook-id`, also for records keyed by id and hash.
    pub webhook_id: String,
    /// The verifier's summary (which secret and derivation matched).
    pub verification: String,
    pub event_type: Option<String>,
    pub account_id: Option<String>,
    pub received_at: OffsetDateTime,
}

/// A stored record, as read back (on a failed claim, or by the replay tool).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub delivery: Delivery,
    pub status: RecordStatus,
    pub claim_token: Option<ClaimToken>,
    /// For `IN_PROGRESS`: when the holder's lease (its Lambda deadline) ends.
    pub lease_expires_at: Option<OffsetDateTime>,
    pub park_reason: Option<ParkReason>,
    /// The raw body as received, kept while the record is open or parked
    /// (for the retry sweep and replay), dropped once it is applied.
    pub payload: Option<Vec<u8>>,
    /// When the store may delete the record (DynamoDB TTL).
    pub expires_at: Option<OffsetDateTime>,
    /// Attempts that ended in a transient fault so far.
    pub attempts: u32,
    /// The last transient fault (an error chain, never a value or secret).
    pub last_fault: Option<String>,
    /// For `PENDING`: when the retry sweep may try it again.
    pub next_attempt_at: Option<OffsetDateTime>,
    /// Set when an operator resolved a parked record without applying it.
    pub discard_reason: Option<String>,
}

impl IdempotencyRecord {
    /// The first instant at which the retry sweep may claim this record:
    /// a `PENDING` one's next attempt, an `IN_PROGRESS` one's lease end
    /// (its attempt crashed or is still running until then).
    pub fn due_at(&self) -> Option<OffsetDateTime> {
        match self.status {
            RecordStatus::Pending => self.next_attempt_at,
            RecordStatus::InProgress => self.lease_expires_at,
            RecordStatus::Completed | RecordStatus::Parked => None,
        }
    }
}

/// An open record (`IN_PROGRESS` or `PENDING`) as the retry sweep lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenRecord {
    pub key: RecordKey,
    pub status: RecordStatus,
    pub due_at: OffsetDateTime,
    pub received_at: OffsetDateTime,
    pub attempts: u32,
}

/// Where a listing of open records resumes (they are listed by due time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenCursor {
    pub due_at: OffsetDateTime,
    pub key: RecordKey,
}

/// One page of open records, earliest due first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenPage {
    pub records: Vec<OpenRecord>,
    pub next: Option<OpenCursor>,
}

/// A held claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub key: RecordKey,
    pub token: ClaimToken,
    pub lease_expires_at: OffsetDateTime,
    /// True when this claim replaced an earlier attempt's expired one.
    pub took_over: bool,
    /// Attempts of this record that ended in a transient fault before this
    /// claim (0 for a new delivery).
    pub attempts: u32,
    /// When the record was first received (kept across retries: the inbox
    /// gives up 24 h after this).
    pub first_received_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    Claimed(Claim),
    /// Someone holds or held this key: the record as it stands.
    Existing(Box<IdempotencyRecord>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParkOutcome {
    Parked,
    Existing(Box<IdempotencyRecord>),
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store could not be reached or throttled us: transient, retry.
    #[error("idempotency store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The claim is no longer ours (taken over, or gone): change nothing.
    #[error("the claim on {0} is no longer held by this attempt")]
    ClaimLost(RecordKey),
    /// A stored record does not have the shape this code writes.
    #[error("stored record {key} is malformed: {problem}")]
    Corrupt { key: RecordKey, problem: String },
}

#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Creates an `IN_PROGRESS` record holding `payload`, or takes over —
    /// in the same one conditional write — a record of the same body hash
    /// that is `PENDING` (a redelivery finishes it inline) or `IN_PROGRESS`
    /// past its lease (a crashed attempt), keeping its first receipt time
    /// and attempt count. Any other existing record — a held or finished
    /// one, or one of another body — is returned as it stands (one call: a
    /// duplicate costs exactly this).
    async fn claim(
        &self,
        delivery: &Delivery,
        payload: &[u8],
        lease_expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<ClaimOutcome, StoreError>;

    /// Held → `COMPLETED`, expiring after [`RETENTION`]; the payload is
    /// dropped (the account's audit row records what was applied).
    async fn complete(&self, claim: &Claim, now: OffsetDateTime) -> Result<(), StoreError>;

    /// `IN_PROGRESS` → `PENDING` after a transient fault: one more attempt,
    /// `fault` recorded, due again at `next_attempt_at`. The payload stays.
    async fn defer(
        &self,
        claim: &Claim,
        fault: &str,
        next_attempt_at: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Gives up a replay's hold on a `PARKED` record without finishing it:
    /// the record stays parked, as it was, and can be replayed again.
    async fn release_parked(&self, claim: &Claim) -> Result<(), StoreError>;

    /// Held → `PARKED` with the raw payload, kept until resolved.
    async fn park_claimed(
        &self,
        claim: &Claim,
        reason: &ParkReason,
        payload: &[u8],
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Records a new delivery directly as `PARKED` (unparseable, misrouted,
    /// or an id reused with another body), unless its key already exists.
    async fn park_new(
        &self,
        delivery: &Delivery,
        reason: &ParkReason,
        payload: &[u8],
    ) -> Result<ParkOutcome, StoreError>;

    /// Reads one record (replay and diagnostics; not on the webhook path).
    async fn get(&self, key: &RecordKey) -> Result<Option<IdempotencyRecord>, StoreError>;

    /// Replay: holds a `PARKED` record under a new claim token until
    /// `lease_expires_at`, in one conditional write. The record STAYS
    /// `PARKED` while held, so a replay that dies or cannot write its
    /// outcome leaves it parked, listed and replayable once the hold ends.
    /// `None` when the record is not parked or another replay holds it.
    async fn reclaim_parked(
        &self,
        key: &RecordKey,
        lease_expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Option<Claim>, StoreError>;

    /// The retry sweep: claims a `PENDING` record whose next attempt is due
    /// or an `IN_PROGRESS` one past its lease, in one conditional write, and
    /// returns it with its payload. `None` when it is no longer due (done,
    /// or claimed by a redelivery or another sweep meanwhile).
    async fn claim_due(
        &self,
        key: &RecordKey,
        lease_expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Option<(Claim, IdempotencyRecord)>, StoreError>;

    /// Open records (`IN_PROGRESS`, `PENDING`), earliest due first, `limit`
    /// at a time (a sparse index: the cost follows the open records, not
    /// the table).
    async fn list_open(
        &self,
        after: Option<&OpenCursor>,
        limit: usize,
    ) -> Result<OpenPage, StoreError>;

    /// An operator's `inbox retry <key>`: a `PENDING` record becomes due at
    /// `now`. False when it is not pending.
    async fn expedite(&self, key: &RecordKey, now: OffsetDateTime) -> Result<bool, StoreError>;

    /// Up to `limit` parked records (the replay tool; a scan, never on the
    /// webhook path — parked events are rare and alarmed).
    async fn list_parked(&self, limit: usize) -> Result<Vec<IdempotencyRecord>, StoreError>;

    /// Resolves a `PARKED` record (not held by a replay) without applying
    /// it: `COMPLETED` with the operator's reason, expiring after
    /// [`RETENTION`]. False when it is not parked (or is being replayed).
    async fn discard_parked(
        &self,
        key: &RecordKey,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conflicting_body_gets_a_key_of_its_own() {
        let hash = BodyHash::of(b"{}");
        let key = RecordKey::for_conflicting_body("msg_1", &hash);
        assert_eq!(
            key.as_str(),
            "msg_1#44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }
}
