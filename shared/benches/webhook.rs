//! Per-event costs of the webhook path, each beside its floor where one
//! exists: signature verification vs a bare HMAC-SHA256 of the same bytes;
//! envelope + subscription parsing; `apply()`; the whole in-process pipeline
//! (intake + lifecycle on in-memory ports). Run: `cargo bench -p billing`.

use base64::Engine;
use billing::accounts::InMemoryAccountStore;
use billing::clock::SystemClock;
use billing::domain::{apply, AccountBilling, AccountId, Policy};
use billing::idempotency::InMemoryIdempotencyStore;
use billing::polo::catalogue::Catalogue;
use billing::polo::events::{parse_event, EventData};
use billing::polo::routing::Endpoint;
use billing::polo::verifier::{sign, verify, SignatureHeaders, WebhookSecret};
use billing::ports::Ports;
use billing::provisioning::InMemoryProvisioner;
use billing::secrets::{CachedSecretSource, InMemorySecretSource, SecretId, SecretString};
use billing::telemetry::MetricSink;
use billing::webhook::WebhookKeys;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn body(modified_at: &str) -> Vec<u8> {
    serde_json::json!({
        "type": "subscription.updated",
        "timestamp": "2026-11-24T22:00:00Z",
        "data": {
            "id": "6f1c2b7e-3d4a-4f5b-9c8d-1e2f3a4b5c6d", "status": "active", "product_id": "prod_pro",
            "customer_id": "0b9e8d7c-6a5f-4e3d-8c2b-1a0f9e8d7c6b",
            "customer": {"id": "0b9e8d7c-6a5f-4e3d-8c2b-1a0f9e8d7c6b", "external_id": "acct_1", "email": "ada@example.com"},
            "metadata": {"accountId": "acct_1", "planTier": "pro"},
            "current_period_start": "2026-11-22T10:00:00Z", "current_period_end": "2026-12-22T10:00:00Z",
            "trial_start": null, "trial_end": null, "cancel_at_period_end": false, "canceled_at": null,
            "ends_at": null, "ended_at": null, "started_at": "2026-11-20T10:00:00Z",
            "created_at": "2026-11-20T10:00:00Z", "modified_at": modified_at, "amount": 2900, "currency": "usd",
            "recurring_interval": "month", "checkout_id": "3c2b1a0f-9e8d-4c7b-8a6f-5e4d3c2b1a0f"
        }
    })
    .to_string()
    .into_bytes()
}

fn signature(c: &mut Criterion) {
    let body = body("2026-11-22T10:00:00Z");
    let secret = SecretString::new(SECRET);
    let ts = 1_795_557_600;
    let sig = sign(&secret, "msg_1", ts, &body).unwrap();
    let ts_text = ts.to_string();
    let prepared = vec![WebhookSecret::new(&secret).unwrap()];
    let key = base64::engine::general_purpose::STANDARD
        .decode(&SECRET[6..])
        .unwrap();
    let mut group = c.benchmark_group("signature");
    group.bench_function("bare_hmac_sha256_floor", |b| {
        b.iter(|| {
            let mut mac = Hmac::<Sha256>::new_from_slice(black_box(&key)).unwrap();
            mac.update(b"msg_1.");
            mac.update(ts_text.as_bytes());
            mac.update(b".");
            mac.update(black_box(&body));
            black_box(mac.finalize().into_bytes())
        })
    });
    group.bench_function("verify", |b| {
        b.iter(|| {
            let headers = SignatureHeaders {
                id: Some("msg_1"),
                timestamp: Some(&ts_text),
                signature: Some(&sig),
            };
            black_box(verify(black_box(&body), headers, &prepared, ts).unwrap())
        })
    });
    group.finish();
}

fn parsing_and_apply(c: &mut Criterion) {
    let body = body("2026-11-22T10:00:00Z");
    let catalogue = Catalogue::from_lists("prod_starter", "prod_pro", "prod_enterprise").unwrap();
    c.bench_function("parse_envelope_and_subscription", |b| {
        b.iter(|| black_box(parse_event(black_box(&body)).unwrap()))
    });
    let event = parse_event(&body).unwrap();
    let EventData::Subscription(wire) = &event.data else {
        unreachable!()
    };
    let snapshot = wire.snapshot(&catalogue).unwrap();
    let account = AccountBilling::new(AccountId::parse("acct_1").unwrap());
    let now = time::macros::datetime!(2026-11-24 22:00 UTC);
    c.bench_function("apply", |b| {
        b.iter(|| {
            black_box(apply(
                black_box(&account),
                &snapshot,
                now,
                &Policy::default(),
            ))
        })
    });
}

/// Metrics go nowhere: the benchmark measures the pipeline, not a sink.
struct NoMetrics;

impl MetricSink for NoMetrics {
    fn record(&self, _: &'static str, _: f64, _: &'static str, _: &[(&'static str, &str)]) {}
}

fn pipeline(c: &mut Criterion) {
    let clock = Arc::new(SystemClock);
    let secrets = Arc::new(InMemorySecretSource::default());
    secrets.set(SecretId::PoloWebhook, format!(r#"["{SECRET}"]"#));
    let keys = Arc::new(WebhookKeys::new(Arc::new(CachedSecretSource::new(
        secrets,
        clock.clone(),
    ))));
    let accounts = Arc::new(InMemoryAccountStore::default());
    accounts.insert(AccountBilling::new(AccountId::parse("acct_1").unwrap()));
    let metrics = Arc::new(NoMetrics);
    let ports = Ports {
        idempotency: Some(Arc::new(InMemoryIdempotencyStore::default())),
        catalogue: Arc::new(
            Catalogue::from_lists("prod_starter", "prod_pro", "prod_enterprise").unwrap(),
        ),
        ..Ports::new(
            accounts,
            Arc::new(InMemoryProvisioner::default()),
            clock.clone(),
            metrics,
        )
    };
    let handler = ports.lifecycle_handler(&ports.updater());
    let intake = ports
        .intake(
            Endpoint::SubscriptionUpdated,
            keys,
            handler,
            clock,
            billing::webhook::DEFAULT_LEASE,
        )
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let counter = AtomicU64::new(0);
    let base = time::macros::datetime!(2026-11-22 10:00 UTC);
    // Each event is new (fresh id) and newer (later watermark): the full
    // path — verify, parse, claim, read, apply, write, complete — every time.
    c.bench_function("pipeline_new_event_in_memory", |b| {
        b.iter_batched(
            || {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let modified = (base + time::Duration::seconds(n as i64))
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap();
                let body = body(&modified);
                let id = format!("msg_{n}");
                let ts = time::OffsetDateTime::now_utc().unix_timestamp();
                let sig = sign(&SecretString::new(SECRET), &id, ts, &body).unwrap();
                http::Request::builder()
                    .method("POST")
                    .uri("/api/billing/polo/subscription-updated")
                    .header("webhook-id", id)
                    .header("webhook-timestamp", ts.to_string())
                    .header("webhook-signature", sig)
                    .body(lambda_http::Body::Binary(body))
                    .unwrap()
            },
            |request| black_box(runtime.block_on(intake.handle(request))),
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, signature, parsing_and_apply, pipeline);
criterion_main!(benches);
