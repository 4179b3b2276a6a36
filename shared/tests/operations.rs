//! Operations over the assembled system (in-memory ports, the real
//! lifecycle): reconcile restores what a dropped webhook should have done
//! and ends expired access with no webhook at all; replay lands a parked
//! event exactly once after the fix, and never loses it on a failure.

mod support;

use billing::accounts::AccountOp;
use billing::domain::{AccountId, BillingStatus, PlanTier};
use billing::idempotency::{IdempotencyStore, RecordKey, RecordStatus, StoreOp};
use billing::polo::routing::Endpoint;
use billing::reconcile::Reconciler;
use billing::webhook::{Handled, ReplayError, ReplayOutcome, Replayer};
use support::system::{sub, System, ACCOUNT};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-11-10 12:00 UTC);

fn reconciler(system: &System) -> Reconciler {
    system.ports.reconciler(&system.updater).unwrap()
}

fn replayer(system: &System) -> Replayer {
    let handler = system.ports.lifecycle_handler(&system.updater);
    system.ports.replayer(handler).unwrap()
}

fn account_id() -> AccountId {
    AccountId::parse(ACCOUNT).unwrap()
}

fn active_pro(modified_at: &str, period_end: &str) -> serde_json::Value {
    sub(
        "sub_1",
        "active",
        "prod_pro_monthly",
        modified_at,
        period_end,
    )
}

/// Polo holds an active pro subscription and its webhook was applied: the
/// account and Polo agree.
async fn active_in_polo_and_delivered(system: &System) {
    let snapshot = active_pro("2026-11-01T00:05:00Z", "2026-12-01T00:00:00Z");
    system
        .polo
        .put_subscription(serde_json::from_value(snapshot.clone()).unwrap());
    let (status, _) = system
        .deliver("msg_1", "subscription.active", snapshot)
        .await;
    assert_eq!(status, 200);
}

fn deadline(system: &System) -> OffsetDateTime {
    use billing::clock::Clock;
    system.clock.now() + Duration::seconds(60)
}

#[tokio::test]
async fn a_dropped_webhook_is_restored_by_reconcile_with_its_entitlement() {
    let system = System::new(NOW);
    // Polo activated the subscription; the webhook never arrived.
    let snapshot = active_pro("2026-11-01T00:05:00Z", "2026-12-01T00:00:00Z");
    system
        .polo
        .put_subscription(serde_json::from_value(snapshot).unwrap());

    let report = reconciler(&system)
        .account(&account_id(), "run-1", deadline(&system))
        .await
        .unwrap();

    assert_eq!((report.subscriptions, report.applied), (1, 1));
    let account = system.account();
    assert_eq!(account.billing_status, BillingStatus::Active);
    assert_eq!(account.plan_tier, PlanTier::Pro);
    let decision = system.decision().expect("credentials issued");
    assert!(decision.entitled);
    assert!(!account.needs_push());
}

#[tokio::test]
async fn reconcile_keeps_a_newer_state_and_counts_the_older_snapshot_as_stale() {
    let system = System::new(NOW);
    let newer = active_pro("2026-11-05T00:00:00Z", "2026-12-01T00:00:00Z");
    let (status, _) = system.deliver("msg_1", "subscription.active", newer).await;
    assert_eq!(status, 200);
    let mut older = sub(
        "sub_1",
        "past_due",
        "prod_pro_monthly",
        "2026-11-02T00:00:00Z",
        "2026-12-01T00:00:00Z",
    );
    older["modified_at"] = "2026-11-02T00:00:00Z".into();
    system
        .polo
        .put_subscription(serde_json::from_value(older).unwrap());
    let before = system.account();

    let report = reconciler(&system)
        .account(&account_id(), "run-2", deadline(&system))
        .await
        .unwrap();

    assert_eq!(report.stale, 1);
    assert_eq!(system.account(), before);
}

#[tokio::test]
async fn reconciling_an_account_already_in_step_reads_it_once_and_writes_nothing() {
    // Arrange: the webhook arrived; Polo and the account agree.
    let system = System::new(NOW);
    active_in_polo_and_delivered(&system).await;
    let (before, calls) = (system.account(), system.accounts.calls());

    // Act
    let report = reconciler(&system)
        .account(&account_id(), "run-3", deadline(&system))
        .await
        .unwrap();

    // Assert: one read, for the apply; the re-derivation needed none.
    assert_eq!((report.unchanged, report.expired), (1, false));
    assert_eq!(system.accounts.calls() - calls, 1);
    assert_eq!(system.account(), before);
}

