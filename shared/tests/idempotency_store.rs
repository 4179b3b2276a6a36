//! One contract for every `IdempotencyStore` adapter, run against the
//! in-memory adapter and against the DynamoDB adapter on a real emulator
//! over the AWS wire protocol; plus the 50-way race on DynamoDB.

mod support;

use aws_sdk_dynamodb::types::AttributeValue;
use billing::idempotency::*;
use std::sync::Arc;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-11-24 22:00:00 UTC);

fn delivery(id: &str, body: &[u8]) -> Delivery {
    Delivery {
        key: RecordKey::for_delivery(id),
        body_hash: BodyHash::of(body),
        endpoint: "webhook-subscription-updated".into(),
        webhook_id: id.into(),
        verification: "v1 secret#0 spec ts=1795557600".into(),
        event_type: Some("subscription.updated".into()),
        account_id: Some("acct_1".into()),
        received_at: NOW,
    }
}

fn claimed(outcome: ClaimOutcome) -> Claim {
    match outcome {
        ClaimOutcome::Claimed(claim) => claim,
        other => panic!("expected a claim, got {other:?}"),
    }
}

fn existing(outcome: ClaimOutcome) -> IdempotencyRecord {
    match outcome {
        ClaimOutcome::Existing(record) => *record,
        other => panic!("expected an existing record, got {other:?}"),
    }
}

async fn a_first_claim_is_granted(store: &dyn IdempotencyStore) {
    let claim = claimed(
        store
            .claim(&delivery("msg_a", b"{}"), NOW + Duration::seconds(9), NOW)
            .await
            .unwrap(),
    );
    assert!(!claim.took_over);
    let record = store.get(&claim.key).await.unwrap().unwrap();
    assert_eq!(record.status, RecordStatus::InProgress);
    assert_eq!(record.claim_token, Some(claim.token));
    assert_eq!(record.lease_expires_at, Some(NOW + Duration::seconds(9)));
    assert_eq!(record.delivery, delivery("msg_a", b"{}"));
}

async fn a_held_key_returns_the_existing_in_progress_record(store: &dyn IdempotencyStore) {
    let d = delivery("msg_b", b"{}");
    store
        .claim(&d, NOW + Duration::seconds(9), NOW)
        .await
        .unwrap();
    let record = existing(
        store
            .claim(&d, NOW + Duration::seconds(9), NOW + Duration::seconds(1))
            .await
            .unwrap(),
    );
    assert_eq!(record.status, RecordStatus::InProgress);
    assert_eq!(record.delivery.body_hash, d.body_hash);
}

async fn an_expired_claim_is_taken_over_and_the_stale_claimant_is_fenced_off(
    store: &dyn IdempotencyStore,
) {
    let d = delivery("msg_c", b"{}");
    let stale = claimed(
        store
            .claim(&d, NOW + Duration::seconds(9), NOW)
            .await
            .unwrap(),
    );
    let later = NOW + Duration::seconds(10);
    let fresh = claimed(
        store
            .claim(&d, later + Duration::seconds(9), later)
            .await
            .unwrap(),
    );
    assert!(fresh.took_over);

    assert!(matches!(
        store.complete(&stale, later).await,
        Err(StoreError::ClaimLost(_))
    ));
    assert!(matches!(
        store.release(&stale).await,
        Err(StoreError::ClaimLost(_))
    ));
    let reason = ParkReason::new("x", "y");
    assert!(matches!(
        store.park_claimed(&stale, &reason, b"{}", later).await,
        Err(StoreError::ClaimLost(_))
    ));
    let record = store.get(&d.key).await.unwrap().unwrap();
    assert_eq!(record.status, RecordStatus::InProgress);
    assert_eq!(record.claim_token, Some(fresh.token.clone()));

    store.complete(&fresh, later).await.unwrap();
    assert_eq!(
        store.get(&d.key).await.unwrap().unwrap().status,
        RecordStatus::Completed
    );
}

