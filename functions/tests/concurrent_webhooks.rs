//! Whole lifecycles through the real binaries at once: two instances of
//! each of the five webhook functions (ten processes, as Lambda scales out)
//! share the idempotency table on moto, the Convex stand-in and the
//! orchestrator. Every event of every account's subscription — trial,
//! active, renewal, its payment, then for half of them a failed renewal and
//! a revoke — goes out at once, each twice (the copies to different
//! instances, racing for the same claim), in a shuffled order per
//! instance; a delivery answered 409 (in progress elsewhere) is sent again,
//! as Polo retries. Then the `provisioning-sync` binary runs once, and the
//! orchestrator must hold every account's desired entitlement.

mod support;

use billing::domain::{AccountBilling, AccountId, Entitlement};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use support::polo_events::{delivery, order, rfc3339, subscription};
use support::*;
use time::OffsetDateTime;
use tools::runtime_api::RuntimeApi;

const ACCOUNTS: usize = 16;
const INSTANCES: usize = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_lifecycles_through_ten_racing_binaries_converge_after_one_sync() {
    // Arrange: the accounts, Polo's final state of each subscription, and
    // every delivery of every lifecycle (each twice).
    let table = fresh_table().await;
    let down = downstream().await;
    let now = OffsetDateTime::now_utc();
    let (trial_end, period_end, renewed_end) = (
        now + time::Duration::days(7),
        now + time::Duration::days(30),
        now + time::Duration::days(60),
    );
    // Per binary, per instance: the deliveries it will be handed.
    let mut queues: Vec<Vec<Vec<String>>> = vec![vec![Vec::new(); INSTANCES]; BINARIES.len()];
    let slot = |binary: &str| BINARIES.iter().position(|(n, _)| *n == binary).unwrap();
    let mut sent = 0;
    for k in 0..ACCOUNTS {
        let account = format!("acct_race_{k}");
        down.accounts
            .insert(AccountBilling::new(AccountId::parse(&account).unwrap()));
        let renewal = subscription(&account, "active", 3, renewed_end);
        let mut story = vec![
            (
                "webhook-subscription-created",
                "subscription.created",
                subscription(&account, "trialing", 1, trial_end),
            ),
            (
                "webhook-subscription-updated",
                "subscription.active",
                subscription(&account, "active", 2, period_end),
            ),
            (
                "webhook-subscription-updated",
                "subscription.cycled",
                renewal.clone(),
            ),
            (
                "webhook-payment-succeeded",
                "order.paid",
                order(&account, renewal.clone()),
            ),
        ];
        let last = if k % 2 == 0 {
            let revoked = subscription(&account, "canceled", 5, renewed_end);
            story.push((
                "webhook-payment-failed",
                "subscription.past_due",
                subscription(&account, "past_due", 4, renewed_end),
            ));
            story.push((
                "webhook-subscription-canceled",
                "subscription.revoked",
                revoked.clone(),
            ));
            revoked
        } else {
            renewal
        };
        // order.paid makes payment-succeeded fetch the subscription: Polo
        // answers with its state now, the end of the story.
        down.put_subscription(&last);
        for (n, (binary, event_type, data)) in story.into_iter().enumerate() {
            let id = format!("msg_race_{k}_{n}");
            // One body per event: a redelivery carries the same bytes.
            let body =
                json!({"type": event_type, "timestamp": rfc3339(now), "data": data}).to_string();
            for (copy, queue) in queues[slot(binary)].iter_mut().enumerate() {
                let base64 = (k + n + copy) % 2 == 0;
                queue.push(delivery(binary, &id, &body, base64));
                sent += 1;
            }
        }
    }
    let mut rng = fastrand::Rng::with_seed(20);
    for per_binary in &mut queues {
        for queue in per_binary.iter_mut() {
            rng.shuffle(queue);
        }
    }
    let mut children = Vec::new();
    let mut workers = Vec::new();
    // Kept until the processes are stopped: a binary polling a Runtime API
    // that is gone fails loudly.
    let mut apis = Vec::new();
    for (b, (name, binary)) in BINARIES.iter().enumerate() {
        for (copy, queue) in queues[b].iter().enumerate() {
            let api = Arc::new(RuntimeApi::start().await.unwrap());
            children.push(spawn(
                binary,
                &format!("{name}-{copy}"),
                &api,
                &table,
                &down,
            ));
            apis.push(api.clone());
            workers.push((api, queue.clone()));
        }
    }

    // Act: every instance works through its queue at the same time; a
    // delivery answered 409 (in progress elsewhere) is sent again to the
    // same function, as Polo retries it.
    let handles: Vec<_> = workers
        .into_iter()
        .map(|(api, queue)| {
            tokio::spawn(async move {
                let mut answers = Vec::new();
                for event in queue {
                    let mut answer =
                        status_and_body(api.invoke(&event, Duration::from_secs(30)).await.unwrap());
                    let mut retries = 0;
                    while answer.0 == 409 && retries < 50 {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        answer = status_and_body(
                            api.invoke(&event, Duration::from_secs(30)).await.unwrap(),
                        );
                        retries += 1;
                    }
                    answers.push(answer);
                }
                answers
            })
        })
        .collect();
    let mut answers = std::collections::BTreeMap::new();
    for handle in handles {
        for (status, body) in handle.await.unwrap() {
            assert_eq!(status, 200, "every delivery ends answered 200: {body}");
            assert_ne!(body["status"], "parked", "nothing is parked: {body}");
            let kind = body["status"].as_str().unwrap_or_default().to_owned();
            *answers.entry(kind).or_insert(0) += 1;
        }
    }
    for child in &mut children {
        child.kill().await.unwrap();
    }
    drop(apis);
    let sync = run_provisioning_sync(&down).await;

    // Assert: the orchestrator holds every account's desired entitlement.
    for k in 0..ACCOUNTS {
        let id = AccountId::parse(&format!("acct_race_{k}")).unwrap();
        let account = down.accounts.account(&id).unwrap();
        let held = down
            .orchestrator
            .decision(&id)
            .map(|d| Entitlement {
                entitled: d.entitled,
                tier: d.tier,
                expires_at: d.expires_at,
            })
            .unwrap_or(Entitlement::NONE);
        assert_eq!(held, account.desired_entitlement, "{id}: {account:?}");
        assert_eq!(
            account.desired_entitlement.entitled,
            k % 2 == 1,
            "{id}: {account:?}"
        );
        assert!(!account.needs_push(), "{id}");
    }
    println!(
        "{ACCOUNTS} accounts, {sent} deliveries over {} instances: {answers:?}; sync: {sync}; pushes: {}",
        BINARIES.len() * INSTANCES,
        down.orchestrator.pushes().len()
    );
}
