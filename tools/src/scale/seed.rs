//! What each job finds when it starts, for N accounts: subscribers whose
//! Polo subscription is in the sandbox and whose account was derived from
//! it by the one `apply()` (so a re-apply is a no-op), a tenth of them
//! drifted or unacknowledged; PENDING inbox records on moto; a PayPal export.

use super::world::{BoxError, World};
use crate::local::LOCAL_PRODUCTS;
use crate::sandbox::model::{Customer, SubStatus, Subscription};
use billing::domain::{apply, AccountBilling, AccountId, Decision, Policy, ProvisionedEntitlement};
use billing::idempotency::{
    BodyHash, ClaimOutcome, Delivery, DynamoDbIdempotencyStore, IdempotencyStore, RecordKey,
};
use billing::polo::catalogue::Catalogue;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// Account `i` of a run (zero-padded: accountId order is numeric order).
pub fn account_id(i: usize) -> String {
    format!("acct_scale_{i:07}")
}

/// Every tenth account is the one a job has work for.
pub fn is_tenth(i: usize) -> bool {
    i.is_multiple_of(10)
}

fn catalogue() -> Result<Catalogue, BoxError> {
    let (starter, pro, enterprise) = LOCAL_PRODUCTS;
    Catalogue::from_lists(starter, pro, enterprise).map_err(|e| format!("{e:?}").into())
}

/// Account `i` as a pro subscriber: its customer and active subscription
/// in the sandbox, the account derived from them by `apply()` and
/// acknowledged by the orchestrator. `drifted`: the account holds the
/// subscription as it was a month ago (the renewal webhook was lost), so
/// reconciling it applies the newer one and pushes.
fn subscriber(
    world: &World,
    catalogue: &Catalogue,
    i: usize,
    now: OffsetDateTime,
    drifted: bool,
) -> Result<AccountBilling, BoxError> {
    let id = account_id(i);
    let subscription = Subscription {
        id: format!("sub_scale_{i:07}"),
        status: SubStatus::Active,
        product_id: LOCAL_PRODUCTS.1.to_owned(),
        customer_id: format!("cus_scale_{i:07}"),
        metadata: Default::default(),
        current_period_start: now - Duration::days(10),
        current_period_end: Some(now + Duration::days(20)),
        trial_start: None,
        trial_end: None,
        cancel_at_period_end: false,
        canceled_at: None,
        ends_at: None,
        ended_at: None,
        started_at: Some(now - Duration::days(40)),
        created_at: now - Duration::days(40),
        modified_at: Some(now - Duration::days(10)),
        amount: 2900,
        currency: "usd".into(),
        recurring_interval: crate::sandbox::model::Interval::Month,
        checkout_id: None,
        fail_next_renewal: false,
    };
    let mut held = subscription.clone();
    if drifted {
        held.current_period_start = now - Duration::days(40);
        held.current_period_end = Some(now - Duration::days(10));
        held.modified_at = Some(now - Duration::days(40));
    }
    let wire = world.sandbox.with_state(|state, _| {
        state.insert_customer(Customer {
            id: subscription.customer_id.clone(),
            external_id: Some(id.clone()),
            email: format!("user{i}@example.com"),
            name: None,
            metadata: Default::default(),
            created_at: now - Duration::days(40),
        });
        let wire = state.subscription_json(&held);
        state.insert_subscription(subscription);
        wire
    });
    let wire: billing::polo::PoloSubscription = serde_json::from_value(wire)?;
    let snapshot = wire.snapshot(catalogue)?;
    let fresh = AccountBilling::new(AccountId::parse(&id)?);
    let Decision::Apply(applied) = apply(&fresh, &snapshot, now, &Policy::default()) else {
        return Err(format!("{id}: the seed subscription did not apply").into());
    };
    let mut account = applied.next;
    account.provisioned_entitlement = Some(ProvisionedEntitlement {
        entitlement: account.desired_entitlement,
        version: account.version,
    });
    Ok(account)
}

