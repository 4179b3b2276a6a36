use super::*;
use crate::sandbox::model::{Interval, Product};
use crate::sandbox::resources::CheckoutCreate;
use time::macros::datetime;
use time::Duration;

fn state() -> State {
    let mut state = State::default();
    for (id, amount) in [("prod_pro", 2900), ("prod_starter", 900)] {
        state.products.push(Product {
            id: id.into(),
            name: id.into(),
            description: String::new(),
            price_amount: amount,
            currency: "usd".into(),
            recurring_interval: Interval::Month,
            trial_days: None,
            is_archived: false,
        });
    }
    state
}

fn checkout(state: &mut State, trial: Option<(Interval, u32)>, now: OffsetDateTime) -> String {
    let request = CheckoutCreate {
        products: vec!["prod_pro".into()],
        metadata: serde_json::json!({"accountId": "acct_1"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        external_customer_id: Some("acct_1".into()),
        customer_id: None,
        customer_email: None,
        success_url: Some("http://127.0.0.1:3000/billing?checkout_id={CHECKOUT_ID}".into()),
        return_url: None,
        embed_origin: None,
        allow_trial: Some(true),
        trial_interval: trial.map(|t| t.0),
        trial_interval_count: trial.map(|t| t.1),
    };
    let id = state.create_checkout(request, now).unwrap();
    state.checkouts[&id].client_secret.clone()
}

fn types(events: &[Emitted]) -> Vec<&str> {
    events.iter().map(|e| e.event_type).collect()
}

const T0: OffsetDateTime = datetime!(2026-11-26 09:00 UTC);

#[test]
fn paying_creates_an_incomplete_subscription_then_activates_it_with_later_watermarks() {
    let mut state = state();
    let secret = checkout(&mut state, None, T0);
    let (checkout_id, events) = state.pay(&secret, "a@example.com", T0).unwrap();
    assert_eq!(
        types(&events),
        ["subscription.created", "subscription.active", "order.paid"]
    );
    assert_eq!(events[0].data["status"], "incomplete");
    assert!(events[0].data["modified_at"].is_null());
    assert_eq!(events[1].data["status"], "active");
    assert!(events[1].data["modified_at"].as_str() > events[0].data["created_at"].as_str());
    assert_eq!(events[2].data["billing_reason"], "subscription_create");
    let checkout = &state.checkouts[&checkout_id];
    assert_eq!(checkout.status, CheckoutStatus::Succeeded);
    assert!(checkout.subscription_id.is_some());
    assert_eq!(
        state.pay(&secret, "a@example.com", T0),
        Err(Refusal::NotPermitted("this checkout is succeeded".into()))
    );
}

#[test]
fn a_checkout_asking_for_a_trial_starts_trialing_until_the_trial_ends() {
    let mut state = state();
    let secret = checkout(&mut state, Some((Interval::Day, 10)), T0);
    let (_, events) = state.pay(&secret, "a@example.com", T0).unwrap();
    assert_eq!(types(&events), ["subscription.created", "order.paid"]);
    assert_eq!(events[0].data["status"], "trialing");
    let trial_end = events[0].data["trial_end"].as_str().unwrap_or_default();
    assert!(trial_end.starts_with("2026-12-06T09:00:00"), "{trial_end}");
    assert_eq!(events[1].data["total_amount"], 0);
}

#[test]
fn a_renewal_cycles_or_goes_past_due_when_the_charge_is_set_to_fail() {
    let mut state = state();
    let secret = checkout(&mut state, None, T0);
    let (checkout_id, _) = state.pay(&secret, "a@example.com", T0).unwrap();
    let id = state.checkouts[&checkout_id]
        .subscription_id
        .clone()
        .unwrap();
    let renewed = state.run_due(T0 + Duration::days(31));
    assert_eq!(
        types(&renewed),
        ["subscription.cycled", "subscription.updated", "order.paid"]
    );
    assert_eq!(renewed[2].data["billing_reason"], "subscription_cycle");
    assert_eq!(state.subscriptions[&id].status, SubStatus::Active);
    state.fail_next_renewals = 1;
    let failed = state.run_due(T0 + Duration::days(62));
    assert_eq!(types(&failed), ["subscription.past_due"]);
    assert_eq!(state.fail_next_renewals, 0);
    assert!(
        state.run_due(T0 + Duration::days(200)).is_empty(),
        "past_due does not renew"
    );
    let recovered = state.recover(&id, T0 + Duration::days(200)).unwrap();
    assert_eq!(types(&recovered), ["subscription.active", "order.paid"]);
}

#[test]
fn cancel_at_period_end_keeps_access_until_the_period_ends_then_revokes() {
    let mut state = state();
    let secret = checkout(&mut state, None, T0);
    let (checkout_id, _) = state.pay(&secret, "a@example.com", T0).unwrap();
    let id = state.checkouts[&checkout_id]
        .subscription_id
        .clone()
        .unwrap();
    let canceled = state
        .set_cancel_at_period_end(&id, true, T0 + Duration::days(1))
        .unwrap();
    assert_eq!(
        types(&canceled),
        ["subscription.updated", "subscription.canceled"]
    );
    assert_eq!(canceled[1].data["status"], "active");
    assert_eq!(canceled[1].data["cancel_at_period_end"], true);
    assert!(state
        .set_cancel_at_period_end(&id, true, T0 + Duration::days(2))
        .unwrap()
        .is_empty());
    let ended = state.run_due(T0 + Duration::days(40));
    assert_eq!(
        types(&ended),
        ["subscription.updated", "subscription.revoked"]
    );
    assert_eq!(ended[1].data["status"], "canceled");
    assert!(matches!(
        state.set_cancel_at_period_end(&id, false, T0 + Duration::days(41)),
        Err(Refusal::NotPermitted(_))
    ));
}

#[test]
fn uncancel_plan_change_and_revoke_send_their_sequences() {
    let mut state = state();
    let secret = checkout(&mut state, None, T0);
    let (checkout_id, _) = state.pay(&secret, "a@example.com", T0).unwrap();
    let id = state.checkouts[&checkout_id]
        .subscription_id
        .clone()
        .unwrap();
    state.set_cancel_at_period_end(&id, true, T0).unwrap();
    let uncanceled = state.set_cancel_at_period_end(&id, false, T0).unwrap();
    assert_eq!(
        types(&uncanceled),
        ["subscription.updated", "subscription.uncanceled"]
    );
    let downgrade = state
        .change_product(&id, "prod_starter", false, T0)
        .unwrap();
    assert_eq!(types(&downgrade), ["subscription.updated"]);
    assert_eq!(downgrade[0].data["product_id"], "prod_starter");
    let upgrade = state.change_product(&id, "prod_pro", true, T0).unwrap();
    assert_eq!(types(&upgrade), ["subscription.updated", "order.paid"]);
    assert_eq!(upgrade[1].data["total_amount"], 2000);
    let revoked = state.revoke(&id, T0).unwrap();
    assert_eq!(
        types(&revoked),
        [
            "subscription.updated",
            "subscription.canceled",
            "subscription.revoked"
        ]
    );
    let watermarks: Vec<_> = revoked
        .iter()
        .map(|e| {
            e.data["modified_at"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert!(
        watermarks.windows(2).all(|w| w[0] == w[1]),
        "one change, one watermark"
    );
}

#[test]
fn a_declined_card_fails_the_checkout_and_creates_nothing() {
    let mut state = state();
    let secret = checkout(&mut state, None, T0);
    state.decline(&secret, T0).unwrap();
    assert!(state.subscriptions.is_empty());
    assert!(state.customers.is_empty());
    assert!(matches!(
        state.pay(&secret, "a@example.com", T0),
        Err(Refusal::NotPermitted(_))
    ));
}

#[test]
fn an_hour_old_checkout_is_expired_and_cannot_be_paid() {
    let mut state = state();
    let secret = checkout(&mut state, None, T0);
    assert_eq!(
        state.pay(&secret, "a@example.com", T0 + Duration::minutes(61)),
        Err(Refusal::NotPermitted("this checkout is expired".into()))
    );
}
