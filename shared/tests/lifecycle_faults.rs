//! Faults at every step of a webhook's life, the remaining rows of the
//! answer table, and concurrent writers: the webhook answers per design.md,
//! nothing is half-applied, and after the inbox's retry (or Polo's) or one
//! provisioning-sync run the orchestrator's decision matches the account.

mod support;

use async_trait::async_trait;
use billing::accounts::{
    AccountOp, AccountPage, AccountStore, AccountStoreError, AuditEntry, InMemoryAccountStore, Page,
};
use billing::clock::Clock;
use billing::domain::{AccountBilling, AccountId, BillingStatus};
use billing::idempotency::{RecordStatus, StoreOp};
use billing::polo::routing::Endpoint;
use serde_json::json;
use std::sync::Arc;
use support::system::{sub, System, ACCOUNT};
use time::macros::datetime;
use time::OffsetDateTime;

const NOW: OffsetDateTime = datetime!(2026-11-15 12:00 UTC);
const END: &str = "2026-12-01T00:00:00Z";

fn active() -> serde_json::Value {
    sub(
        "sub_1",
        "active",
        "prod_pro_monthly",
        "2026-11-01T00:00:00Z",
        END,
    )
}

fn assert_orchestrator_matches_account(system: &System) {
    let account = system.account();
    let decision = system.decision().expect("a decision");
    assert_eq!(
        (decision.entitled, decision.tier, decision.expires_at),
        (
            account.desired_entitlement.entitled,
            account.desired_entitlement.tier,
            account.desired_entitlement.expires_at
        )
    );
    assert!(!account.needs_push());
}

#[tokio::test]
async fn a_failed_claim_answers_503_and_changes_nothing_until_the_retry() {
    let system = System::new(NOW);
    system.store.fail(StoreOp::Claim);
    let (status, _) = system
        .deliver("msg_1", "subscription.active", active())
        .await;
    assert_eq!(status, 503);
    assert_eq!(system.account().version, 0);
    assert!(system.pushes().is_empty());

    system.store.heal();
    assert_eq!(
        system
            .deliver("msg_1", "subscription.active", active())
            .await
            .0,
        200
    );
    assert_orchestrator_matches_account(&system);
}

/// One minute on (the first retry's backoff), then one `webhook-retry` run.
async fn sweep_after_a_minute(system: &System) -> billing::webhook::SweepReport {
    system
        .clock
        .set(system.clock.now() + time::Duration::minutes(1));
    system.sweep().await
}

#[tokio::test]
async fn a_failed_account_read_answers_202_keeps_the_event_pending_and_the_sweep_applies_it() {
    let system = System::new(NOW);
    system.accounts.fail(AccountOp::Get);
    let (status, body) = system
        .deliver("msg_1", "subscription.active", active())
        .await;
    assert_eq!((status, body), (202, json!({"status": "accepted"})));
    let record = &system.store.snapshot()[0];
    assert_eq!(record.status, RecordStatus::Pending);
    assert_eq!(record.attempts, 1);
    assert!(system.pushes().is_empty());

    system.accounts.heal();
    let report = sweep_after_a_minute(&system).await;

    assert_eq!(report.applied, 1);
    assert_eq!(system.account().billing_status, BillingStatus::Active);
    assert_eq!(system.store.snapshot()[0].status, RecordStatus::Completed);
    assert_orchestrator_matches_account(&system);
}

#[tokio::test]
async fn a_failed_account_write_answers_202_with_nothing_written_or_pushed() {
    let system = System::new(NOW);
    system.accounts.fail(AccountOp::CompareAndSet);
    let (status, _) = system
        .deliver("msg_1", "subscription.active", active())
        .await;
    assert_eq!(status, 202);
    assert_eq!(system.account().version, 0);
    assert!(
        system.pushes().is_empty(),
        "no push before the write commits"
    );

    system.accounts.heal();
    assert_eq!(sweep_after_a_minute(&system).await.applied, 1);
    assert_orchestrator_matches_account(&system);
}