#[tokio::test]
async fn an_expired_account_loses_access_on_the_scheduled_run_with_no_webhook() {
    let system = System::new(NOW);
    active_in_polo_and_delivered(&system).await;
    assert!(system.decision().unwrap().entitled);
    // The period ends, the grace passes, and neither a renewal nor a revoke
    // webhook ever comes (Polo still shows the old period).
    system.clock.set(datetime!(2026-12-03 00:00 UTC));

    let report = reconciler(&system)
        .scheduled("hourly-1", deadline(&system))
        .await
        .unwrap();

    assert_eq!(report.accounts, 1);
    assert_eq!(report.changed, 1);
    assert!(!system.account().desired_entitlement.entitled);
    let decision = system.decision().unwrap();
    assert!(!decision.entitled, "credentials revoked");
    assert!(!system.account().needs_push());
    assert_eq!(
        system.metrics.values("ReconcileBacklog"),
        vec![0.0],
        "no backlog reported"
    );
}

#[tokio::test]
async fn a_polo_outage_fails_the_account_and_changes_nothing() {
    let system = System::new(NOW);
    system.polo.set_failing(true);
    let before = system.account();

    let report = reconciler(&system)
        .accounts(&[account_id()], "run-3", deadline(&system))
        .await;

    assert_eq!(report.failed.len(), 1);
    assert_eq!(system.account(), before);
}

#[tokio::test]
async fn progress_is_told_once_per_account_including_a_failed_one() {
    let system = System::new(NOW);
    system.polo.set_failing(true);
    let told = std::sync::Mutex::new(Vec::new());

    let report = reconciler(&system)
        .accounts_with(&[account_id()], "run-4", deadline(&system), &|id| {
            told.lock().unwrap().push(id.clone())
        })
        .await;

    assert_eq!(report.failed.len(), 1);
    assert_eq!(told.into_inner().unwrap(), vec![account_id()]);
}

#[tokio::test]
async fn a_parked_misrouted_event_replayed_after_the_fix_lands_exactly_once() {
    let system = System::new(NOW);
    let snapshot = active_pro("2026-11-01T00:05:00Z", "2026-12-01T00:00:00Z");
    // Registered on the wrong endpoint: parked, nothing applied.
    let (status, body) = system
        .deliver_to(
            Endpoint::SubscriptionCreated,
            "msg_mis",
            "subscription.active",
            snapshot,
        )
        .await;
    assert_eq!((status, body["status"].as_str()), (200, Some("parked")));
    let parked = system.store.list_parked(10).await.unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].park_reason.as_ref().unwrap().code, "misrouted");
    // Parked under its own key: the id and the endpoint that received it.
    let key = RecordKey::for_misrouted("msg_mis", "webhook-subscription-created");
    let replay = replayer(&system);

    let first = replay.replay(&key, deadline(&system)).await.unwrap();
    let second = replay.replay(&key, deadline(&system)).await.unwrap();

    assert_eq!(first, ReplayOutcome::Replayed(Handled::Applied));
    assert_eq!(
        second,
        ReplayOutcome::NotParked(Some(RecordStatus::Completed))
    );
    let account = system.account();
    assert_eq!(account.billing_status, BillingStatus::Active);
    let audit = system.accounts.audit_rows(&account_id());
    let applied: Vec<_> = audit
        .iter()
        .filter(|row| row.event_id == "msg_mis")
        .filter(|row| row.event_type == "subscription.active")
        .collect();
    assert_eq!(applied.len(), 1, "applied exactly once");
    assert!(system.store.list_parked(10).await.unwrap().is_empty());
    // Polo's own delivery of it to the right endpoint is not taken for a
    // duplicate of the misrouted copy: it is processed, and changes nothing.
    let (_, redelivered) = system
        .deliver_to(
            Endpoint::SubscriptionUpdated,
            "msg_mis",
            "subscription.active",
            active_pro("2026-11-01T00:05:00Z", "2026-12-01T00:00:00Z"),
        )
        .await;
    assert_eq!(redelivered["status"], "processed");
    let applied_after: Vec<_> = system
        .accounts
        .audit_rows(&account_id())
        .into_iter()
        .filter(|row| row.event_id == "msg_mis")
        .filter(|row| row.event_type == "subscription.active")
        .collect();
    assert_eq!(applied_after.len(), 1, "still applied exactly once");
    assert_eq!(system.account(), account);
}

#[tokio::test]
async fn a_replay_that_meets_an_outage_leaves_the_event_parked_for_the_next_try() {
    let system = System::new(NOW);
    let snapshot = active_pro("2026-11-01T00:05:00Z", "2026-12-01T00:00:00Z");
    system
        .deliver_to(
            Endpoint::PaymentFailed,
            "msg_out",
            "subscription.active",
            snapshot,
        )
        .await;
    let key = RecordKey::for_misrouted("msg_out", "webhook-payment-failed");
    system.accounts.fail(AccountOp::Get);

    let failed = replayer(&system).replay(&key, deadline(&system)).await;

    assert!(failed.is_err());
    let record = system.store.get(&key).await.unwrap().unwrap();
    assert_eq!(record.status, RecordStatus::Parked);
    assert_eq!(record.park_reason.unwrap().code, "misrouted");
    assert!(record.payload.is_some(), "the payload is kept");
    system.accounts.heal();
    let retried = replayer(&system)
        .replay(&key, deadline(&system))
        .await
        .unwrap();
    assert_eq!(retried, ReplayOutcome::Replayed(Handled::Applied));
}