async fn an_expired_claim_is_not_taken_over_by_another_body(store: &dyn IdempotencyStore) {
    let first = delivery("msg_body", br#"{"a":1}"#);
    let held = claimed(
        store
            .claim(&first, NOW + Duration::seconds(9), NOW)
            .await
            .unwrap(),
    );
    let later = NOW + Duration::seconds(10);
    let other = delivery("msg_body", br#"{"a":2}"#);

    let record = existing(
        store
            .claim(&other, later + Duration::seconds(9), later)
            .await
            .unwrap(),
    );

    assert_eq!(record.status, RecordStatus::InProgress);
    assert_eq!(
        record.delivery.body_hash, first.body_hash,
        "the first body's record stands"
    );
    assert_eq!(record.claim_token, Some(held.token.clone()));
    // The same body still takes it over.
    let fresh = claimed(
        store
            .claim(&first, later + Duration::seconds(9), later)
            .await
            .unwrap(),
    );
    assert!(fresh.took_over);
}

async fn completion_keeps_the_record_for_thirty_days_and_answers_later_claims(
    store: &dyn IdempotencyStore,
) {
    let d = delivery("msg_d", b"{\"a\":1}");
    let claim = claimed(
        store
            .claim(&d, NOW + Duration::seconds(9), NOW)
            .await
            .unwrap(),
    );
    store.complete(&claim, NOW).await.unwrap();
    let record = existing(
        store
            .claim(&d, NOW + Duration::seconds(99), NOW + Duration::hours(1))
            .await
            .unwrap(),
    );
    assert_eq!(record.status, RecordStatus::Completed);
    assert_eq!(record.expires_at, Some(NOW + Duration::days(30)));
    assert_eq!(record.claim_token, None);
    assert_eq!(record.lease_expires_at, None);
    assert_eq!(record.delivery.body_hash, d.body_hash);
}

async fn a_released_claim_can_be_claimed_again(store: &dyn IdempotencyStore) {
    let d = delivery("msg_e", b"{}");
    let claim = claimed(
        store
            .claim(&d, NOW + Duration::seconds(9), NOW)
            .await
            .unwrap(),
    );
    store.release(&claim).await.unwrap();
    assert!(store.get(&d.key).await.unwrap().is_none());
    claimed(
        store
            .claim(&d, NOW + Duration::seconds(9), NOW)
            .await
            .unwrap(),
    );
}

async fn parking_a_claim_keeps_the_exact_payload_and_no_expiry(store: &dyn IdempotencyStore) {
    let payload = [b'{', 0xff, 0x00, b'}'];
    let d = delivery("msg_f", &payload);
    let claim = claimed(
        store
            .claim(&d, NOW + Duration::seconds(9), NOW)
            .await
            .unwrap(),
    );
    let reason = ParkReason::new(
        "unknown_product",
        "data.product_id: not in the product catalogue",
    );
    store
        .park_claimed(&claim, &reason, &payload, NOW)
        .await
        .unwrap();
    let record = store.get(&d.key).await.unwrap().unwrap();
    assert_eq!(record.status, RecordStatus::Parked);
    assert_eq!(record.payload.as_deref(), Some(&payload[..]));
    assert_eq!(record.park_reason, Some(reason));
    assert_eq!(record.expires_at, None);
    assert_eq!(record.claim_token, None);
}

async fn park_new_parks_a_fresh_key_and_reports_an_existing_one(store: &dyn IdempotencyStore) {
    let d = delivery("msg_g", b"not json");
    let reason = ParkReason::new("malformed", "body is not valid JSON");
    assert_eq!(
        store.park_new(&d, &reason, b"not json").await.unwrap(),
        ParkOutcome::Parked
    );
    match store.park_new(&d, &reason, b"not json").await.unwrap() {
        ParkOutcome::Existing(record) => assert_eq!(record.status, RecordStatus::Parked),
        other => panic!("{other:?}"),
    }
    let record = existing(
        store
            .claim(&d, NOW + Duration::seconds(9), NOW)
            .await
            .unwrap(),
    );
    assert_eq!(record.payload.as_deref(), Some(&b"not json"[..]));
}

async fn an_absent_key_reads_as_none(store: &dyn IdempotencyStore) {
    assert!(store
        .get(&RecordKey::for_delivery("msg_nothing"))
        .await
        .unwrap()
        .is_none());
}

async fn a_parked_record_is_reclaimed_once_for_replay_and_completes(store: &dyn IdempotencyStore) {
    let d = delivery("msg_r", b"{}");
    let reason = ParkReason::new(
        "misrouted",
        "type: not handled by the subscription-created endpoint",
    );
    store.park_new(&d, &reason, b"{}").await.unwrap();
    let lease = NOW + Duration::seconds(60);

    let claim = store.reclaim_parked(&d.key, lease).await.unwrap().unwrap();
    let again = store.reclaim_parked(&d.key, lease).await.unwrap();

    assert!(again.is_none(), "only one replay holds it");
    let record = store.get(&d.key).await.unwrap().unwrap();
    assert_eq!(record.status, RecordStatus::InProgress);
    assert_eq!(record.claim_token.as_ref(), Some(&claim.token));
    store.complete(&claim, NOW).await.unwrap();
    assert!(store.reclaim_parked(&d.key, lease).await.unwrap().is_none());
    assert_eq!(
        store.get(&d.key).await.unwrap().unwrap().status,
        RecordStatus::Completed
    );
}

async fn only_parked_records_are_listed_for_replay(store: &dyn IdempotencyStore) {
    let reason = ParkReason::new("malformed", "body is not valid JSON");
    for id in ["msg_p1", "msg_p2", "msg_p3"] {
        store
            .park_new(&delivery(id, b"x"), &reason, b"x")
            .await
            .unwrap();
    }
    let live = claimed(
        store
            .claim(
                &delivery("msg_live", b"{}"),
                NOW + Duration::seconds(9),
                NOW,
            )
            .await
            .unwrap(),
    );
    store.complete(&live, NOW).await.unwrap();

    let all = store.list_parked(10).await.unwrap();
    let two = store.list_parked(2).await.unwrap();

    let mut ids: Vec<String> = all.iter().map(|r| r.delivery.webhook_id.clone()).collect();
    ids.sort();
    assert_eq!(ids, ["msg_p1", "msg_p2", "msg_p3"]);
    assert!(all.iter().all(|r| r.payload.as_deref() == Some(&b"x"[..])));
    assert_eq!(two.len(), 2);
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod in_memory {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(&billing::idempotency::InMemoryIdempotencyStore::default()).await;
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test]
                async fn $case() {
                    let store = super::dynamodb_store().await;
                    super::$case(&store).await;
                }
            )*
        }
    };
}