#[tokio::test]
async fn a_failed_push_still_answers_200_and_provisioning_sync_delivers_it() {
    let system = System::new(NOW);
    system.provisioner.set_failing(true);
    let (status, _) = system
        .deliver("msg_1", "subscription.active", active())
        .await;
    assert_eq!(status, 200);
    let account = system.account();
    assert_eq!(account.billing_status, BillingStatus::Active);
    assert!(account.needs_push());
    assert!(system.decision().is_none());

    system.clock.set(NOW + time::Duration::minutes(3));
    let stuck = system.provisioning_sync().await;
    assert_eq!((stuck.mismatched, stuck.acknowledged), (1, 0));
    assert_eq!(stuck.oldest_unacknowledged_seconds, 180);

    system.provisioner.set_failing(false);
    let report = system.provisioning_sync().await;
    assert_eq!(
        (
            report.mismatched,
            report.acknowledged,
            report.oldest_unacknowledged_seconds
        ),
        (1, 1, 0)
    );
    assert_orchestrator_matches_account(&system);
    assert_eq!(
        system.metrics.values("ProvisioningMismatchAgeSeconds"),
        vec![180.0, 0.0]
    );
}

#[tokio::test]
async fn a_failed_completion_answers_202_and_the_sweep_neither_reapplies_nor_repushes() {
    let system = System::new(NOW);
    system.store.fail(StoreOp::Complete);
    let (status, _) = system
        .deliver("msg_1", "subscription.active", active())
        .await;
    assert_eq!(status, 202, "the payload is recorded with the claim");
    let written = system.account();
    assert_eq!(system.pushes().len(), 1);
    assert_eq!(system.store.snapshot()[0].status, RecordStatus::InProgress);

    system.store.heal();
    // Due once the attempt's lease (its deadline) has ended.
    let report = sweep_after_a_minute(&system).await;

    assert_eq!(report.applied, 1);
    assert_eq!(system.account(), written, "the re-apply changed nothing");
    assert_eq!(system.pushes().len(), 1);
    assert_eq!(system.store.snapshot()[0].status, RecordStatus::Completed);
    assert_orchestrator_matches_account(&system);
}

#[tokio::test]
async fn a_crash_between_the_write_and_the_push_is_repaired_by_provisioning_sync() {
    let system = System::new(NOW);
    system
        .deliver("msg_1", "subscription.active", active())
        .await;
    assert!(system.decision().unwrap().entitled, "credentials issued");
    system.provisioner.set_failing(true); // stands for the process dying before the push
    system
        .deliver(
            "msg_2",
            "subscription.revoked",
            sub(
                "sub_1",
                "canceled",
                "prod_pro_monthly",
                "2026-11-02T00:00:00Z",
                END,
            ),
        )
        .await;
    assert!(
        system.decision().unwrap().entitled,
        "the revoke has not reached the orchestrator"
    );
    system.provisioner.set_failing(false);

    system.provisioning_sync().await;

    assert!(!system.decision().unwrap().entitled, "revoked");
    assert_orchestrator_matches_account(&system);
}

