//! `webhook-retry` (EventBridge schedule, every minute): one run of the
//! inbox's sweep ([`crate::webhook::Sweeper`]) inside the invocation's own
//! deadline; what it cannot finish it leaves for the next run.

use crate::webhook::Sweeper;
use time::Duration;

/// Kept back from the invocation's deadline to write the last outcome and
/// the metrics.
const MARGIN: Duration = Duration::seconds(2);
/// The run's budget when no deadline is known (a local invocation).
const FALLBACK: Duration = Duration::seconds(50);

pub async fn handle_scheduled(
    sweeper: &Sweeper,
    event: lambda_runtime::LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, lambda_runtime::Error> {
    let now = sweeper.clock.now();
    let deadline = crate::http::deadline::lambda_deadline(event.context.deadline)
        .and_then(|d| d.checked_sub(MARGIN))
        .unwrap_or_else(|| now.checked_add(FALLBACK).unwrap_or(now));
    let report = sweeper
        .run(deadline)
        .await
        .map_err(|e| Box::new(e) as lambda_runtime::Error)?;
    Ok(report.summary())
}
