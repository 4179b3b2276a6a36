//! Lambda: webhook-retry (EventBridge schedule, every minute): finishes the
//! inbox's `PENDING` deliveries and the crashed ones past their lease.

use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    billing::telemetry::init();
    let sweeper = billing::app::webhook_retry().await?;
    let sweeper = &sweeper;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            billing::handlers::webhook_retry::handle_scheduled(sweeper, event).await
        },
    ))
    .await
}