#[tokio::test]
async fn an_event_still_unprocessable_is_parked_again_with_its_new_reason() {
    let system = System::new(NOW);
    let mut unknown = active_pro("2026-11-01T00:05:00Z", "2026-12-01T00:00:00Z");
    unknown["product_id"] = "prod_not_in_catalogue".into();
    system
        .deliver_to(
            Endpoint::PaymentFailed,
            "msg_prod",
            "subscription.active",
            unknown,
        )
        .await;
    let key = RecordKey::for_misrouted("msg_prod", "webhook-payment-failed");

    let outcome = replayer(&system)
        .replay(&key, deadline(&system))
        .await
        .unwrap();

    match outcome {
        ReplayOutcome::StillParked(reason) => assert_eq!(reason.code, "unknown_product"),
        other => panic!("{other:?}"),
    }
    let record = system.store.get(&key).await.unwrap().unwrap();
    assert_eq!(record.status, RecordStatus::Parked);
    assert_eq!(record.park_reason.unwrap().code, "unknown_product");
    assert_eq!(system.account().version, 0);
}

#[tokio::test]
async fn a_replay_whose_outcome_write_fails_leaves_the_event_parked_and_a_second_replay_applies_it_once(
) {
    let system = System::new(NOW);
    let snapshot = active_pro("2026-11-01T00:05:00Z", "2026-12-01T00:00:00Z");
    system
        .deliver_to(
            Endpoint::PaymentFailed,
            "msg_lost_write",
            "subscription.active",
            snapshot,
        )
        .await;
    let key = RecordKey::for_misrouted("msg_lost_write", "webhook-payment-failed");
    // The handler applies it, then DynamoDB refuses the completion and,
    // had the event failed, the parking write too.
    system.store.fail(StoreOp::Complete);
    system.store.fail(StoreOp::ParkClaimed);

    let failed = replayer(&system).replay(&key, deadline(&system)).await;

    assert!(
        matches!(
            failed,
            Err(ReplayError::NotRecorded {
                outcome: "applied",
                ..
            })
        ),
        "{failed:?}"
    );
    let record = system.store.get(&key).await.unwrap().unwrap();
    assert_eq!(record.status, RecordStatus::Parked, "never stranded");
    assert_eq!(record.park_reason.unwrap().code, "misrouted");
    let listed = system.store.list_parked(10).await.unwrap();
    assert_eq!(listed.len(), 1, "still listed for replay");
    system.store.heal();
    // Replayable once the failed replay's hold has ended.
    system
        .clock
        .set(record.lease_expires_at.unwrap() + Duration::seconds(1));

    let second = replayer(&system)
        .replay(&key, deadline(&system))
        .await
        .unwrap();

    assert_eq!(second, ReplayOutcome::Replayed(Handled::Unchanged));
    let applied = system
        .accounts
        .audit_rows(&account_id())
        .into_iter()
        .filter(|row| row.event_id == "msg_lost_write")
        .count();
    assert_eq!(applied, 1, "applied exactly once across both replays");
    assert_eq!(
        system.store.get(&key).await.unwrap().unwrap().status,
        RecordStatus::Completed
    );
}

#[tokio::test]
async fn a_discarded_event_is_resolved_without_being_applied() {
    let system = System::new(NOW);
    let snapshot = active_pro("2026-11-01T00:05:00Z", "2026-12-01T00:00:00Z");
    system
        .deliver_to(
            Endpoint::PaymentFailed,
            "msg_discard",
            "subscription.active",
            snapshot,
        )
        .await;
    let key = RecordKey::for_misrouted("msg_discard", "webhook-payment-failed");
    let replay = replayer(&system);

    let discarded = replay
        .store
        .discard_parked(&key, "a test event sent to production", NOW)
        .await
        .unwrap();

    assert!(discarded);
    let record = system.store.get(&key).await.unwrap().unwrap();
    assert_eq!(record.status, RecordStatus::Completed);
    assert_eq!(
        record.discard_reason.as_deref(),
        Some("a test event sent to production")
    );
    assert_eq!(system.account().version, 0, "nothing was applied");
    assert_eq!(
        replay.replay(&key, deadline(&system)).await.unwrap(),
        ReplayOutcome::NotParked(Some(RecordStatus::Completed))
    );
}
