//! The webhook intake, driven with real API Gateway v2 events: one test per
//! row of design.md's answer table that the intake alone decides, plus the
//! claim, retry and secret-rotation paths. In-memory ports throughout (the
//! DynamoDB adapter has its own contract suite on the emulator).

mod support;

use support::intake::{created, harness, harness_with, Flaky, Harness, NOW};
use support::{logs, polo};

use billing::clock::Clock;
use billing::idempotency::ParkReason;
use billing::idempotency::{
    BodyHash, Delivery, IdempotencyStore, ParkCode, RecordKey, RecordStatus, StoreOp,
};
use billing::polo::events::PoloEvent;
use billing::polo::routing::Endpoint;
use billing::secrets::SecretId;
use billing::webhook::{DeliveryContext, EventHandler, HandleError, Handled, MAX_BODY_BYTES};
use polo::{envelope, order, signed_headers, subscription, ROTATED_SECRET, WEBHOOK_SECRET};
use std::sync::Arc;
use time::Duration;

#[tokio::test]
async fn a_verified_event_is_handled_once_and_completed() {
    let h = harness(Endpoint::SubscriptionCreated);
    let answer = h.deliver("msg_1", &created("acct_1")).await;

    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, serde_json::json!({"status": "processed"}));
    let recorded = h.handler.recorded();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].event.external_customer_id(), Some("acct_1"));
    let record = h.record("msg_1").unwrap();
    assert_eq!(record.status, RecordStatus::Completed);
    assert_eq!(
        record.delivery.event_type.as_deref(),
        Some("subscription.created")
    );
    assert_eq!(record.delivery.account_id.as_deref(), Some("acct_1"));
    assert_eq!(record.expires_at, Some(h.clock.now() + Duration::days(30)));
    assert_eq!(h.metrics.total("WebhookOutcome", "Outcome", "processed"), 1);
}

#[tokio::test]
async fn a_base64_encoded_body_from_api_gateway_verifies_on_its_decoded_bytes() {
    let h = harness(Endpoint::SubscriptionCreated);
    let body = created("acct_1");
    let headers = signed_headers(WEBHOOK_SECRET, "msg_b64", NOW, &body);

    let answer = h.send(&headers, &body, true).await;

    assert_eq!(answer.status, 200);
    assert_eq!(h.handler.recorded().len(), 1);
}

#[tokio::test]
async fn a_body_over_256_kib_is_refused_with_413_before_any_store_call() {
    let h = harness(Endpoint::SubscriptionCreated);
    let mut data = subscription("sub_1", "active", "acct_1");
    data["metadata"]["padding"] = "x".repeat(MAX_BODY_BYTES).into();
    let body = envelope("subscription.created", data);

    let answer = h.deliver("msg_big", &body).await;

    assert_eq!(answer.status, 413);
    assert_eq!(answer.body["error"], "payload_too_large");
    assert_eq!(h.store.calls(), 0);
    assert_eq!(h.metrics.total("WebhookOutcome", "Outcome", "too_large"), 1);
}

#[tokio::test]
async fn a_missing_or_bad_signature_is_refused_with_401_and_nothing_stored() {
    let h = harness(Endpoint::SubscriptionCreated);
    let body = created("acct_1");
    let good = signed_headers(WEBHOOK_SECRET, "msg_sig", NOW, &body);
    let forged = signed_headers(ROTATED_SECRET, "msg_sig", NOW, &body);
    let stale = signed_headers(WEBHOOK_SECRET, "msg_sig", NOW - 301, &body);

    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (good[1..].to_vec(), "webhook-id: missing"),
        (
            vec![good[0].clone(), good[2].clone()],
            "webhook-timestamp: missing",
        ),
        (good[..2].to_vec(), "webhook-signature: missing"),
        (forged, "webhook-signature: no signature matches"),
        (stale, "webhook-timestamp: too old"),
    ];
    for (headers, detail) in cases {
        let answer = h.send(&headers, &body, false).await;
        assert_eq!(answer.status, 401, "{detail}");
        assert_eq!(answer.body["error"], "invalid_signature");
        assert_eq!(answer.body["detail"], detail);
    }
    assert_eq!(h.store.calls(), 0);
    assert!(h.handler.recorded().is_empty());
    assert_eq!(
        h.metrics
            .total("WebhookOutcome", "Outcome", "signature_rejected"),
        5
    );
}

