//! The shared webhook intake every webhook function runs: size limit,
//! signature, parse, route by type, claim, handle, complete — or park,
//! never lose. design.md's "Webhook answers" table is implemented here, and
//! [`answer`] is the one place that turns an outcome into an HTTP response.

pub mod answer;
pub mod inbox;
mod intake;
mod keys;
pub mod replay;
pub mod sweep;

pub use answer::Answer;
pub use intake::{Intake, DEFAULT_LEASE, MAX_BODY_BYTES};
pub use keys::{KeysError, WebhookKeys};
pub use replay::{ReplayError, ReplayOutcome, Replayer};
pub use sweep::{SweepReport, Sweeper};

use crate::idempotency::ParkReason;
use crate::polo::events::PoloEvent;
use async_trait::async_trait;
use time::OffsetDateTime;

/// What a handler knows about the delivery besides the event itself.
#[derive(Debug, Clone)]
pub struct DeliveryContext {
    pub webhook_id: String,
    /// The Lambda deadline: every outbound call must finish before it.
    pub deadline: OffsetDateTime,
}

/// Why a handler did not finish.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// A retry cannot fix it: park the event (answer 200).
    #[error("permanently unprocessable: {}", .0.code)]
    Permanent(ParkReason),
    /// A dependency failed; nothing was half-applied: the record waits
    /// `PENDING` in the inbox for the retry sweep (answer 202).
    #[error("transient failure")]
    Transient(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// How a handler finished (all answered 200).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// The account changed.
    Applied,
    /// Nothing to change (a re-apply, or an event that carries no state).
    Unchanged,
    /// Older than what the account holds for the subscription.
    Stale,
}

/// Runs `handler` on `event` within its deadline, in a task of its own: a
/// panic (a bug no input should reach — inputs are range-checked where
/// they are parsed) becomes a transient fault of this one event, so it
/// waits in the inbox and alarms instead of taking down the retry sweep or
/// a replay run with every other record in it.
pub async fn handle_guarded(
    handler: std::sync::Arc<dyn EventHandler>,
    event: PoloEvent,
    ctx: DeliveryContext,
) -> Result<Handled, HandleError> {
    let deadline = ctx.deadline;
    let task = tokio::spawn(crate::http::deadline::scope(deadline, async move {
        handler.handle(&event, &ctx).await
    }));
    match task.await {
        Ok(result) => result,
        Err(join) => Err(HandleError::Transient(
            format!("the handler panicked or was cancelled: {join}").into(),
        )),
    }
}

/// Applies one verified, parsed, correctly routed event.
#[async_trait]
pub trait EventHandler: Send + Sync {
    async fn handle(
        &self,
        event: &PoloEvent,
        ctx: &DeliveryContext,
    ) -> Result<Handled, HandleError>;
}
