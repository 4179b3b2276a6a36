//! The lifecycle table of design.md, row by row, and the ordering rules.

use super::*;
use crate::domain::{AccountId, CustomerId, PaypalLegacy, ProductId, SubscriptionId};
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-11-15 12:00 UTC);
const PERIOD_END: OffsetDateTime = datetime!(2026-12-01 00:00 UTC);

fn account() -> AccountBilling {
    AccountBilling::new(AccountId::parse("acct_1").unwrap())
}

fn snapshot(
    id: &str,
    status: BillingStatus,
    tier: PlanTier,
    watermark: OffsetDateTime,
) -> SubscriptionSnapshot {
    SubscriptionSnapshot {
        id: SubscriptionId::parse(id).unwrap(),
        account_id: AccountId::parse("acct_1").unwrap(),
        customer_id: CustomerId::parse("cus_1").unwrap(),
        product_id: ProductId::parse(&format!("prod_{tier}")).unwrap(),
        tier,
        status,
        current_period_end: Some(PERIOD_END),
        trial_end: None,
        started_at: Some(datetime!(2026-11-01 00:00 UTC)),
        cancel_at_period_end: false,
        watermark,
    }
}

fn applied(decision: Decision) -> Applied {
    match decision {
        Decision::Apply(applied) => *applied,
        other => panic!("expected a new state, got {other:?}"),
    }
}

fn apply_at(
    current: &AccountBilling,
    s: &SubscriptionSnapshot,
    now: OffsetDateTime,
) -> AccountBilling {
    applied(apply(current, s, now, &Policy::default())).next
}

const W1: OffsetDateTime = datetime!(2026-11-01 00:00 UTC);
const W2: OffsetDateTime = datetime!(2026-11-02 00:00 UTC);
const W3: OffsetDateTime = datetime!(2026-11-03 00:00 UTC);

#[test]
fn trialing_is_entitled_until_trial_end_plus_grace() {
    let mut s = snapshot("sub_1", BillingStatus::Trial, PlanTier::Pro, W1);
    s.trial_end = Some(datetime!(2026-11-20 00:00 UTC));
    let next = apply_at(&account(), &s, NOW);
    assert_eq!(next.billing_status, BillingStatus::Trial);
    assert_eq!(next.plan_tier, PlanTier::Pro);
    assert_eq!(next.trial_ends_at, s.trial_end);
    assert_eq!(next.renews_at, s.trial_end);
    assert_eq!(
        next.desired_entitlement,
        Entitlement {
            entitled: true,
            tier: PlanTier::Pro,
            expires_at: Some(datetime!(2026-11-21 00:00 UTC))
        }
    );
    assert_eq!(next.version, 1);
}

#[test]
fn active_is_entitled_until_period_end_plus_grace() {
    let next = apply_at(
        &account(),
        &snapshot("sub_1", BillingStatus::Active, PlanTier::Pro, W1),
        NOW,
    );
    assert_eq!(next.billing_status, BillingStatus::Active);
    assert_eq!(next.premium_expires_at, Some(PERIOD_END));
    assert_eq!(next.renews_at, Some(PERIOD_END));
    assert_eq!(
        next.desired_entitlement.expires_at,
        Some(PERIOD_END + Duration::hours(24))
    );
    assert!(next.needs_push());
}

#[test]
fn active_with_cancel_at_period_end_is_entitled_until_period_end_only() {
    let mut s = snapshot("sub_1", BillingStatus::Active, PlanTier::Pro, W1);
    s.cancel_at_period_end = true;
    let next = apply_at(&account(), &s, NOW);
    assert!(next.cancel_at_period_end);
    assert_eq!(next.renews_at, None);
    assert_eq!(next.desired_entitlement.expires_at, Some(PERIOD_END));
}

#[test]
fn past_due_is_not_entitled_by_default_but_keeps_its_tier() {
    let next = apply_at(
        &account(),
        &snapshot("sub_1", BillingStatus::PastDue, PlanTier::Pro, W1),
        NOW,
    );
    assert_eq!(next.billing_status, BillingStatus::PastDue);
    assert_eq!(next.plan_tier, PlanTier::Pro);
    assert_eq!(next.desired_entitlement, Entitlement::NONE);
}

