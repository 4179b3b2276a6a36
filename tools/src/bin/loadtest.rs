//! Load test of the local server: sustained signed webhooks over loopback
//! HTTP from concurrent senders, 20% of them redeliveries of an earlier id;
//! reports throughput and p50/p99. Bounded in time and count, loopback only.
//!
//! usage: loadtest [senders, default 16] [seconds, default 10]

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tools::local::{LocalStack, LOCAL_WEBHOOK_SECRET};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let senders: usize = args.first().map(|n| n.parse()).transpose()?.unwrap_or(16);
    let seconds: u64 = args.get(1).map(|n| n.parse()).transpose()?.unwrap_or(10);
    let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let stack = Arc::new(LocalStack::new(
        &format!(r#"["{LOCAL_WEBHOOK_SECRET}"]"#),
        &events,
    )?);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, stack.router()).await });

    let client = reqwest::Client::new();
    let next_id = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..senders {
        let (client, base, next_id, events) = (
            client.clone(),
            base.clone(),
            next_id.clone(),
            events.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut statuses = [0usize; 6];
            let mut sent = 0u64;
            while Instant::now() < deadline && sent < 1_000_000 {
                sent += 1;
                // Every fifth delivery is a redelivery of an id already sent.
                let id = if sent.is_multiple_of(5) {
                    format!(
                        "msg_load_{}",
                        next_id.load(Ordering::Relaxed).saturating_sub(3)
                    )
                } else {
                    format!("msg_load_{}", next_id.fetch_add(1, Ordering::Relaxed))
                };
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                let Ok(delivery) = tools::sample::load(
                    &events,
                    "subscription-updated",
                    &id,
                    LOCAL_WEBHOOK_SECRET,
                    now,
                ) else {
                    break;
                };
                let mut request = client
                    .post(format!("{base}{}", delivery.path))
                    .body(delivery.body);
                for (name, value) in &delivery.headers {
                    request = request.header(*name, value);
                }
                let started = Instant::now();
                let status = request
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                latencies.push(started.elapsed().as_secs_f64() * 1000.0);
                statuses[(status / 100) as usize % 6] += 1;
            }
            (latencies, statuses)
        }));
    }
    let mut all = Vec::new();
    let mut statuses = [0usize; 6];
    for task in tasks {
        let (latencies, s) = task.await?;
        all.extend(latencies);
        for (total, n) in statuses.iter_mut().zip(s) {
            *total += n;
        }
    }
    all.sort_by(f64::total_cmp);
    let pct = |p: f64| all[((all.len() as f64 - 1.0) * p).round() as usize];
    println!("| senders | seconds | requests | per second | p50 ms | p99 ms | 2xx | 4xx | 5xx |");
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {senders} | {seconds} | {} | {:.0} | {:.2} | {:.2} | {} | {} | {} |",
        all.len(),
        all.len() as f64 / seconds as f64,
        pct(0.5),
        pct(0.99),
        statuses[2],
        statuses[4],
        statuses[5]
    );
    Ok(())
}
