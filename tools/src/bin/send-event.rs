//! Sends a sample Polo delivery from `events/` to the local server, signed
//! with the local test secret and a fresh timestamp, and prints the answer
//! (`send-event --help`).

use clap::Parser;
use std::path::Path;
use tools::local::LOCAL_WEBHOOK_SECRET;
use tools::sample;

/// Sends a sample Polo delivery to the local server and prints the answer.
#[derive(Debug, Parser)]
#[command(
    name = "send-event",
    after_help = "Environment: POLO_WEBHOOK_SECRET (default: the documented local one)."
)]
struct Args {
    /// Which sample (events/webhook-<slug>.json).
    #[arg(value_parser = [
        "subscription-created",
        "subscription-updated",
        "subscription-canceled",
        "payment-failed",
        "payment-succeeded",
    ])]
    slug: String,
    /// The webhook id (default: a new one; repeat one to send a redelivery).
    #[arg(long)]
    id: Option<String>,
    /// Send to another endpoint than the sample's own (a misrouting drill).
    #[arg(long, value_name = "SLUG")]
    to: Option<String>,
    /// The local server.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    url: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let raw =
        billing::cli_args::help_word_as_flag(&std::env::args().skip(1).collect::<Vec<_>>(), false);
    // Help to stdout (exit 0); a usage error to stderr (exit 2).
    let args = Args::try_parse_from(std::iter::once("send-event".to_owned()).chain(raw))
        .unwrap_or_else(|err| err.exit());
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // Unique per send unless --id asks for a redelivery.
    let id = args.id.unwrap_or_else(|| {
        format!(
            "msg_local_{}",
            time::OffsetDateTime::now_utc().unix_timestamp_nanos()
        )
    });
    let secret =
        std::env::var("POLO_WEBHOOK_SECRET").unwrap_or_else(|_| LOCAL_WEBHOOK_SECRET.to_owned());
    let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let delivery = sample::load(&events, &args.slug, &id, &secret, now)?;
    let path = match args.to {
        Some(to) => format!("/api/billing/polo/{to}"),
        None => delivery.path.clone(),
    };
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", args.url))
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
