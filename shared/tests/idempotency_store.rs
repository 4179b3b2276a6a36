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
/// The raw body stored with a claim (its content is the store's business only).
const PAYLOAD: &[u8] = b"{\"type\":\"subscription.updated\"}";

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
            .claim(
                &delivery("msg_a", b"{}"),
                PAYLOAD,
                NOW + Duration::seconds(9),
                NOW,
            )
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
        .claim(&d, PAYLOAD, NOW + Duration::seconds(9), NOW)
        .await
        .unwrap();
    let record = existing(
        store
            .claim(
                &d,
                PAYLOAD,
                NOW + Duration::seconds(9),
                NOW + Duration::seconds(1),
            )
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
            .claim(&d, PAYLOAD, NOW + Duration::seconds(9), NOW)
            .await
            .unwrap(),
    );
    let later = NOW + Duration::seconds(10);
    let fresh = claimed(
        store
            .claim(&d, PAYLOAD, later + Duration::seconds(9), later)
            .await
            .unwrap(),
    );
    assert!(fresh.took_over);

    assert!(matches!(
        store.complete(&stale, later).await,
        Err(StoreError::ClaimLost(_))
    ));
    assert!(matches!(
        store.defer(&stale, "fault", later).await,
        Err(StoreError::ClaimLost(_))
    ));
    let reason = ParkReason::new(ParkCode::Other("x".into()), "y");
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
            .claim(&first, PAYLOAD, NOW + Duration::seconds(9), NOW)
            .await
            .unwrap(),
    );
    let later = NOW + Duration::seconds(10);
    let other = delivery("msg_body", br#"{"a":2}"#);

    let record = existing(
        store
            .claim(&other, PAYLOAD, later + Duration::seconds(9), later)
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
            .claim(&first, PAYLOAD, later + Duration::seconds(9), later)
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
            .claim(&d, PAYLOAD, NOW + Duration::seconds(9), NOW)
            .await
            .unwrap(),
    );
    store.complete(&claim, NOW).await.unwrap();
    let record = existing(
        store
            .claim(
                &d,
                PAYLOAD,
                NOW + Duration::seconds(99),
                NOW + Duration::hours(1),
            )
            .await
            .unwrap(),
    );
    assert_eq!(record.status, RecordStatus::Completed);
    assert_eq!(record.expires_at, Some(NOW + Duration::days(30)));
    assert_eq!(record.claim_token, None);
    assert_eq!(record.lease_expires_at, None);
    assert_eq!(record.delivery.body_hash, d.body_hash);
}

async fn a_claim_holds_the_payload_and_completion_drops_it(store: &dyn IdempotencyStore) {
    let d = delivery("msg_e", PAYLOAD);
    let claim = claimed(
        store
            .claim(&d, PAYLOAD, NOW + Duration::seconds(9), NOW)
            .await
            .unwrap(),
    );
    let held = store.get(&d.key).await.unwrap().unwrap();
    assert_eq!(
        held.payload.as_deref(),
        Some(PAYLOAD),
        "a crash loses nothing"
    );

    store.complete(&claim, NOW).await.unwrap();

    let done = store.get(&d.key).await.unwrap().unwrap();
    assert_eq!(done.status, RecordStatus::Completed);
    assert_eq!(done.payload, None);
}

async fn a_deferred_claim_is_pending_and_a_redelivery_takes_it_over_keeping_its_history(
    store: &dyn IdempotencyStore,
) {
    let d = delivery("msg_pending", PAYLOAD);
    let first = claimed(
        store
            .claim(&d, PAYLOAD, NOW + Duration::seconds(9), NOW)
            .await
            .unwrap(),
    );
    store
        .defer(
            &first,
            "account store unavailable",
            NOW + Duration::minutes(1),
        )
        .await
        .unwrap();
    let pending = store.get(&d.key).await.unwrap().unwrap();
    assert_eq!(pending.status, RecordStatus::Pending);
    assert_eq!(pending.attempts, 1);
    assert_eq!(
        pending.last_fault.as_deref(),
        Some("account store unavailable")
    );
    assert_eq!(pending.next_attempt_at, Some(NOW + Duration::minutes(1)));
    assert_eq!(pending.payload.as_deref(), Some(PAYLOAD));
    assert_eq!(pending.claim_token, None);

    // Polo's redelivery, before the next attempt is due: processed inline.
    let later = NOW + Duration::seconds(20);
    let redelivery = Delivery {
        received_at: later,
        ..d.clone()
    };
    let second = claimed(
        store
            .claim(&redelivery, PAYLOAD, later + Duration::seconds(9), later)
            .await
            .unwrap(),
    );

    assert!(second.took_over);
    assert_eq!(second.attempts, 1);
    assert_eq!(
        second.first_received_at, NOW,
        "the 24 h count keeps its start"
    );
    let held = store.get(&d.key).await.unwrap().unwrap();
    assert_eq!(held.status, RecordStatus::InProgress);
    assert_eq!(held.delivery.received_at, NOW);
    assert_eq!(held.next_attempt_at, None);
    // A second fault counts on.
    store
        .defer(&second, "again", later + Duration::minutes(2))
        .await
        .unwrap();
    assert_eq!(store.get(&d.key).await.unwrap().unwrap().attempts, 2);
}

