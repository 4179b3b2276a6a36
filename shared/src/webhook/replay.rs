//! Replay of parked events (the admin CLI's `replay`): `PARKED` →
//! `IN_PROGRESS` in one conditional write, then the same handler as a live
//! delivery, without the signature's time window (the event was verified
//! on arrival). The event is routed by its type, so an event parked as
//! misrouted lands once its type is handled; a replay that fails again
//! goes back to `PARKED` with its new or original reason — never lost,
//! never applied twice (only a parked record can be reclaimed).

use super::intake::parse_reason;
use super::{DeliveryContext, EventHandler, HandleError, Handled};
use crate::clock::Clock;
use crate::idempotency::{
    IdempotencyRecord, IdempotencyStore, ParkReason, RecordKey, RecordStatus, StoreError,
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
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("idempotency store failed")]
    Store(#[from] StoreError),
    /// A dependency failed; the record is parked again as it was.
    #[error("transient failure; the event stays parked")]
    Transient(#[source] Box<dyn std::error::Error + Send + Sync>),
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
        let Some(claim) = self.store.reclaim_parked(key, deadline).await? else {
            return Ok(ReplayOutcome::NotParked(None));
        };
        let original = record
            .park_reason
            .clone()
            .unwrap_or_else(|| ParkReason::new("unknown", "no reason recorded"));
        let outcome = self.handle(&record, &payload, deadline).await;
        let now = self.clock.now();
        match outcome {
            Ok(handled) => {
                self.store.complete(&claim, now).await?;
                info!(key = %key, ?handled, "parked event replayed");
                Ok(ReplayOutcome::Replayed(handled))
            }
            Err(HandleError::Permanent(reason)) => {
                self.store
                    .park_claimed(&claim, &reason, &payload, now)
                    .await?;
                info!(key = %key, reason = %reason.code, "replayed event parked again");
                Ok(ReplayOutcome::StillParked(reason))
            }
            Err(HandleError::Transient(err)) => {
                error!(key = %key, error = %error_chain(&*err), "replay failed; parked again as it was");
                self.store
                    .park_claimed(&claim, &original, &payload, now)
                    .await?;
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
                "unknown_event_type",
                "type: not handled by any endpoint",
            )));
        }
        let ctx = DeliveryContext {
            webhook_id: record.delivery.webhook_id.clone(),
            deadline,
        };
        crate::http::deadline::scope(deadline, self.handler.handle(&event, &ctx)).await
    }
}
