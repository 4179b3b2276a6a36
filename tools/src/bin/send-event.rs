//! Sends a sample Polo delivery from `events/` to the local server, signed
//! with the local test secret and a fresh timestamp, and prints the answer.
//!
//! usage: send-event <slug> [--id <webhook-id>] [--to <slug>] [--url <base>]

use std::path::Path;
use tools::local::LOCAL_WEBHOOK_SECRET;
use tools::sample;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: send-event <subscription-created|subscription-updated|subscription-canceled|payment-failed|payment-succeeded> [--id <webhook-id>] [--to <slug>] [--url http://127.0.0.1:3000]";
    let slug = args.first().filter(|a| !a.starts_with("--")).ok_or(usage)?;
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // Unique per send unless --id asks for a redelivery.
    let id = flag("--id").unwrap_or_else(|| {
        format!(
            "msg_local_{}",
            time::OffsetDateTime::now_utc().unix_timestamp_nanos()
        )
    });
    let base = flag("--url").unwrap_or_else(|| "http://127.0.0.1:3000".to_owned());
    let secret =
        std::env::var("POLO_WEBHOOK_SECRET").unwrap_or_else(|_| LOCAL_WEBHOOK_SECRET.to_owned());
    let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let delivery = sample::load(&events, slug, &id, &secret, now)?;
    let path = match flag("--to") {
        Some(to) => format!("/api/billing/polo/{to}"),
        None => delivery.path.clone(),
    };
    let mut request = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .body(delivery.body);
    for (name, value) in &delivery.headers {
        request = request.header(*name, value);
    }
    let response = request.send().await?;
    let status = response.status();
    println!(
        "POST {path} (webhook-id {id}) -> {status} {}",
        response.text().await?
    );
    Ok(())
}