#[test]
fn past_due_grace_keeps_access_for_the_configured_time() {
    let policy = Policy {
        past_due_grace: Duration::days(3),
        ..Policy::default()
    };
    let s = snapshot("sub_1", BillingStatus::PastDue, PlanTier::Pro, W1);
    let at = PERIOD_END + Duration::days(1);
    let next = applied(apply(&account(), &s, at, &policy)).next;
    assert!(next.desired_entitlement.entitled);
    assert_eq!(
        next.desired_entitlement.expires_at,
        Some(PERIOD_END + Duration::days(3))
    );
}

#[test]
fn incomplete_paused_and_incomplete_expired_are_not_entitled() {
    for (status, billing) in [
        (BillingStatus::Incomplete, BillingStatus::Incomplete),
        (BillingStatus::Paused, BillingStatus::Paused),
        (BillingStatus::None, BillingStatus::None),
    ] {
        let next = apply_at(
            &account(),
            &snapshot("sub_1", status, PlanTier::Pro, W1),
            NOW,
        );
        assert_eq!(next.billing_status, billing);
        assert!(!next.desired_entitlement.entitled, "{status:?}");
    }
}

#[test]
fn canceled_ends_access_and_the_tier_becomes_free() {
    let active = apply_at(
        &account(),
        &snapshot("sub_1", BillingStatus::Active, PlanTier::Pro, W1),
        NOW,
    );
    let next = apply_at(
        &active,
        &snapshot("sub_1", BillingStatus::Canceled, PlanTier::Pro, W2),
        NOW,
    );
    assert_eq!(next.plan_tier, PlanTier::Free);
    assert_eq!(next.billing_status, BillingStatus::Canceled);
    assert_eq!(next.premium_expires_at, None);
    assert_eq!(next.desired_entitlement, Entitlement::NONE);
    assert_eq!(next.version, 2);
}

#[test]
fn an_older_snapshot_is_stale_and_changes_nothing() {
    let canceled = apply_at(
        &account(),
        &snapshot("sub_1", BillingStatus::Canceled, PlanTier::Pro, W2),
        NOW,
    );
    let decision = apply(
        &canceled,
        &snapshot("sub_1", BillingStatus::Active, PlanTier::Pro, W1),
        NOW,
        &Policy::default(),
    );
    assert_eq!(
        decision,
        Decision::Stale {
            held: W2,
            received: W1
        }
    );
}

#[test]
fn an_equal_watermark_is_a_harmless_reapply() {
    let s = snapshot("sub_1", BillingStatus::Active, PlanTier::Pro, W1);
    let once = apply_at(&account(), &s, NOW);
    assert_eq!(
        apply(&once, &s, NOW, &Policy::default()),
        Decision::Unchanged
    );
}

#[test]
fn a_renewal_landing_after_the_period_end_does_not_flap_access() {
    let active = apply_at(
        &account(),
        &snapshot("sub_1", BillingStatus::Active, PlanTier::Pro, W1),
        NOW,
    );
    let just_after_end = PERIOD_END + Duration::hours(2);
    assert_eq!(
        refresh(&active, just_after_end),
        Decision::Unchanged,
        "still inside the renewal grace"
    );

    let mut renewed = snapshot(
        "sub_1",
        BillingStatus::Active,
        PlanTier::Pro,
        PERIOD_END + Duration::hours(1),
    );
    renewed.current_period_end = Some(datetime!(2027-01-01 00:00 UTC));
    let next = apply_at(&active, &renewed, just_after_end);
    assert!(next.desired_entitlement.entitled);
    assert_eq!(next.renews_at, Some(datetime!(2027-01-01 00:00 UTC)));
}

#[test]
fn access_ends_on_refresh_once_the_grace_has_passed_with_no_renewal() {
    let active = apply_at(
        &account(),
        &snapshot("sub_1", BillingStatus::Active, PlanTier::Pro, W1),
        NOW,
    );
    let later = PERIOD_END + Duration::hours(25);
    let next = applied(refresh(&active, later));
    assert!(next.entitlement_changed);
    assert_eq!(next.next.desired_entitlement, Entitlement::NONE);
    assert_eq!(
        next.next.billing_status,
        BillingStatus::Active,
        "Polo has not said otherwise"
    );
}