/// `provisioning-sync` after an orchestrator outage: N subscribers, a
/// tenth of them never acknowledged (desired ≠ acknowledged).
pub fn unacknowledged(world: &World, n: usize, now: OffsetDateTime) -> Result<usize, BoxError> {
    let catalogue = catalogue()?;
    let mut waiting = 0;
    for i in 0..n {
        let mut account = subscriber(world, &catalogue, i, now, false)?;
        if is_tenth(i) {
            account.provisioned_entitlement = None;
            waiting += 1;
        }
        world.accounts.insert(account);
    }
    Ok(waiting)
}

/// `reconcile --all`: N subscribers, a tenth of them drifted.
pub fn subscribers(world: &World, n: usize, now: OffsetDateTime) -> Result<usize, BoxError> {
    let catalogue = catalogue()?;
    for i in 0..n {
        let account = subscriber(world, &catalogue, i, now, is_tenth(i))?;
        world.accounts.insert(account);
    }
    Ok(n.div_ceil(10))
}

/// `webhook-retry`: N accounts, and a `PENDING` record, due now, for each
/// tenth one: a `subscription.active` delivery that failed transiently.
/// Written 16 at a time (moto is the slow part of seeding).
pub async fn pending(world: &World, n: usize, now: OffsetDateTime) -> Result<usize, BoxError> {
    let (endpoint, table) = world.dynamodb.clone().ok_or("webhook-retry needs moto")?;
    let store: Arc<dyn IdempotencyStore> = Arc::new(DynamoDbIdempotencyStore::new(
        crate::moto::dynamodb_client(&endpoint),
        table,
    ));
    for i in 0..n {
        world
            .accounts
            .insert(AccountBilling::new(AccountId::parse(&account_id(i))?));
    }
    let tenths: Vec<usize> = (0..n).filter(|i| is_tenth(*i)).collect();
    for chunk in tenths.chunks(16) {
        let mut writes = tokio::task::JoinSet::new();
        for &i in chunk {
            let store = store.clone();
            writes.spawn(async move { park_pending(store.as_ref(), i, now).await });
        }
        while let Some(done) = writes.join_next().await {
            done??;
        }
    }
    // The seeding's own calls are not the job's.
    world.counter.take();
    Ok(tenths.len())
}

async fn park_pending(
    store: &dyn IdempotencyStore,
    i: usize,
    now: OffsetDateTime,
) -> Result<(), BoxError> {
    let account = account_id(i);
    let body = crate::sample::activation(&account, LOCAL_PRODUCTS.1, now - Duration::minutes(5));
    let webhook_id = format!("msg_scale_{i:07}");
    let delivery = Delivery {
        key: RecordKey::for_delivery(&webhook_id),
        body_hash: BodyHash::of(&body),
        endpoint: "webhook-subscription-created".into(),
        webhook_id,
        verification: "v1 secret#0 spec".into(),
        event_type: Some("subscription.active".into()),
        account_id: Some(account),
        received_at: now - Duration::minutes(5),
    };
    let at = now - Duration::minutes(5);
    let ClaimOutcome::Claimed(claim) = store
        .claim(&delivery, &body, at + Duration::seconds(9), at)
        .await?
    else {
        return Err("the seed claim found a record already".into());
    };
    store
        .defer(
            &claim,
            "seeded: Convex unavailable",
            now - Duration::seconds(1),
        )
        .await?;
    Ok(())
}

/// `admin migrate-paypal`: N plain accounts and an export of N ACTIVE
/// PayPal subscribers, one per account, billed again in 1 to 28 days.
pub fn paypal_export(
    world: &World,
    n: usize,
    now: OffsetDateTime,
    path: &std::path::Path,
) -> Result<usize, BoxError> {
    use std::fmt::Write as _;
    let midnight = now.replace_time(time::Time::MIDNIGHT);
    let plans = ["starter", "pro", "enterprise"];
    let mut csv =
        String::from("paypal_subscription_id,account_id,email,plan,status,next_billing_time\n");
    for i in 0..n {
        let id = account_id(i);
        world
            .accounts
            .insert(AccountBilling::new(AccountId::parse(&id)?));
        let next = (midnight + Duration::days(1 + (i % 28) as i64))
            .format(&time::format_description::well_known::Rfc3339)?;
        writeln!(
            csv,
            "I-{i:012},{id},user{i}@example.com,{},ACTIVE,{next}",
            plans[i % 3]
        )?;
    }
    std::fs::write(path, csv)?;
    Ok(n)
}
