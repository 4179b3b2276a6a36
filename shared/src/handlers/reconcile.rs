//! The scheduled `reconcile` function (hourly): the safety net that ends
//! access on time when a revoke webhook never came, and repairs any account
//! past expiry + grace or `past_due` from Polo's own subscriptions.

use crate::reconcile::Reconciler;

/// One run per EventBridge event, bounded by the invocation's deadline.
pub async fn handle_scheduled(
    reconciler: &Reconciler,
    event: lambda_runtime::LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, lambda_runtime::Error> {
    let deadline = crate::http::deadline::lambda_deadline(event.context.deadline)
        .map(|d| d - time::Duration::seconds(2))
        .unwrap_or_else(|| reconciler.clock.now() + time::Duration::seconds(240));
    let report = reconciler
        .scheduled(&event.context.request_id, deadline)
        .await
        .map_err(|e| Box::new(e) as lambda_runtime::Error)?;
    Ok(serde_json::json!({
        "accounts": report.accounts,
        "changed": report.changed,
        "failed": report.failed.len(),
        "backlog": report.backlog,
    }))
}