contract!(
    a_first_claim_is_granted,
    a_held_key_returns_the_existing_in_progress_record,
    an_expired_claim_is_taken_over_and_the_stale_claimant_is_fenced_off,
    an_expired_claim_is_not_taken_over_by_another_body,
    completion_keeps_the_record_for_thirty_days_and_answers_later_claims,
    a_released_claim_can_be_claimed_again,
    parking_a_claim_keeps_the_exact_payload_and_no_expiry,
    park_new_parks_a_fresh_key_and_reports_an_existing_one,
    an_absent_key_reads_as_none,
    a_parked_record_is_reclaimed_once_for_replay_and_completes,
    only_parked_records_are_listed_for_replay,
);

async fn dynamodb_store() -> DynamoDbIdempotencyStore {
    let client = support::aws::dynamodb_client();
    let table = support::aws::fresh_table(&client).await;
    DynamoDbIdempotencyStore::new(client, table)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_simultaneous_deliveries_of_one_event_yield_exactly_one_claim() {
    let store = Arc::new(dynamodb_store().await);
    for round in 0..5 {
        let d = Arc::new(delivery(&format!("msg_race_{round}"), b"{\"race\":true}"));
        let barrier = Arc::new(tokio::sync::Barrier::new(50));
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (store, d, barrier) = (store.clone(), d.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    store
                        .claim(&d, NOW + Duration::seconds(9), NOW)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut claims = 0;
        let mut existing_in_progress = 0;
        for task in tasks {
            match task.await.unwrap() {
                ClaimOutcome::Claimed(_) => claims += 1,
                ClaimOutcome::Existing(r) if r.status == RecordStatus::InProgress => {
                    existing_in_progress += 1
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!((claims, existing_in_progress), (1, 49), "round {round}");
    }
}

#[tokio::test]
async fn a_corrupt_item_is_reported_naming_the_attribute() {
    let client = support::aws::dynamodb_client();
    let table = support::aws::fresh_table(&client).await;
    client
        .put_item()
        .table_name(&table)
        .item("pk", AttributeValue::S("msg_corrupt".into()))
        .item("status", AttributeValue::S("HALF_DONE".into()))
        .send()
        .await
        .unwrap();
    let store = DynamoDbIdempotencyStore::new(client, table);

    let err = store
        .get(&RecordKey::for_delivery("msg_corrupt"))
        .await
        .unwrap_err();

    match err {
        StoreError::Corrupt { problem, .. } => assert_eq!(problem, "status: unknown value"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_missing_table_is_unavailable_not_a_crash() {
    let store = DynamoDbIdempotencyStore::new(support::aws::dynamodb_client(), "no-such-table");
    let err = store
        .claim(&delivery("msg_x", b"{}"), NOW + Duration::seconds(9), NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}