#[tokio::test]
async fn malformed_json_is_parked_with_its_raw_payload_and_answered_200() {
    let h = harness(Endpoint::SubscriptionCreated);
    let body = br#"{"type": "subscription.created", "data": {"id": "sub_1""#.to_vec();

    let answer = h.deliver("msg_bad_json", &body).await;

    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.body,
        serde_json::json!({"status": "parked", "reason": "malformed"})
    );
    let record = h.record("msg_bad_json").unwrap();
    assert_eq!(record.status, RecordStatus::Parked);
    assert_eq!(record.payload.as_deref(), Some(body.as_slice()));
    assert_eq!(record.park_reason.unwrap().detail, "body is not valid JSON");
    assert!(h.handler.recorded().is_empty());
    assert_eq!(h.metrics.total("WebhookOutcome", "Outcome", "parked"), 1);
}

#[tokio::test]
async fn a_subscription_missing_a_field_is_parked_naming_the_field_path() {
    let h = harness(Endpoint::SubscriptionCreated);
    let mut data = subscription("sub_1", "active", "acct_1");
    data.as_object_mut().unwrap().remove("created_at");
    data["customer"]["id"] = 42.into();

    let answer = h
        .deliver("msg_missing", &envelope("subscription.created", data))
        .await;

    assert_eq!(answer.status, 200);
    let reason = h.record("msg_missing").unwrap().park_reason.unwrap();
    assert_eq!(reason.code, "malformed");
    assert_eq!(reason.detail, "data.customer.id: wrong type");
}

#[tokio::test]
async fn an_unknown_event_type_is_parked() {
    let h = harness(Endpoint::SubscriptionUpdated);
    let answer = h
        .deliver(
            "msg_refund",
            &envelope("refund.created", serde_json::json!({"id": "r_1"})),
        )
        .await;

    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["reason"], "unknown_event_type");
    let record = h.record("msg_refund").unwrap();
    assert_eq!(
        record.delivery.event_type.as_deref(),
        Some("refund.created")
    );
}

#[tokio::test]
async fn an_unknown_subscription_status_is_parked_not_guessed() {
    let h = harness(Endpoint::SubscriptionUpdated);
    let body = envelope(
        "subscription.updated",
        subscription("sub_1", "frozen", "acct_1"),
    );

    let answer = h.deliver("msg_enum", &body).await;

    assert_eq!(answer.body["reason"], "unknown_enum");
    assert_eq!(
        h.record("msg_enum").unwrap().park_reason.unwrap().detail,
        "data.status: unknown value"
    );
    assert!(h.handler.recorded().is_empty());
}

#[tokio::test]
async fn an_event_sent_to_the_wrong_endpoint_is_parked_as_misrouted() {
    let h = harness(Endpoint::SubscriptionCreated);
    let body = envelope("order.paid", order("ord_1", "sub_1", "acct_1"));

    let answer = h.deliver("msg_misrouted", &body).await;

    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["reason"], "misrouted");
    let record = h
        .record("msg_misrouted@webhook-subscription-created")
        .unwrap();
    assert_eq!(record.status, RecordStatus::Parked);
    assert_eq!(record.delivery.endpoint, "webhook-subscription-created");
    assert!(h.handler.recorded().is_empty());
    assert!(
        h.record("msg_misrouted").is_none(),
        "the id itself stays free"
    );
}

