//! Replay of parked events (the admin CLI's `replay`): a hold on the
//! `PARKED` record in one conditional write, then the same handler as a
//! live delivery, without the signature's time window (the event was
//! verified on arrival). The event is routed by its type, so an event
//! parked as misrouted lands once its type is handled. The record stays
//! `PARKED` while held: a replay that fails, dies, or cannot write its
//! outcome leaves it parked, listed and replayable once the hold ends —
//! never stranded, never applied twice (only one replay holds it).

use super::intake::parse_reason;
use super::{DeliveryContext, EventHandler, HandleError, Handled};
use crate::clock::Clock;
use crate::idempotency::{
    IdempotencyRecord, IdempotencyStore, ParkCode, ParkReason, RecordKey, RecordStatus, StoreError,
};
use crate::polo::events::parse_event;
use crate::polo::routing::Endpoint;
use crate::telemetry::error_chain;
use std::sync::Arc;
use time::OffsetDateTime;
use tracing::{error, info};

/// How one replay ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayOutcome {
    /// Handled and completed (applied, unchanged or stale).
    Replayed(Handled),
    /// Still unprocessable: parked again with this reason.
    StillParked(ParkReason),
    /// Not parked (any more): already replayed, completed, or in progress.
    NotParked(Option<RecordStatus>),
    /// Parked, but another replay holds it right now.
    HeldByAnotherReplay,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// Nothing was tried: the record could not be read or held.
    #[error("idempotency store failed; nothing was replayed")]
    Store(#[from] StoreError),
    /// A dependency failed; nothing was applied and the record is parked as
    /// it was.
    #[error("a dependency failed; nothing was applied and the event stays parked")]
    Transient(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The outcome could not be written: the record is still `PARKED`
    /// (held until `hold_ends`), so replaying it again after that is safe —
    /// an event that was applied re-applies as unchanged.
    #[error("the outcome ({outcome}) could not be recorded; the event stays parked and can be replayed again after {hold_ends}")]
    NotRecorded {
        outcome: &'static str,
        hold_ends: OffsetDateTime,
        #[source]
        source: StoreError,
    },
}

pub struct Replayer {
    pub store: Arc<dyn IdempotencyStore>,
    pub handler: Arc<dyn EventHandler>,
    pub clock: Arc<dyn Clock>,
}

impl Replayer {
    /// Replays the parked record under `key`; `deadline` bounds the handler.
    pub async fn replay(
        &self,
        key: &RecordKey,
        deadline: OffsetDateTime,
    ) -> Result<ReplayOutcome, ReplayError> {
        let Some(record) = self.store.get(key).await? else {
            return Ok(ReplayOutcome::NotParked(None));
        };
        if record.status != RecordStatus::Parked {
            return Ok(ReplayOutcome::NotParked(Some(record.status)));
        }
        let payload = record.payload.clone().unwrap_or_default();
        let Some(claim) = self
            .store
            .reclaim_parked(key, deadline, self.clock.now())
            .await?
        else {
            return Ok(ReplayOutcome::HeldByAnotherReplay);
        };
        let not_recorded = |outcome, source| ReplayError::NotRecorded {
            outcome,
            hold_ends: claim.lease_expires_at,
            source,
        };
        let outcome = self.handle(&record, &payload, deadline).await;
        let now = self.clock.now();
        match outcome {
            Ok(handled) => {
                self.store
                    .complete(&claim, now)
                    .await
                    .map_err(|e| not_recorded("applied", e))?;
                info!(key = %key, ?handled, "parked event replayed");
                Ok(ReplayOutcome::Replayed(handled))
            }
            Err(HandleError::Permanent(reason)) => {
                self.store
                    .park_claimed(&claim, &reason, &payload, now)
                    .await
                    .map_err(|e| not_recorded("still unprocessable", e))?;
                info!(key = %key, reason = %reason.code, "replayed event parked again");
                Ok(ReplayOutcome::StillParked(reason))
            }
            Err(HandleError::Transient(err)) => {
                error!(key = %key, error = %error_chain(&*err), "replay failed; the event stays parked as it was");
                // The conditional rollback: give the hold up at once. If
                // even that fails, the record is parked all the same and
                // the hold ends at the lease.
                if let Err(release) = self.store.release_parked(&claim).await {
                    error!(key = %key, error = %error_chain(&release), "could not release the replay's hold; it ends at the lease");
                }
                Err(ReplayError::Transient(err))
            }
        }
    }

    async fn handle(
        &self,
        record: &IdempotencyRecord,
        payload: &[u8],
        deadline: OffsetDateTime,
    ) -> Result<Handled, HandleError> {
        let event =
            parse_event(payload).map_err(|err| HandleError::Permanent(parse_reason(&err)))?;
        if !Endpoint::ALL
            .into_iter()
            .any(|endpoint| endpoint.accepts(&event.event_type))
        {
            return Err(HandleError::Permanent(ParkReason::new(
                ParkCode::UnknownEventType,
                "type: not handled by any endpoint",
            )));
        }
        let ctx = DeliveryContext {
            webhook_id: record.delivery.webhook_id.clone(),
            deadline,
        };
        super::handle_guarded(self.handler.clone(), event, ctx).await
    }
}