async fn a_pending_record_is_not_taken_over_by_another_body(store: &dyn IdempotencyStore) {
    let d = delivery("msg_pending_body", br#"{"a":1}"#);
    let first = claimed(
        store
            .claim(&d, PAYLOAD, NOW + Duration::seconds(9), NOW)
            .await
            .unwrap(),
    );
    store
        .defer(&first, "fault", NOW + Duration::minutes(1))
        .await
        .unwrap();

    let other = delivery("msg_pending_body", br#"{"a":2}"#);
    let record = existing(
        store
            .claim(&other, PAYLOAD, NOW + Duration::seconds(9), NOW)
            .await
            .unwrap(),
    );

    assert_eq!(record.status, RecordStatus::Pending);
    assert_eq!(record.delivery.body_hash, d.body_hash);
}

async fn the_sweep_claims_a_pending_record_once_due_and_an_in_progress_one_once_its_lease_ends(
    store: &dyn IdempotencyStore,
) {
    let pending = delivery("msg_sweep_pending", PAYLOAD);
    let crashed = delivery("msg_sweep_crashed", PAYLOAD);
    let first = claimed(
        store
            .claim(&pending, PAYLOAD, NOW + Duration::seconds(9), NOW)
            .await
            .unwrap(),
    );
    store
        .defer(&first, "fault", NOW + Duration::minutes(1))
        .await
        .unwrap();
    store
        .claim(&crashed, PAYLOAD, NOW + Duration::seconds(9), NOW)
        .await
        .unwrap();
    let lease = |at: OffsetDateTime| at + Duration::seconds(9);

    let early = NOW + Duration::seconds(5);
    assert!(store
        .claim_due(&pending.key, lease(early), early)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .claim_due(&crashed.key, lease(early), early)
        .await
        .unwrap()
        .is_none());

    let due = NOW + Duration::minutes(1);
    let (claim, record) = store
        .claim_due(&pending.key, lease(due), due)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.payload.as_deref(), Some(PAYLOAD));
    assert_eq!(record.status, RecordStatus::InProgress);
    assert_eq!(claim.attempts, 1);
    assert!(
        store
            .claim_due(&pending.key, lease(due), due)
            .await
            .unwrap()
            .is_none(),
        "only one sweep holds it"
    );
    let (crash_claim, _) = store
        .claim_due(&crashed.key, lease(due), due)
        .await
        .unwrap()
        .unwrap();
    store.complete(&claim, due).await.unwrap();
    store.complete(&crash_claim, due).await.unwrap();
    assert!(store
        .claim_due(&pending.key, lease(due), due + Duration::hours(2))
        .await
        .unwrap()
        .is_none());
}

async fn open_records_are_listed_earliest_due_first_in_pages_until_they_finish(
    store: &dyn IdempotencyStore,
) {
    let mut claims = Vec::new();
    for (i, minutes) in [(1, 30), (2, 10), (3, 20)] {
        let d = delivery(&format!("msg_open_{i}"), PAYLOAD);
        let claim = claimed(
            store
                .claim(&d, PAYLOAD, NOW + Duration::seconds(9), NOW)
                .await
                .unwrap(),
        );
        store
            .defer(&claim, "fault", NOW + Duration::minutes(minutes))
            .await
            .unwrap();
        claims.push(claim);
    }
    let live = delivery("msg_open_live", PAYLOAD);
    store
        .claim(&live, PAYLOAD, NOW + Duration::seconds(9), NOW)
        .await
        .unwrap();
    let parked = delivery("msg_open_parked", b"x");
    store
        .park_new(&parked, &ParkReason::new(ParkCode::Malformed, "body"), b"x")
        .await
        .unwrap();

    let first = store.list_open(None, 2).await.unwrap();
    let rest = store.list_open(first.next.as_ref(), 10).await.unwrap();

    let keys: Vec<&str> = first
        .records
        .iter()
        .chain(&rest.records)
        .map(|r| r.key.as_str())
        .collect();
    assert_eq!(
        keys,
        ["msg_open_live", "msg_open_2", "msg_open_3", "msg_open_1"]
    );
    assert_eq!(first.records[0].status, RecordStatus::InProgress);
    assert_eq!(first.records[1].status, RecordStatus::Pending);
    assert_eq!(first.records[1].attempts, 1);
    assert_eq!(first.records[1].due_at, NOW + Duration::minutes(10));
    assert_eq!(first.records[1].received_at, NOW);
    assert!(rest.next.is_none());

    let due = NOW + Duration::minutes(10);
    let (claim, _) = store
        .claim_due(&claims[1].key, due + Duration::seconds(9), due)
        .await
        .unwrap()
        .unwrap();
    store.complete(&claim, due).await.unwrap();
    let after = store.list_open(None, 10).await.unwrap();
    assert_eq!(after.records.len(), 3, "a finished record leaves the inbox");
}

async fn an_operator_can_make_a_pending_record_due_now(store: &dyn IdempotencyStore) {
    let d = delivery("msg_expedite", PAYLOAD);
    let claim = claimed(
        store
            .claim(&d, PAYLOAD, NOW + Duration::seconds(9), NOW)
            .await
            .unwrap(),
    );
    assert!(
        !store.expedite(&d.key, NOW).await.unwrap(),
        "not pending yet"
    );
    store
        .defer(&claim, "fault", NOW + Duration::hours(1))
        .await
        .unwrap();

    assert!(store
        .expedite(&d.key, NOW + Duration::seconds(30))
        .await
        .unwrap());

    let now = NOW + Duration::seconds(30);
    assert!(store
        .claim_due(&d.key, now + Duration::seconds(9), now)
        .await
        .unwrap()
        .is_some());
}

async fn parking_a_claim_keeps_the_exact_payload_and_no_expiry(store: &dyn IdempotencyStore) {
    let payload = [b'{', 0xff, 0x00, b'}'];
    let d = delivery("msg_f", &payload);
    let claim = claimed(
        store
            .claim(&d, PAYLOAD, NOW + Duration::seconds(9), NOW)
            .await
            .unwrap(),
    );
    let reason = ParkReason::new(
        ParkCode::UnknownProduct,
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
    let reason = ParkReason::new(ParkCode::Malformed, "body is not valid JSON");
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
            .claim(&d, PAYLOAD, NOW + Duration::seconds(9), NOW)
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

async fn a_parked_record_is_held_by_one_replay_and_stays_parked_until_it_completes(
    store: &dyn IdempotencyStore,
) {
    let d = delivery("msg_r", b"{}");
    let reason = ParkReason::new(
        ParkCode::Misrouted,
        "type: not handled by the subscription-created endpoint",
    );
    store.park_new(&d, &reason, b"{}").await.unwrap();
    let lease = NOW + Duration::seconds(60);

    let claim = store
        .reclaim_parked(&d.key, lease, NOW)
        .await
        .unwrap()
        .unwrap();
    let again = store.reclaim_parked(&d.key, lease, NOW).await.unwrap();

    assert!(again.is_none(), "only one replay holds it");
    let record = store.get(&d.key).await.unwrap().unwrap();
    assert_eq!(
        record.status,
        RecordStatus::Parked,
        "still parked while held"
    );
    assert_eq!(record.claim_token.as_ref(), Some(&claim.token));
    assert_eq!(store.list_parked(10).await.unwrap().len(), 1, "and listed");
    store.complete(&claim, NOW).await.unwrap();
    assert!(store
        .reclaim_parked(&d.key, lease, NOW)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store.get(&d.key).await.unwrap().unwrap().status,
        RecordStatus::Completed
    );
}

async fn a_replay_hold_is_given_back_or_ends_at_its_lease(store: &dyn IdempotencyStore) {
    let d = delivery("msg_hold", b"{}");
    let reason = ParkReason::new(ParkCode::UnknownProduct, "data.product_id");
    store.park_new(&d, &reason, b"{}").await.unwrap();
    let lease = NOW + Duration::seconds(60);

    let first = store
        .reclaim_parked(&d.key, lease, NOW)
        .await
        .unwrap()
        .unwrap();
    store.release_parked(&first).await.unwrap();
    let second = store.reclaim_parked(&d.key, lease, NOW).await.unwrap();
    assert!(second.is_some(), "a released hold is free at once");

    // The second replay dies holding it: free again once its lease ends.
    let during = store
        .reclaim_parked(
            &d.key,
            lease + Duration::seconds(60),
            NOW + Duration::seconds(30),
        )
        .await
        .unwrap();
    let after = store
        .reclaim_parked(
            &d.key,
            lease + Duration::seconds(60),
            lease + Duration::seconds(1),
        )
        .await
        .unwrap();
    assert!(during.is_none());
    assert!(after.is_some());
    let record = store.get(&d.key).await.unwrap().unwrap();
    assert_eq!(record.status, RecordStatus::Parked);
    assert_eq!(record.park_reason, Some(reason));
}

async fn discarding_resolves_a_parked_record_with_its_reason_and_an_expiry(
    store: &dyn IdempotencyStore,
) {
    let d = delivery("msg_discard", b"{}");
    store
        .park_new(&d, &ParkReason::new(ParkCode::UnknownAccount, "x"), b"{}")
        .await
        .unwrap();
    let held = store
        .reclaim_parked(&d.key, NOW + Duration::seconds(60), NOW)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !store
            .discard_parked(&d.key, "test event", NOW)
            .await
            .unwrap(),
        "not while a replay holds it"
    );
    store.release_parked(&held).await.unwrap();

    assert!(store
        .discard_parked(&d.key, "test event", NOW)
        .await
        .unwrap());

    let record = store.get(&d.key).await.unwrap().unwrap();
    assert_eq!(record.status, RecordStatus::Completed);
    assert_eq!(record.discard_reason.as_deref(), Some("test event"));
    assert_eq!(record.expires_at, Some(NOW + Duration::days(30)));
    assert!(!store.discard_parked(&d.key, "again", NOW).await.unwrap());
}

async fn only_parked_records_are_listed_for_replay(store: &dyn IdempotencyStore) {
    let reason = ParkReason::new(ParkCode::Malformed, "body is not valid JSON");
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
                PAYLOAD,
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
    a_claim_holds_the_payload_and_completion_drops_it,
    a_deferred_claim_is_pending_and_a_redelivery_takes_it_over_keeping_its_history,
    a_pending_record_is_not_taken_over_by_another_body,
    the_sweep_claims_a_pending_record_once_due_and_an_in_progress_one_once_its_lease_ends,
    open_records_are_listed_earliest_due_first_in_pages_until_they_finish,
    an_operator_can_make_a_pending_record_due_now,
    parking_a_claim_keeps_the_exact_payload_and_no_expiry,
    park_new_parks_a_fresh_key_and_reports_an_existing_one,
    an_absent_key_reads_as_none,
    a_parked_record_is_held_by_one_replay_and_stays_parked_until_it_completes,
    a_replay_hold_is_given_back_or_ends_at_its_lease,
    discarding_resolves_a_parked_record_with_its_reason_and_an_expiry,
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
                        .claim(&d, PAYLOAD, NOW + Duration::seconds(9), NOW)
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redeliveries_and_sweeps_racing_for_one_pending_record_let_exactly_one_through() {
    // A PENDING record is due; Polo's redeliveries (claim) and retry sweeps
    // (claim_due) reach DynamoDB at the same instant: one holder, ever.
    let store = Arc::new(dynamodb_store().await);
    for round in 0..5 {
        let d = Arc::new(delivery(&format!("msg_pending_race_{round}"), PAYLOAD));
        let first = claimed(
            store
                .claim(&d, PAYLOAD, NOW + Duration::seconds(9), NOW)
                .await
                .unwrap(),
        );
        store.defer(&first, "fault", NOW).await.unwrap();
        let later = NOW + Duration::minutes(1);
        let barrier = Arc::new(tokio::sync::Barrier::new(40));
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                let (store, d, barrier) = (store.clone(), d.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    let lease = later + Duration::seconds(9);
                    if i % 2 == 0 {
                        matches!(
                            store.claim(&d, PAYLOAD, lease, later).await.unwrap(),
                            ClaimOutcome::Claimed(_)
                        )
                    } else {
                        store
                            .claim_due(&d.key, lease, later)
                            .await
                            .unwrap()
                            .is_some()
                    }
                })
            })
            .collect();
        let mut holders = 0;
        for task in tasks {
            holders += usize::from(task.await.unwrap());
        }
        assert_eq!(holders, 1, "round {round}");
        let record = store.get(&d.key).await.unwrap().unwrap();
        assert_eq!(record.status, RecordStatus::InProgress);
        assert_eq!(record.attempts, 1, "the history survived the race");
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
        .claim(
            &delivery("msg_x", b"{}"),
            PAYLOAD,
            NOW + Duration::seconds(9),
            NOW,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}
