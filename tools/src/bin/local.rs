//! The README's run command: the whole system on loopback, embedded defaults.

use std::sync::Arc;
use tools::local::{LocalStack, LOCAL_WEBHOOK_SECRET};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    billing::telemetry::init();
    let port: u16 = match std::env::var("PORT") {
        Ok(raw) => raw.parse().map_err(|_| "PORT must be a port number")?,
        Err(_) => 3000,
    };
    let secrets = std::env::var("POLO_WEBHOOK_SECRETS")
        .unwrap_or_else(|_| format!(r#"["{LOCAL_WEBHOOK_SECRET}"]"#));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let address = listener.local_addr()?;
    println!(
        "\nPolo billing, local stack on http://{address}\n\
         \n  webhook routes: POST /api/billing/polo/{{subscription-created,subscription-updated,\n\
         \x20                 subscription-canceled,payment-failed,payment-succeeded}}\n\
         \x20 signed with the local test secret (see .env.example)\n\
         \n  Try it (another terminal):\n\
         \x20   cargo run -q -p tools --bin send-event -- subscription-created --id msg_try_1\n\
         \x20   cargo run -q -p tools --bin send-event -- subscription-created --id msg_try_1   # duplicate\n\
         \x20   cargo run -q -p tools --bin send-event -- payment-succeeded --to subscription-created  # misrouted: parked\n\
         \x20   cargo run -q -p tools --bin send-event -- subscription-updated   # trial → active\n\
         \x20   curl -s http://{address}/dev/state   # accounts, credentials issued, idempotency records\n"
    );
    let events = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let stack = Arc::new(LocalStack::new(&secrets, &events)?);
    axum::serve(listener, stack.router()).await?;
    Ok(())
}
