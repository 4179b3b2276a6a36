//! Lambda: provisioning-sync (EventBridge schedule, every minute): pushes
//! every account whose entitlement the orchestrator has not acknowledged.

use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    billing::telemetry::init();
    let app = billing::app::provisioning_sync().await?;
    let app = &app;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            billing::handlers::provisioning_sync::handle_scheduled(app, event).await
        },
    ))
    .await
}
