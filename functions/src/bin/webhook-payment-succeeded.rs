//! Lambda: POST /api/billing/polo/payment-succeeded (Polo webhook, signature-verified).

use billing::polo::routing::Endpoint;
use lambda_http::{service_fn, Error, Request};
use std::convert::Infallible;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    billing::telemetry::init();
    let intake = billing::app::webhook_intake(Endpoint::PaymentSucceeded).await?;
    let intake = &intake;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Infallible>(intake.handle(request).await)
    }))
    .await
}
