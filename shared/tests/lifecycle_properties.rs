//! Property: generated subscription lifecycles, delivered in every order
//! with duplicates, end in the same account state and the same orchestrator
//! decision as in-order delivery.

mod support;

use billing::domain::{AccountBilling, Entitlement, ProvisionedEntitlement};
use proptest::prelude::*;
use support::system::{sub, System};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-11-15 12:00 UTC);
const STATUSES: [&str; 8] = [
    "trialing",
    "active",
    "past_due",
    "unpaid",
    "incomplete",
    "incomplete_expired",
    "paused",
    "canceled",
];
const PRODUCTS: [&str; 4] = [
    "prod_starter",
    "prod_pro_monthly",
    "prod_pro_legacy",
    "prod_enterprise",
];
const TYPES: [&str; 4] = [
    "subscription.updated",
    "subscription.active",
    "subscription.cycled",
    "subscription.uncanceled",
];

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[derive(Debug, Clone)]
struct Step {
    subscription: usize,
    status: usize,
    product: usize,
    event_type: usize,
    period_end_hours: i64,
    cancel_at_period_end: bool,
}

fn step() -> impl Strategy<Value = Step> {
    (
        0..2usize,
        0..STATUSES.len(),
        0..PRODUCTS.len(),
        0..TYPES.len(),
        -72i64..720,
        any::<bool>(),
    )
        .prop_map(
            |(
                subscription,
                status,
                product,
                event_type,
                period_end_hours,
                cancel_at_period_end,
            )| Step {
                subscription,
                status,
                product,
                event_type,
                period_end_hours,
                cancel_at_period_end,
            },
        )
}

/// The events of a lifecycle, in Polo's order: each step modifies its
/// subscription one minute after the previous step.
fn events(steps: &[Step]) -> Vec<(String, &'static str, serde_json::Value)> {
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let modified = datetime!(2026-11-01 00:00 UTC) + Duration::minutes(i as i64);
            let end = NOW + Duration::hours(s.period_end_hours);
            let mut data = sub(
                &format!("sub_{}", s.subscription),
                STATUSES[s.status],
                PRODUCTS[s.product],
                &rfc3339(modified),
                &rfc3339(end),
            );
            data["trial_end"] = rfc3339(end).into();
            data["cancel_at_period_end"] = s.cancel_at_period_end.into();
            data["started_at"] =
                rfc3339(datetime!(2026-10-01 00:00 UTC) + Duration::days(s.subscription as i64))
                    .into();
            (format!("msg_{i}"), TYPES[s.event_type], data)
        })
        .collect()
}

/// The business state: everything but the write counter and its timestamps,
/// which depend on how many writes a delivery order took. "Never
/// provisioned" and "provisioned as not entitled" are the same decision
/// (`AccountBilling::needs_push` treats them alike), so they compare equal.
/// The push intent is write bookkeeping too (its version and time count
/// writes); whether a push is still outstanding is asserted separately.
fn business(mut account: AccountBilling) -> AccountBilling {
    account.version = 0;
    account.entitlement_changed_at = None;
    account.provisioning_intent = None;
    let provisioned = account
        .provisioned_entitlement
        .map(|p| p.entitlement)
        .unwrap_or(Entitlement::NONE);
    account.provisioned_entitlement = Some(ProvisionedEntitlement {
        entitlement: provisioned,
        version: 0,
    });
    account
}

async fn deliver_all(order: &[(String, &'static str, serde_json::Value)]) -> System {
    let system = System::new(NOW);
    for (id, event_type, data) in order {
        let (status, _) = system.deliver(id, event_type, data.clone()).await;
        assert_eq!(status, 200);
    }
    system
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn any_delivery_order_with_duplicates_ends_where_in_order_delivery_ends(
        steps in prop::collection::vec(step(), 1..8),
        shuffle_seed in any::<u64>(),
        duplicates in prop::collection::vec(any::<prop::sample::Index>(), 0..5),
    ) {
        let in_order = events(&steps);
        let mut shuffled = in_order.clone();
        for d in &duplicates {
            shuffled.push(shuffled[d.index(in_order.len())].clone());
        }
        // Deterministic Fisher-Yates from the seed (proptest shrinks the seed).
        let mut state = shuffle_seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }

        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (expected, actual) = runtime.block_on(async {
            (deliver_all(&in_order).await, deliver_all(&shuffled).await)
        });

        prop_assert_eq!(business(actual.account()), business(expected.account()));
        // No push ever received means no credentials: the same as "not entitled".
        let decision = |s: &System| {
            s.decision()
                .filter(|d| d.entitled)
                .map(|d| (d.tier, d.expires_at))
        };
        prop_assert_eq!(decision(&actual), decision(&expected));
        prop_assert!(!actual.account().needs_push());
    }
}
