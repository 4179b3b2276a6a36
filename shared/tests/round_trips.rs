//! Store and network round trips per webhook, counted on the in-memory
//! ports (each call of a port is one round trip of its real adapter):
//! a duplicate costs exactly the failed claim; a new event the claim, one
//! account read, one account write and the completion; a push and its
//! acknowledgement only when the entitlement changed; payment-succeeded one
//! Polo fetch more — nothing else. The inbox changed none of these: the
//! payload rides in the claim's own write. A parked event costs the
//! parking (and the claim, when parsing succeeded); a transient fault the
//! claim and the deferral to `PENDING`.

mod support;

use support::system::{sub, System};
use time::macros::datetime;

const END: &str = "2026-12-01T00:00:00Z";

#[derive(Debug, PartialEq, Eq)]
struct Trips {
    idempotency: usize,
    account_store: usize,
    pushes: usize,
    polo: usize,
}

fn trips(system: &System) -> Trips {
    Trips {
        idempotency: system.store.calls(),
        account_store: system.accounts.calls(),
        pushes: system.pushes().len(),
        polo: system.polo.calls(),
    }
}

async fn cost(system: &System, id: &str, event_type: &str, data: serde_json::Value) -> Trips {
    let before = trips(system);
    let (status, _) = system.deliver(id, event_type, data).await;
    assert_eq!(status, 200);
    let after = trips(system);
    Trips {
        idempotency: after.idempotency - before.idempotency,
        account_store: after.account_store - before.account_store,
        pushes: after.pushes - before.pushes,
        polo: after.polo - before.polo,
    }
}

fn system() -> System {
    System::new(datetime!(2026-11-15 12:00 UTC))
}

#[tokio::test]
async fn a_new_event_that_changes_entitlement_costs_claim_read_write_push_ack_completion() {
    let s = system();
    let t = cost(
        &s,
        "msg_1",
        "subscription.active",
        sub(
            "sub_1",
            "active",
            "prod_pro_monthly",
            "2026-11-01T00:00:00Z",
            END,
        ),
    )
    .await;
    // account store: read + write + acknowledgement write.
    assert_eq!(
        t,
        Trips {
            idempotency: 2,
            account_store: 3,
            pushes: 1,
            polo: 0
        }
    );
}

#[tokio::test]
async fn a_new_event_that_leaves_entitlement_alone_costs_no_push() {
    let s = system();
    cost(
        &s,
        "msg_1",
        "subscription.active",
        sub(
            "sub_1",
            "active",
            "prod_pro_monthly",
            "2026-11-01T00:00:00Z",
            END,
        ),
    )
    .await;
    let mut renamed = sub(
        "sub_1",
        "active",
        "prod_pro_monthly",
        "2026-11-02T00:00:00Z",
        END,
    );
    renamed["started_at"] = "2026-10-31T00:00:00Z".into();
    let t = cost(&s, "msg_2", "subscription.updated", renamed).await;
    assert_eq!(
        t,
        Trips {
            idempotency: 2,
            account_store: 2,
            pushes: 0,
            polo: 0
        }
    );
}

#[tokio::test]
async fn a_duplicate_costs_exactly_one_round_trip() {
    let s = system();
    let data = sub(
        "sub_1",
        "active",
        "prod_pro_monthly",
        "2026-11-01T00:00:00Z",
        END,
    );
    cost(&s, "msg_1", "subscription.active", data.clone()).await;
    let t = cost(&s, "msg_1", "subscription.active", data).await;
    assert_eq!(
        t,
        Trips {
            idempotency: 1,
            account_store: 0,
            pushes: 0,
            polo: 0
        }
    );
}

#[tokio::test]
async fn a_stale_event_costs_claim_read_and_completion() {
    let s = system();
    cost(
        &s,
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
    let t = cost(
        &s,
        "msg_1",
        "subscription.active",
        sub(
            "sub_1",
            "active",
            "prod_pro_monthly",
            "2026-11-01T00:00:00Z",
            END,
        ),
    )
    .await;
    assert_eq!(
        t,
        Trips {
            idempotency: 2,
            account_store: 1,
            pushes: 0,
            polo: 0
        }
    );
}

#[tokio::test]
async fn payment_succeeded_adds_one_polo_fetch() {
    let s = system();
    cost(
        &s,
        "msg_1",
        "subscription.active",
        sub(
            "sub_1",
            "active",
            "prod_pro_monthly",
            "2026-11-01T00:00:00Z",
            END,
        ),
    )
    .await;
    let renewed = sub(
        "sub_1",
        "active",
        "prod_pro_monthly",
        "2026-12-01T00:00:00Z",
        "2027-01-01T00:00:00Z",
    );
    s.polo
        .put_subscription(serde_json::from_value(renewed).unwrap());
    let t = cost(
        &s,
        "msg_2",
        "order.paid",
        support::polo::order("ord_1", "sub_1", "acct_1"),
    )
    .await;
    assert_eq!(
        t,
        Trips {
            idempotency: 2,
            account_store: 3,
            pushes: 1,
            polo: 1
        }
    );
}

#[tokio::test]
async fn an_unparseable_event_is_parked_in_exactly_one_round_trip() {
    let s = system();
    let mut data = sub(
        "sub_1",
        "active",
        "prod_pro_monthly",
        "2026-11-01T00:00:00Z",
        END,
    );
    data["current_period_end"] = "not a date".into();
    let t = cost(&s, "msg_bad", "subscription.active", data).await;
    assert_eq!(
        t,
        Trips {
            idempotency: 1,
            account_store: 0,
            pushes: 0,
            polo: 0
        }
    );
}

#[tokio::test]
async fn an_event_refused_by_the_rules_costs_the_claim_and_the_parking() {
    let s = system();
    let t = cost(
        &s,
        "msg_unknown",
        "subscription.active",
        sub(
            "sub_1",
            "active",
            "prod_not_in_catalogue",
            "2026-11-01T00:00:00Z",
            END,
        ),
    )
    .await;
    assert_eq!(
        t,
        Trips {
            idempotency: 2,
            account_store: 0,
            pushes: 0,
            polo: 0
        }
    );
}

#[tokio::test]
async fn an_event_that_meets_a_fault_costs_the_claim_and_the_deferral_and_nothing_more() {
    let s = system();
    s.accounts.fail(billing::accounts::AccountOp::Get);
    let before = trips(&s);
    let (status, _) = s
        .deliver(
            "msg_fault",
            "subscription.active",
            sub(
                "sub_1",
                "active",
                "prod_pro_monthly",
                "2026-11-01T00:00:00Z",
                END,
            ),
        )
        .await;
    let after = trips(&s);
    assert_eq!(status, 202);
    // The claim (payload included) and the deferral to PENDING; the one
    // failed account read.
    assert_eq!(after.idempotency - before.idempotency, 2);
    assert_eq!(after.account_store - before.account_store, 1);
    assert_eq!(after.pushes, before.pushes);
}