#[tokio::test]
async fn a_duplicate_is_answered_200_costs_one_store_call_and_is_not_handled_again() {
    let h = harness(Endpoint::SubscriptionCreated);
    let body = created("acct_1");
    h.deliver("msg_dup", &body).await;
    let calls_before = h.store.calls();

    let answer = h.deliver("msg_dup", &body).await;

    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, serde_json::json!({"status": "duplicate"}));
    assert_eq!(h.store.calls() - calls_before, 1);
    assert_eq!(h.handler.recorded().len(), 1);
}

#[tokio::test]
async fn a_redelivered_parked_event_stays_parked_once() {
    let h = harness(Endpoint::SubscriptionCreated);
    let body = envelope("order.paid", order("ord_1", "sub_1", "acct_1"));
    h.deliver("msg_parked_twice", &body).await;

    let answer = h.deliver("msg_parked_twice", &body).await;

    assert_eq!(answer.body, serde_json::json!({"status": "duplicate"}));
    assert_eq!(h.store.snapshot().len(), 1);
    assert_eq!(h.metrics.total("WebhookOutcome", "Outcome", "parked"), 1);
}

#[tokio::test]
async fn an_event_held_by_another_attempt_is_answered_409() {
    let h = harness(Endpoint::SubscriptionCreated);
    let body = created("acct_1");
    let delivery = Delivery {
        key: RecordKey::for_delivery("msg_busy"),
        body_hash: BodyHash::of(&body),
        endpoint: "webhook-subscription-created".into(),
        webhook_id: "msg_busy".into(),
        verification: "v1".into(),
        event_type: None,
        account_id: None,
        received_at: h.clock.now(),
    };
    h.store
        .claim(
            &delivery,
            &body,
            h.clock.now() + Duration::seconds(5),
            h.clock.now(),
        )
        .await
        .unwrap();

    let answer = h.deliver("msg_busy", &body).await;

    assert_eq!(answer.status, 409);
    assert_eq!(answer.body["error"], "in_progress");
    assert!(h.handler.recorded().is_empty());
}

/// An attempt that claimed `id` for `body` and died: its lease has passed.
async fn crashed_claim(h: &Harness, id: &str, body: &[u8]) {
    let delivery = Delivery {
        key: RecordKey::for_delivery(id),
        body_hash: BodyHash::of(body),
        endpoint: "webhook-subscription-created".into(),
        webhook_id: id.into(),
        verification: "v1".into(),
        event_type: None,
        account_id: None,
        received_at: h.clock.now(),
    };
    h.store
        .claim(
            &delivery,
            body,
            h.clock.now() + Duration::seconds(9),
            h.clock.now(),
        )
        .await
        .unwrap();
    h.clock.advance(Duration::seconds(10));
}

#[tokio::test]
async fn a_claim_whose_deadline_passed_is_taken_over_by_the_retry() {
    let h = harness(Endpoint::SubscriptionCreated);
    let body = created("acct_1");
    crashed_claim(&h, "msg_crashed", &body).await;

    let answer = h.deliver("msg_crashed", &body).await;

    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["status"], "processed");
    assert_eq!(
        h.record("msg_crashed").unwrap().status,
        RecordStatus::Completed
    );
}

#[tokio::test]
async fn an_expired_claim_is_not_taken_over_by_another_body_which_is_parked_as_a_conflict() {
    let h = harness(Endpoint::SubscriptionCreated);
    let body = created("acct_1");
    crashed_claim(&h, "msg_crashed", &body).await;
    let other = created("acct_2");

    let answer = h.deliver("msg_crashed", &other).await;

    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["reason"], "body_conflict");
    let original = h.record("msg_crashed").unwrap();
    assert_eq!(
        original.status,
        RecordStatus::InProgress,
        "left for its own retry"
    );
    assert_eq!(original.delivery.body_hash, BodyHash::of(&body));
    assert!(
        h.handler.recorded().is_empty(),
        "the other body was not handled"
    );
    // The original body's retry still takes its claim over and finishes.
    let retried = h.deliver("msg_crashed", &body).await;
    assert_eq!(retried.body["status"], "processed");
}

