//! Contract tests of the account lifecycle: Polo's typical sequences
//! delivered as signed webhooks, each asserting the stored account AND what
//! the provisioning orchestrator was told.

mod support;

use billing::domain::{BillingStatus, PlanTier, Provider};
use serde_json::json;
use support::system::{sub, System};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-11-15 12:00 UTC);
const END: &str = "2026-12-01T00:00:00Z";
const NEXT_END: &str = "2027-01-01T00:00:00Z";
const PRO: &str = "prod_pro_monthly";
const STARTER: &str = "prod_starter";

fn at(raw: &str) -> OffsetDateTime {
    OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339).unwrap()
}

/// The orchestrator's decision equals what the account wants, and the
/// account records that it was acknowledged.
fn assert_in_step(system: &System) {
    let account = system.account();
    let decision = system.decision().expect("the orchestrator has a decision");
    assert_eq!(decision.entitled, account.desired_entitlement.entitled);
    assert_eq!(decision.tier, account.desired_entitlement.tier);
    assert_eq!(decision.expires_at, account.desired_entitlement.expires_at);
    assert!(!account.needs_push(), "the acknowledgement is recorded");
}

#[tokio::test]
async fn a_trial_that_converts_to_active_is_entitled_throughout() {
    let system = System::new(NOW);
    let mut trial = sub("sub_1", "trialing", PRO, "2026-11-01T00:00:00Z", END);
    trial["trial_end"] = "2026-11-20T00:00:00Z".into();
    let (status, _) = system.deliver("msg_1", "subscription.created", trial).await;
    assert_eq!(status, 200);
    let account = system.account();
    assert_eq!(account.billing_status, BillingStatus::Trial);
    assert_eq!(account.plan_tier, PlanTier::Pro);
    assert_eq!(account.trial_ends_at, Some(at("2026-11-20T00:00:00Z")));

    system
        .deliver(
            "msg_2",
            "subscription.active",
            sub("sub_1", "active", PRO, "2026-11-20T00:00:05Z", END),
        )
        .await;

    let account = system.account();
    assert_eq!(account.billing_status, BillingStatus::Active);
    assert_eq!(account.trial_ends_at, None);
    assert_eq!(account.premium_expires_at, Some(at(END)));
    let pushes = system.pushes();
    assert_eq!(pushes.len(), 2);
    assert!(pushes.iter().all(|p| p.entitled && p.tier == PlanTier::Pro));
    assert_eq!(pushes[0].expires_at, Some(at("2026-11-21T00:00:00Z")));
    assert_eq!(pushes[1].expires_at, Some(at(END) + Duration::hours(24)));
    assert_eq!(pushes[1].reason, "subscription.active");
    assert_eq!(pushes[1].source_event_id, "msg_2");
    assert_in_step(&system);
}

#[tokio::test]
async fn a_failed_renewal_moves_active_to_past_due_and_revokes() {
    let system = System::new(NOW);
    system
        .deliver(
            "msg_1",
            "subscription.active",
            sub("sub_1", "active", PRO, "2026-11-01T00:00:00Z", END),
        )
        .await;
    system.clock.set(at(END) + Duration::hours(1));

    let (status, _) = system
        .deliver(
            "msg_2",
            "subscription.past_due",
            sub("sub_1", "past_due", PRO, "2026-12-01T00:59:00Z", END),
        )
        .await;

    assert_eq!(status, 200);
    let account = system.account();
    assert_eq!(account.billing_status, BillingStatus::PastDue);
    assert_eq!(account.plan_tier, PlanTier::Pro);
    let last = system.pushes().pop().unwrap();
    assert!(!last.entitled);
    assert_eq!(last.status, BillingStatus::PastDue);
    assert_in_step(&system);
}

#[tokio::test]
async fn past_due_then_canceled_ends_on_free_without_a_second_revoke() {
    let system = System::new(NOW);
    system
        .deliver(
            "msg_1",
            "subscription.active",
            sub("sub_1", "active", PRO, "2026-11-01T00:00:00Z", END),
        )
        .await;
    system
        .deliver(
            "msg_2",
            "subscription.past_due",
            sub("sub_1", "past_due", PRO, "2026-11-02T00:00:00Z", END),
        )
        .await;

    system
        .deliver(
            "msg_3",
            "subscription.revoked",
            sub("sub_1", "canceled", PRO, "2026-11-03T00:00:00Z", END),
        )
        .await;

    let account = system.account();
    assert_eq!(account.billing_status, BillingStatus::Canceled);
    assert_eq!(account.plan_tier, PlanTier::Free);
    assert_eq!(
        system.pushes().len(),
        2,
        "past_due already revoked; canceled changes no entitlement"
    );
    assert_in_step(&system);
}

