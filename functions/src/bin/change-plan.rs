//! Lambda: POST /api/billing/plan (dashboard, JWT authorizer).

use billing::dashboard::Route;
use lambda_http::{service_fn, Error, Request};
use std::convert::Infallible;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    billing::telemetry::init();
    let dashboard = billing::app::dashboard(Route::ChangePlan).await?;
    let dashboard = &dashboard;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Infallible>(dashboard.handle(Route::ChangePlan, request).await)
    }))
    .await
}