#[test]
fn a_plan_change_moves_to_the_new_products_tier_even_downwards() {
    let pro = apply_at(
        &account(),
        &snapshot("sub_1", BillingStatus::Active, PlanTier::Pro, W1),
        NOW,
    );
    let starter = apply_at(
        &pro,
        &snapshot("sub_1", BillingStatus::Active, PlanTier::Starter, W2),
        NOW,
    );
    assert_eq!(starter.plan_tier, PlanTier::Starter);
    assert_eq!(starter.desired_entitlement.tier, PlanTier::Starter);
}

#[test]
fn a_late_revoke_of_an_old_subscription_leaves_the_new_one_in_charge() {
    let old = apply_at(
        &account(),
        &snapshot("sub_old", BillingStatus::Active, PlanTier::Starter, W1),
        NOW,
    );
    let mut new = snapshot("sub_new", BillingStatus::Active, PlanTier::Pro, W2);
    new.started_at = Some(W2);
    let both = applied(apply(&old, &new, NOW, &Policy::default()));
    assert!(both.duplicate_subscriptions, "two live subscriptions alarm");
    let revoked = applied(apply(
        &both.next,
        &snapshot("sub_old", BillingStatus::Canceled, PlanTier::Starter, W3),
        NOW,
        &Policy::default(),
    ));
    assert!(!revoked.duplicate_subscriptions);
    assert_eq!(
        revoked
            .next
            .current_subscription_id
            .as_ref()
            .map(|i| i.as_str()),
        Some("sub_new")
    );
    assert_eq!(revoked.next.plan_tier, PlanTier::Pro);
    assert!(revoked.next.desired_entitlement.entitled);
    assert!(!revoked.entitlement_changed);
}

#[test]
fn a_legacy_paypal_account_keeps_its_tier_until_paid_through() {
    let mut legacy = account();
    legacy.provider = Provider::Paypal;
    legacy.paypal = Some(PaypalLegacy {
        subscription_id: "I-PAYPAL1".into(),
        tier: PlanTier::Pro,
        paid_through: datetime!(2026-11-20 00:00 UTC),
    });
    let fresh = applied(refresh(&legacy, NOW)).next;
    assert_eq!(fresh.plan_tier, PlanTier::Pro);
    assert!(fresh.desired_entitlement.entitled);
    let lapsed = applied(refresh(&fresh, datetime!(2026-11-20 00:00 UTC))).next;
    assert_eq!(lapsed.plan_tier, PlanTier::Free);
    assert!(!lapsed.desired_entitlement.entitled);
}

#[test]
fn a_legacy_account_moves_to_polo_and_queues_its_paypal_cancellation_when_entitled() {
    let mut legacy = account();
    legacy.provider = Provider::Paypal;
    legacy.paypal = Some(PaypalLegacy {
        subscription_id: "I-PAYPAL1".into(),
        tier: PlanTier::Pro,
        paid_through: datetime!(2026-11-20 00:00 UTC),
    });
    let mut incomplete = snapshot("sub_1", BillingStatus::Incomplete, PlanTier::Pro, W1);
    incomplete.current_period_end = None;
    let still_paypal = apply_at(&legacy, &incomplete, NOW);
    assert_eq!(
        still_paypal.provider,
        Provider::Paypal,
        "not entitled on Polo yet"
    );

    let mut trial = snapshot("sub_1", BillingStatus::Trial, PlanTier::Pro, W2);
    trial.trial_end = Some(datetime!(2026-11-20 00:00 UTC));
    let moved = applied(apply(&still_paypal, &trial, NOW, &Policy::default()));
    assert!(moved.paypal_cancellation_queued);
    assert_eq!(moved.next.provider, Provider::Polo);
    assert_eq!(moved.next.paypal, None);
    let pending = moved.next.pending_paypal_cancellation.as_ref().unwrap();
    assert_eq!(pending.subscription_id, "I-PAYPAL1");
    assert_eq!(pending.queued_at, NOW);
}