#[tokio::test]
async fn a_scheduled_cancel_keeps_access_to_the_period_end_then_the_revoke_ends_it() {
    let system = System::new(NOW);
    system
        .deliver(
            "msg_1",
            "subscription.active",
            sub("sub_1", "active", PRO, "2026-11-01T00:00:00Z", END),
        )
        .await;
    let mut scheduled = sub("sub_1", "active", PRO, "2026-11-10T00:00:00Z", END);
    scheduled["cancel_at_period_end"] = true.into();
    system
        .deliver("msg_2", "subscription.updated", scheduled.clone())
        .await;
    let (status, body) = system
        .deliver("msg_3", "subscription.canceled", scheduled)
        .await;
    assert_eq!((status, body), (200, json!({"status": "processed"})));

    let account = system.account();
    assert!(account.cancel_at_period_end);
    assert_eq!(account.renews_at, None);
    assert!(account.desired_entitlement.entitled);
    assert_eq!(
        account.desired_entitlement.expires_at,
        Some(at(END)),
        "no renewal grace"
    );
    assert_eq!(system.pushes().len(), 2);

    system.clock.set(at(END));
    let ended = sub("sub_1", "canceled", PRO, "2026-12-01T00:00:01Z", END);
    system
        .deliver("msg_4", "subscription.updated", ended.clone())
        .await;
    system.deliver("msg_5", "subscription.revoked", ended).await;

    let account = system.account();
    assert_eq!(account.plan_tier, PlanTier::Free);
    assert_eq!(account.billing_status, BillingStatus::Canceled);
    let pushes = system.pushes();
    assert_eq!(pushes.len(), 3);
    assert!(!pushes[2].entitled);
    assert_in_step(&system);
}

#[tokio::test]
async fn uncanceling_restores_the_renewal_and_its_grace() {
    let system = System::new(NOW);
    let mut scheduled = sub("sub_1", "active", PRO, "2026-11-01T00:00:00Z", END);
    scheduled["cancel_at_period_end"] = true.into();
    system
        .deliver("msg_1", "subscription.canceled", scheduled)
        .await;

    system
        .deliver(
            "msg_2",
            "subscription.uncanceled",
            sub("sub_1", "active", PRO, "2026-11-05T00:00:00Z", END),
        )
        .await;

    let account = system.account();
    assert!(!account.cancel_at_period_end);
    assert_eq!(account.renews_at, Some(at(END)));
    let last = system.pushes().pop().unwrap();
    assert_eq!(last.expires_at, Some(at(END) + Duration::hours(24)));
    assert_in_step(&system);
}

#[tokio::test]
async fn a_renewal_applies_once_and_order_paid_trusts_polo_over_its_embedded_copy() {
    let system = System::new(NOW);
    system
        .deliver(
            "msg_1",
            "subscription.active",
            sub("sub_1", "active", PRO, "2026-11-01T00:00:00Z", END),
        )
        .await;
    system.clock.set(at(END) + Duration::minutes(30));
    let renewed = sub("sub_1", "active", PRO, "2026-12-01T00:20:00Z", NEXT_END);
    system
        .polo
        .put_subscription(serde_json::from_value(renewed.clone()).unwrap());

    system
        .deliver("msg_2", "subscription.cycled", renewed.clone())
        .await;
    system
        .deliver("msg_3", "subscription.updated", renewed)
        .await;
    let mut order = support::polo::order("ord_1", "sub_1", "acct_1");
    order["subscription"] = sub("sub_1", "active", PRO, "2026-11-01T00:00:00Z", END); // stale embedded copy
    let (status, _) = system.deliver("msg_4", "order.paid", order).await;

    assert_eq!(status, 200);
    assert_eq!(system.polo.calls(), 1);
    let account = system.account();
    assert_eq!(account.renews_at, Some(at(NEXT_END)));
    assert_eq!(account.premium_expires_at, Some(at(NEXT_END)));
    let pushes = system.pushes();
    assert_eq!(
        pushes.len(),
        2,
        "one push for the renewal; the copies change nothing"
    );
    assert_eq!(
        pushes[1].expires_at,
        Some(at(NEXT_END) + Duration::hours(24))
    );
    assert_in_step(&system);
}

#[tokio::test]
async fn a_renewal_landing_after_the_period_end_never_flaps_access() {
    let system = System::new(NOW);
    system
        .deliver(
            "msg_1",
            "subscription.active",
            sub("sub_1", "active", PRO, "2026-11-01T00:00:00Z", END),
        )
        .await;
    system.clock.set(at(END) + Duration::hours(3));
    system.provisioning_sync().await;
    let refreshed = system
        .updater
        .refresh(
            &system.account().account_id,
            &billing::updater::Cause {
                event_id: "r".into(),
                event_type: "reconcile".into(),
            },
            at(NEXT_END),
        )
        .await
        .unwrap();
    assert!(matches!(
        refreshed,
        billing::updater::UpdateOutcome::Unchanged(_)
    ));

    system
        .deliver(
            "msg_2",
            "subscription.cycled",
            sub("sub_1", "active", PRO, "2026-12-01T02:59:00Z", NEXT_END),
        )
        .await;

    let pushes = system.pushes();
    assert!(
        pushes.iter().all(|p| p.entitled),
        "access was never revoked: {pushes:?}"
    );
    assert_eq!(system.account().renews_at, Some(at(NEXT_END)));
    assert_in_step(&system);
}