#[tokio::test]
async fn the_same_id_with_another_body_is_parked_under_the_id_and_body_hash() {
    let h = harness(Endpoint::SubscriptionCreated);
    h.deliver("msg_reused", &created("acct_1")).await;
    let other = created("acct_2");

    let answer = h.deliver("msg_reused", &other).await;

    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["reason"], "body_conflict");
    let key = format!("msg_reused#{}", BodyHash::of(&other).as_str());
    let parked = h.record(&key).unwrap();
    assert_eq!(parked.status, RecordStatus::Parked);
    assert_eq!(parked.payload.as_deref(), Some(other.as_slice()));
    assert_eq!(
        h.record("msg_reused").unwrap().status,
        RecordStatus::Completed
    );
    assert_eq!(
        h.handler.recorded().len(),
        1,
        "the second body was not handled"
    );

    let again = h.deliver("msg_reused", &other).await;
    assert_eq!(again.body["status"], "duplicate");
}

#[tokio::test]
async fn dynamodb_unavailable_answers_503_changes_nothing_and_the_retry_succeeds() {
    let h = harness(Endpoint::SubscriptionCreated);
    let body = created("acct_1");
    h.store.fail(StoreOp::Claim);

    let answer = h.deliver("msg_outage", &body).await;

    assert_eq!(answer.status, 503);
    assert_eq!(
        answer.body,
        serde_json::json!({"error": "temporarily_unavailable", "detail": "retry later"})
    );
    assert!(h.store.snapshot().is_empty());
    assert!(h.handler.recorded().is_empty());

    h.store.heal();
    let retry = h.deliver("msg_outage", &body).await;
    assert_eq!(retry.status, 200);
    assert_eq!(h.handler.recorded().len(), 1);
}

#[tokio::test]
async fn a_transient_handler_failure_keeps_the_event_pending_answers_202_and_a_redelivery_finishes_it(
) {
    let flaky = Arc::new(Flaky::failing(1));
    let h = harness_with(Endpoint::SubscriptionCreated, Some(flaky.clone()));
    let body = created("acct_1");

    let first = h.deliver("msg_flaky", &body).await;

    assert_eq!(first.status, 202);
    assert_eq!(first.body, serde_json::json!({"status": "accepted"}));
    let pending = h.record("msg_flaky").unwrap();
    assert_eq!(pending.status, RecordStatus::Pending);
    assert_eq!(pending.payload.as_deref(), Some(body.as_slice()));
    assert_eq!(pending.attempts, 1);
    assert_eq!(
        pending.last_fault.as_deref(),
        Some("transient failure: account store timed out")
    );
    assert_eq!(
        pending.next_attempt_at,
        Some(h.clock.now() + Duration::minutes(1))
    );

    let retry = h.deliver("msg_flaky", &body).await;
    assert_eq!(retry.status, 200);
    assert_eq!(retry.body["status"], "processed");
    assert_eq!(flaky.runs(), 2);
    let done = h.record("msg_flaky").unwrap();
    assert_eq!(done.status, RecordStatus::Completed);
    assert_eq!(done.payload, None, "an applied event keeps no payload");
}

struct Refusing;

#[async_trait::async_trait]
impl EventHandler for Refusing {
    async fn handle(
        &self,
        _event: &PoloEvent,
        _ctx: &DeliveryContext,
    ) -> Result<Handled, HandleError> {
        Err(HandleError::Permanent(ParkReason::new(
            ParkCode::UnknownProduct,
            "data.product_id: not in the catalogue",
        )))
    }
}

#[tokio::test]
async fn a_permanent_handler_failure_parks_the_claimed_event() {
    let h = harness_with(Endpoint::SubscriptionCreated, Some(Arc::new(Refusing)));
    let body = created("acct_1");

    let answer = h.deliver("msg_refused", &body).await;

    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["reason"], "unknown_product");
    let record = h.record("msg_refused").unwrap();
    assert_eq!(record.status, RecordStatus::Parked);
    assert_eq!(record.payload.as_deref(), Some(body.as_slice()));
    assert_eq!(
        record.expires_at, None,
        "parked payloads are kept until resolved"
    );
}

