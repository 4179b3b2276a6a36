//! Lambda: reconcile (EventBridge schedule, hourly): re-applies Polo's
//! subscriptions to accounts past expiry + grace or `past_due`.

use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    billing::telemetry::init();
    let reconciler = billing::app::reconciler().await?;
    let reconciler = &reconciler;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            billing::handlers::reconcile::handle_scheduled(reconciler, event).await
        },
    ))
    .await
}