#[tokio::test]
async fn an_upgrade_moves_the_account_and_the_credentials_to_the_higher_tier() {
    let system = System::new(NOW);
    system
        .deliver(
            "msg_1",
            "subscription.active",
            sub("sub_1", "active", STARTER, "2026-11-01T00:00:00Z", END),
        )
        .await;

    system
        .deliver(
            "msg_2",
            "subscription.updated",
            sub("sub_1", "active", PRO, "2026-11-10T00:00:00Z", END),
        )
        .await;

    assert_eq!(system.account().plan_tier, PlanTier::Pro);
    let pushes = system.pushes();
    assert_eq!(
        (pushes[0].tier, pushes[1].tier),
        (PlanTier::Starter, PlanTier::Pro)
    );
    assert_in_step(&system);
}

#[tokio::test]
async fn a_downgrade_from_pro_ends_on_starter() {
    let system = System::new(NOW);
    system
        .deliver(
            "msg_1",
            "subscription.active",
            sub("sub_1", "active", PRO, "2026-11-01T00:00:00Z", END),
        )
        .await;

    system
        .deliver(
            "msg_2",
            "subscription.updated",
            sub("sub_1", "active", STARTER, "2026-11-10T00:00:00Z", END),
        )
        .await;

    assert_eq!(system.account().plan_tier, PlanTier::Starter);
    assert_eq!(system.decision().unwrap().tier, PlanTier::Starter);
    assert_in_step(&system);
}

#[tokio::test]
async fn a_late_revoke_of_an_old_subscription_leaves_the_new_one_its_access() {
    let system = System::new(NOW);
    system
        .deliver(
            "msg_1",
            "subscription.active",
            sub("sub_old", "active", STARTER, "2026-11-01T00:00:00Z", END),
        )
        .await;
    let mut new = sub("sub_new", "active", PRO, "2026-11-10T00:00:00Z", NEXT_END);
    new["started_at"] = "2026-11-10T00:00:00Z".into();
    system.deliver("msg_2", "subscription.created", new).await;
    let pushes_before = system.pushes().len();

    system
        .deliver(
            "msg_3",
            "subscription.revoked",
            sub("sub_old", "canceled", STARTER, "2026-11-12T00:00:00Z", END),
        )
        .await;

    let account = system.account();
    assert_eq!(
        account.current_subscription_id.as_ref().unwrap().as_str(),
        "sub_new"
    );
    assert_eq!(account.plan_tier, PlanTier::Pro);
    assert!(account.desired_entitlement.entitled);
    assert_eq!(
        system.pushes().len(),
        pushes_before,
        "the new subscription's access is untouched"
    );
    assert_eq!(system.decision().unwrap().tier, PlanTier::Pro);
}

#[tokio::test]
async fn a_second_live_subscription_keeps_the_rule_and_raises_the_alarm() {
    let system = System::new(NOW);
    system
        .deliver(
            "msg_1",
            "subscription.active",
            sub("sub_a", "active", STARTER, "2026-11-01T00:00:00Z", END),
        )
        .await;

    system
        .deliver(
            "msg_2",
            "subscription.active",
            sub("sub_b", "active", PRO, "2026-11-02T00:00:00Z", END),
        )
        .await;

    assert_eq!(system.metrics.values("DuplicateSubscriptions"), vec![1.0]);
    let account = system.account();
    assert_eq!(account.plan_tier, PlanTier::Pro, "highest tier wins");
    assert_eq!(
        account.current_subscription_id.as_ref().unwrap().as_str(),
        "sub_b"
    );
    assert_in_step(&system);
}

#[tokio::test]
async fn a_legacy_paypal_account_moves_to_polo_when_its_trial_starts() {
    let system = System::new(NOW);
    let mut legacy = system.account();
    legacy.provider = Provider::Paypal;
    legacy.paypal = Some(billing::domain::PaypalLegacy {
        subscription_id: "I-PAYPAL-1".into(),
        tier: PlanTier::Pro,
        paid_through: at("2026-11-20T00:00:00Z"),
    });
    system.accounts.insert(legacy);
    let mut trial = sub(
        "sub_1",
        "trialing",
        PRO,
        "2026-11-15T00:00:00Z",
        "2026-11-20T00:00:00Z",
    );
    trial["trial_end"] = "2026-11-20T00:00:00Z".into();

    system.deliver("msg_1", "subscription.created", trial).await;

    let account = system.account();
    assert_eq!(account.provider, Provider::Polo);
    assert_eq!(
        account
            .pending_paypal_cancellation
            .as_ref()
            .unwrap()
            .subscription_id,
        "I-PAYPAL-1"
    );
    assert_eq!(system.metrics.values("PaypalCancellationQueued"), vec![1.0]);
    assert_in_step(&system);
}