#[tokio::test]
async fn a_rotated_webhook_secret_is_picked_up_after_one_signature_failure() {
    let h = harness(Endpoint::SubscriptionCreated);
    h.deliver("msg_warm", &created("acct_1")).await; // caches the old secret
    h.secrets
        .set(SecretId::PoloWebhook, format!(r#"["{ROTATED_SECRET}"]"#));
    let body = created("acct_2");
    let headers = signed_headers(ROTATED_SECRET, "msg_rotated", NOW, &body);

    let answer = h.send(&headers, &body, false).await;

    assert_eq!(answer.status, 200);
    assert_eq!(h.secrets.fetch_count(), 2);
}

#[tokio::test]
async fn forged_deliveries_reread_the_secret_at_most_once_a_minute() {
    let h = harness(Endpoint::SubscriptionCreated);
    let body = created("acct_1");
    for i in 0..20 {
        let forged = signed_headers(ROTATED_SECRET, &format!("msg_forged_{i}"), NOW, &body);
        assert_eq!(h.send(&forged, &body, false).await.status, 401);
    }
    assert_eq!(
        h.secrets.fetch_count(),
        2,
        "one cold read, one forced re-read"
    );
}

#[tokio::test]
async fn an_unreachable_secret_store_answers_503() {
    let h = harness(Endpoint::SubscriptionCreated);
    h.secrets.set_failing(true);

    let answer = h.deliver("msg_no_secret", &created("acct_1")).await;

    assert_eq!(answer.status, 503);
    assert!(h.store.snapshot().is_empty());
}

#[tokio::test]
async fn every_log_line_carries_the_delivery_fields_and_no_secret_ever_appears() {
    let (logs, _guard) = logs::capture();
    let h = harness(Endpoint::SubscriptionCreated);
    let body = created("acct_1");
    let mut answers = Vec::new();
    answers.push(h.deliver("msg_logged", &body).await);
    answers.push(h.deliver("msg_logged", &body).await);
    answers.push(
        h.send(
            &signed_headers(ROTATED_SECRET, "msg_forged", NOW, &body),
            &body,
            false,
        )
        .await,
    );
    answers.push(h.deliver("msg_bad", b"not json").await);
    h.store.fail(StoreOp::Claim);
    answers.push(h.deliver("msg_outage", &body).await);

    let text = logs.text();
    logs::assert_no_secret(&text);
    for answer in &answers {
        logs::assert_no_secret(&answer.body.to_string());
    }
    let answered: Vec<_> = logs
        .lines()
        .into_iter()
        .filter(|l| l["message"] == "webhook answered")
        .collect();
    assert_eq!(answered.len(), 5);
    let first = &answered[0];
    assert_eq!(first["span"]["function"], "webhook-subscription-created");
    assert_eq!(first["span"]["request_id"], "req-0001");
    assert_eq!(first["span"]["webhook_id"], "msg_logged");
    assert_eq!(first["span"]["event_type"], "subscription.created");
    assert_eq!(first["span"]["account_id"], "acct_1");
    assert!(first["span"]["cold_start"].is_boolean());
    assert!(
        text.contains("\"level\":\"ERROR\""),
        "the parked event and the outage log errors"
    );
}

#[tokio::test]
async fn a_sweep_that_cannot_list_the_inbox_reports_it_as_very_old_and_fails_the_run() {
    let h = harness(Endpoint::SubscriptionCreated);
    h.store.fail(StoreOp::ListOpen);

    let run = h.sweeper().run(h.clock.now() + Duration::minutes(1)).await;

    assert!(run.is_err(), "the run fails (its Errors alarm)");
    assert_eq!(
        h.metrics.values("InboxOldestOpenAgeSeconds"),
        vec![billing::telemetry::metrics::UNKNOWN_AGE_SECONDS],
        "and the age alarm trips even if the run's error is missed"
    );
}