async fn parked(system: &System, data: serde_json::Value) -> String {
    let (status, body) = system.deliver("msg_p", "subscription.updated", data).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "parked");
    assert_eq!(system.account().version, 0, "nothing applied");
    assert!(system.pushes().is_empty());
    body["reason"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_unknown_product_is_parked() {
    let system = System::new(NOW);
    let data = sub(
        "sub_1",
        "active",
        "prod_mystery",
        "2026-11-01T00:00:00Z",
        END,
    );
    assert_eq!(parked(&system, data).await, "unknown_product");
}

#[tokio::test]
async fn an_event_with_no_account_is_parked() {
    let system = System::new(NOW);
    let mut data = active();
    data["customer"]["external_id"] = serde_json::Value::Null;
    assert_eq!(parked(&system, data).await, "no_account");
}

#[tokio::test]
async fn an_event_whose_metadata_names_another_account_is_parked() {
    let system = System::new(NOW);
    let mut data = active();
    data["metadata"]["accountId"] = "acct_attacker".into();
    assert_eq!(parked(&system, data).await, "account_mismatch");
}

#[tokio::test]
async fn an_event_for_an_unknown_account_is_parked() {
    let system = System::new(NOW);
    let mut data = active();
    data["customer"]["external_id"] = "acct_nobody".into();
    data["metadata"]["accountId"] = "acct_nobody".into();
    assert_eq!(parked(&system, data).await, "unknown_account");
}

#[tokio::test]
async fn an_order_whose_subscription_polo_cannot_reach_answers_202_and_its_redelivery_applies_it() {
    let system = System::new(NOW);
    system.polo.set_failing(true);
    let order = support::polo::order("ord_1", "sub_1", ACCOUNT);
    let (status, _) = system.deliver("msg_o", "order.paid", order.clone()).await;
    assert_eq!(status, 202);
    assert_eq!(system.store.snapshot()[0].status, RecordStatus::Pending);

    system.polo.set_failing(false);
    system
        .polo
        .put_subscription(serde_json::from_value(active()).unwrap());
    assert_eq!(system.deliver("msg_o", "order.paid", order).await.0, 200);
    assert_eq!(system.account().billing_status, BillingStatus::Active);
    assert_eq!(system.store.snapshot()[0].status, RecordStatus::Completed);
}

#[tokio::test]
async fn a_stale_event_answers_200_stale_and_changes_nothing() {
    let system = System::new(NOW);
    system
        .deliver(
            "msg_2",
            "subscription.revoked",
            sub(
                "sub_1",
                "canceled",
                "prod_pro_monthly",
                "2026-11-02T00:00:00Z",
                END,
            ),
        )
        .await;
    let before = system.account();

    let (status, body) = system
        .deliver("msg_1", "subscription.active", active())
        .await;

    assert_eq!((status, body), (200, json!({"status": "stale"})));
    assert_eq!(system.account(), before);
}

/// An account store whose every call yields first, so two handlers really
/// interleave between their read and their compare-and-set.
struct Interleaving(Arc<InMemoryAccountStore>);

#[async_trait]
impl AccountStore for Interleaving {
    async fn get(&self, id: &AccountId) -> Result<Option<AccountBilling>, AccountStoreError> {
        tokio::task::yield_now().await;
        self.0.get(id).await
    }
    async fn compare_and_set(
        &self,
        v: u64,
        next: &AccountBilling,
        audit: &AuditEntry,
    ) -> Result<(), AccountStoreError> {
        tokio::task::yield_now().await;
        self.0.compare_and_set(v, next, audit).await
    }
    async fn acknowledge_provisioning(
        &self,
        id: &AccountId,
        acknowledged: &billing::domain::ProvisionedEntitlement,
    ) -> Result<bool, AccountStoreError> {
        tokio::task::yield_now().await;
        self.0.acknowledge_provisioning(id, acknowledged).await
    }
    async fn list_provisioning_mismatches(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<AccountPage, AccountStoreError> {
        self.0.list_provisioning_mismatches(cursor, limit).await
    }
    async fn list_expired(
        &self,
        now: OffsetDateTime,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<AccountPage, AccountStoreError> {
        self.0.list_expired(now, cursor, limit).await
    }
    async fn list_polo_subscribers(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page, AccountStoreError> {
        self.0.list_polo_subscribers(cursor, limit).await
    }
    async fn list_pending_paypal_cancellations(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<AccountPage, AccountStoreError> {
        self.0
            .list_pending_paypal_cancellations(cursor, limit)
            .await
    }
}

#[tokio::test]
async fn two_concurrent_events_for_one_account_both_land() {
    let system = System::new(NOW);
    let updater = billing::ports::Ports {
        accounts: Arc::new(Interleaving(system.accounts.clone())),
        ..system.ports.clone()
    }
    .updater();
    let catalogue = support::system::catalogue();
    let snapshot = |data| {
        serde_json::from_value::<billing::polo::PoloSubscription>(data)
            .unwrap()
            .snapshot(&catalogue)
            .unwrap()
    };
    let a = snapshot(sub(
        "sub_a",
        "active",
        "prod_starter",
        "2026-11-01T00:00:00Z",
        END,
    ));
    let b = snapshot(sub(
        "sub_b",
        "canceled",
        "prod_pro_monthly",
        "2026-11-01T00:00:00Z",
        END,
    ));
    let cause = |id: &str| billing::updater::Cause {
        event_id: id.into(),
        event_type: "subscription.updated".into(),
    };
    let deadline = NOW + time::Duration::seconds(9);

    let (cause_a, cause_b) = (cause("msg_a"), cause("msg_b"));
    let (ra, rb) = tokio::join!(
        updater.apply_snapshot(&a, &cause_a, deadline),
        updater.apply_snapshot(&b, &cause_b, deadline)
    );

    assert!(ra.is_ok() && rb.is_ok());
    let account = system.account();
    let ids: Vec<_> = account
        .subscriptions
        .iter()
        .map(|s| s.id.as_str())
        .collect();
    assert_eq!(
        ids,
        vec!["sub_a", "sub_b"],
        "both snapshots are in the account"
    );
    let audit = system.accounts.audit_rows(&account.account_id);
    assert!(
        audit.iter().any(|r| r.event_id == "msg_a") && audit.iter().any(|r| r.event_id == "msg_b")
    );
}

#[tokio::test]
async fn an_endpoint_receiving_an_order_for_a_subscription_endpoint_parks_it_as_misrouted() {
    let system = System::new(NOW);
    let order = support::polo::order("ord_1", "sub_1", ACCOUNT);
    let (status, body) = system
        .deliver_to(Endpoint::SubscriptionCreated, "msg_m", "order.paid", order)
        .await;
    assert_eq!((status, body["reason"].as_str()), (200, Some("misrouted")));
    assert_eq!(system.polo.calls(), 0);
}

/// The convergence bug, deterministically through the real intake: a push
/// lands but its answer is lost, so the account never records the
/// acknowledgement; a revoke then changes the desired entitlement back to
/// what the account last acknowledged (nothing). Compared with the last
/// acknowledgement alone, nothing would need a push and the orchestrator
/// would keep the credentials forever; the recorded intent makes the revoke
/// push, and `provisioning-sync` repair it, alarming on its age meanwhile.
#[tokio::test]
async fn a_push_whose_answer_was_lost_then_a_revoke_is_pushed_and_the_intent_age_alarmed() {
    let system = System::new(NOW);
    system.provisioner.set_losing_answers(true);
    system
        .deliver("msg_1", "subscription.active", active())
        .await;
    system.provisioner.set_losing_answers(false);
    assert!(system.decision().unwrap().entitled, "the issue push landed");
    assert!(
        system.account().provisioned_entitlement.is_none(),
        "unacknowledged"
    );
    system.provisioner.set_failing(true);
    let revoked = sub(
        "sub_1",
        "canceled",
        "prod_pro_monthly",
        "2026-11-02T00:00:00Z",
        END,
    );
    let (status, _) = system
        .deliver("msg_2", "subscription.revoked", revoked)
        .await;
    assert_eq!(status, 200);
    let account = system.account();
    assert!(!account.desired_entitlement.entitled);
    assert!(
        account.needs_push(),
        "the unacknowledged intent keeps it listed"
    );

    system.clock.set(NOW + time::Duration::minutes(11));
    let stuck = system.provisioning_sync().await;
    assert_eq!(stuck.oldest_unacknowledged_intent_seconds, 660);
    system.provisioner.set_failing(false);
    let report = system.provisioning_sync().await;

    assert_eq!((report.mismatched, report.acknowledged), (1, 1));
    assert!(!system.decision().unwrap().entitled, "revoked");
    assert_orchestrator_matches_account(&system);
    assert_eq!(
        system
            .metrics
            .values("ProvisioningUnacknowledgedIntentAgeSeconds"),
        vec![660.0, 0.0]
    );
}

#[tokio::test]
async fn a_misrouted_delivery_first_does_not_make_the_id_a_duplicate_for_the_right_endpoint() {
    let system = System::new(NOW);
    let (status, parked) = system
        .deliver_to(
            Endpoint::SubscriptionCreated,
            "msg_first",
            "subscription.active",
            active(),
        )
        .await;
    assert_eq!(
        (status, parked["reason"].as_str()),
        (200, Some("misrouted"))
    );

    let (status, right) = system
        .deliver_to(
            Endpoint::SubscriptionUpdated,
            "msg_first",
            "subscription.active",
            active(),
        )
        .await;

    assert_eq!((status, right["status"].as_str()), (200, Some("processed")));
    assert_eq!(system.account().billing_status, BillingStatus::Active);
    assert_orchestrator_matches_account(&system);
}

#[tokio::test]
async fn a_job_that_cannot_list_reports_its_oldest_age_as_breaching_not_as_nothing() {
    // Convex refuses every list: provisioning-sync cannot tell which
    // accounts wait, nor which PayPal cancellations.
    let system = System::new(NOW);
    system.accounts.fail(AccountOp::List);
    let deadline = system.clock.now() + time::Duration::seconds(50);

    let sync = billing::handlers::provisioning_sync::run(
        &system.updater,
        &*system.accounts,
        &*system.clock,
        &*system.metrics,
        "test",
        deadline,
    )
    .await;
    let paypal = billing::handlers::provisioning_sync::cancel_paypal(
        &system.updater,
        None,
        "test",
        deadline,
    )
    .await;

    assert!(sync.is_err() && paypal.is_err());
    let unknown = billing::telemetry::metrics::UNKNOWN_AGE_SECONDS;
    for metric in [
        "ProvisioningMismatchAgeSeconds",
        "ProvisioningUnacknowledgedIntentAgeSeconds",
        "PaypalCancellationPendingAgeSeconds",
    ] {
        assert_eq!(system.metrics.values(metric), vec![unknown], "{metric}");
        assert!(unknown > 86_400.0, "past every age alarm's threshold");
    }
}
