//! Concurrency through the real binaries (issue 22 item 3): several
//! processes of each webhook function, as Lambda scales out, share the
//! idempotency table on moto, the Convex stand-in and the orchestrator.
//! A hundred deliveries at once — of one event, then of ten events of one
//! account interleaved — and each delivery is retried after a 409 as Polo
//! does. Every answer is 200 or 202, or 409 then 200; each distinct
//! snapshot changes the account at most once; each entitlement change is
//! pushed once.

mod support;

use billing::domain::{AccountBilling, AccountId, Entitlement};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use support::polo_events::{delivery, rfc3339, subscription};
use support::*;
use time::OffsetDateTime;
use tools::runtime_api::RuntimeApi;

const INSTANCES: usize = 4;

/// One delivery's answers, first to last (the last is after any 409s).
type Answers = Vec<(u64, Value)>;

/// Starts `INSTANCES` processes of each binary in `names`; hands every
/// delivery (binary, event) to an instance of its binary, all at once, each
/// on its own task, retrying 409s; returns each delivery's answers.
async fn deliver_all(
    names: &[&str],
    deliveries: Vec<(String, String)>,
    table: &str,
    down: &Downstream,
    stagger: Duration,
) -> Vec<Answers> {
    let mut apis: BTreeMap<String, Vec<Arc<RuntimeApi>>> = BTreeMap::new();
    let mut children = Vec::new();
    for name in names {
        let binary = BINARIES
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| *b)
            .unwrap();
        for copy in 0..INSTANCES {
            let api = Arc::new(RuntimeApi::start().await.unwrap());
            children.push(spawn(
                binary,
                &format!("{name}-burst-{copy}"),
                &api,
                table,
                down,
            ));
            apis.entry((*name).to_owned()).or_default().push(api);
        }
    }
    let tasks: Vec<_> = deliveries
        .into_iter()
        .enumerate()
        .map(|(n, (name, event))| {
            let api = apis[&name][n % INSTANCES].clone();
            let start = stagger * u32::try_from(n).unwrap();
            tokio::spawn(async move {
                tokio::time::sleep(start).await;
                let mut answers = Vec::new();
                loop {
                    let outcome = api.invoke(&event, Duration::from_secs(60)).await.unwrap();
                    let answer = status_and_body(outcome);
                    let again = answer.0 == 409 && answers.len() < 200;
                    answers.push(answer);
                    if !again {
                        break answers;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.push(task.await.unwrap());
    }
    for child in &mut children {
        child.kill().await.unwrap();
    }
    all
}

/// Every delivery was answered 200 or 202 at once, or 409 until a 200.
fn assert_every_answer_is_200_202_or_409_then_200(all: &[Answers]) {
    for answers in all {
        let (last, rest) = answers.split_last().unwrap();
        assert!(
            rest.iter().all(|(status, _)| *status == 409),
            "only 409s before the last answer: {answers:?}"
        );
        assert!(
            matches!(last.0, 200 | 202) && (rest.is_empty() || last.0 == 200),
            "{answers:?}"
        );
    }
}

fn kinds(all: &[Answers]) -> BTreeMap<String, usize> {
    let mut kinds = BTreeMap::new();
    for answers in all {
        let (_, body) = answers.last().unwrap();
        *kinds
            .entry(body["status"].as_str().unwrap_or("?").to_owned())
            .or_insert(0) += 1;
    }
    kinds
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_deliveries_of_one_event_change_the_account_once_and_push_once() {
    let table = fresh_table().await;
    let down = downstream().await;
    let account = "acct_same_event";
    let id = AccountId::parse(account).unwrap();
    down.accounts.insert(AccountBilling::new(id.clone()));
    let now = OffsetDateTime::now_utc();
    let data = subscription(account, "active", 2, now + time::Duration::days(30));
    let body = json!({"type": "subscription.active", "timestamp": rfc3339(now), "data": data});
    let name = "webhook-subscription-updated";
    let deliveries = (0..100)
        .map(|n| {
            let event = delivery(name, "msg_same_event", &body.to_string(), n % 2 == 0);
            (name.to_owned(), event)
        })
        .collect();

    let all = deliver_all(&[name], deliveries, &table, &down, Duration::ZERO).await;

    assert_every_answer_is_200_202_or_409_then_200(&all);
    let kinds = kinds(&all);
    assert_eq!(kinds.get("processed"), Some(&1), "{kinds:?}");
    assert_eq!(kinds.get("duplicate"), Some(&99), "{kinds:?}");
    assert_eq!(down.accounts.audit_rows(&id).len(), 1, "one state change");
    let pushes: Vec<_> = down
        .orchestrator
        .pushes()
        .into_iter()
        .filter(|p| p.account_id == id)
        .collect();
    assert_eq!(pushes.len(), 1, "one push: {pushes:?}");
    assert!(pushes[0].entitled);
    let retried = all.iter().filter(|a| a.len() > 1).count();
    println!("100 deliveries of one event over {INSTANCES} processes: {kinds:?}; {retried} answered 409 first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_deliveries_of_ten_events_for_one_account_apply_each_snapshot_at_most_once() {
    let table = fresh_table().await;
    let down = downstream().await;
    let account = "acct_ten_events";
    let id = AccountId::parse(account).unwrap();
    down.accounts.insert(AccountBilling::new(id.clone()));
    let now = OffsetDateTime::now_utc();
    let end = |days: i64| now + time::Duration::days(days);
    // Ten snapshots of one subscription, minute 1 to 10: a trial, paid,
    // renewed, a failed renewal, recovered, renewed again, failed, recovered,
    // then revoked.
    let story = [
        (
            "webhook-subscription-created",
            "subscription.created",
            "trialing",
            end(7),
        ),
        (
            "webhook-subscription-updated",
            "subscription.active",
            "active",
            end(30),
        ),
        (
            "webhook-subscription-updated",
            "subscription.updated",
            "active",
            end(30),
        ),
        (
            "webhook-subscription-updated",
            "subscription.cycled",
            "active",
            end(60),
        ),
        (
            "webhook-payment-failed",
            "subscription.past_due",
            "past_due",
            end(60),
        ),
        (
            "webhook-subscription-updated",
            "subscription.active",
            "active",
            end(60),
        ),
        (
            "webhook-subscription-updated",
            "subscription.cycled",
            "active",
            end(90),
        ),
        (
            "webhook-payment-failed",
            "subscription.past_due",
            "past_due",
            end(90),
        ),
        (
            "webhook-subscription-updated",
            "subscription.active",
            "active",
            end(90),
        ),
        (
            "webhook-subscription-canceled",
            "subscription.revoked",
            "canceled",
            end(90),
        ),
    ];
    let mut deliveries = Vec::new();
    for (minute, (name, event_type, status, period_end)) in story.iter().enumerate() {
        let data = subscription(account, status, minute as i64 + 1, *period_end);
        let body = json!({"type": event_type, "timestamp": rfc3339(now), "data": data}).to_string();
        for copy in 0..10 {
            let event = delivery(name, &format!("msg_ten_{minute}"), &body, copy % 2 == 0);
            deliveries.push(((*name).to_owned(), event));
        }
    }
    // Interleaved as Polo's independent retries interleave them: each copy
    // starts within about three events of its own place in the story, 4 ms
    // after the one before, so up to dozens are in flight at once (all at
    // the same instant, the revocation's idle function wins at once and
    // nothing but stale snapshots follow).
    let mut rng = fastrand::Rng::with_seed(22);
    let mut keyed: Vec<_> = deliveries
        .into_iter()
        .enumerate()
        .map(|(n, d)| (n + rng.usize(0..30), d))
        .collect();
    keyed.sort_by_key(|(key, _)| *key);
    let deliveries: Vec<_> = keyed.into_iter().map(|(_, d)| d).collect();
    let names: BTreeSet<&str> = story.iter().map(|(name, ..)| *name).collect();
    let names: Vec<&str> = names.into_iter().collect();

    let all = deliver_all(&names, deliveries, &table, &down, Duration::from_millis(4)).await;

    assert_every_answer_is_200_202_or_409_then_200(&all);
    let kinds = kinds(&all);
    assert_eq!(
        kinds.get("duplicate"),
        Some(&90),
        "one first answer per event: {kinds:?}"
    );
    assert!(!kinds.contains_key("parked"), "{kinds:?}");
    // Each distinct snapshot changed the account at most once, newest last.
    let audit = down.accounts.audit_rows(&id);
    let events: BTreeSet<&str> = audit.iter().map(|row| row.event_id.as_str()).collect();
    assert_eq!(
        events.len(),
        audit.len(),
        "a snapshot applied twice: {audit:?}"
    );
    assert_eq!(
        audit.last().map(|row| row.event_id.as_str()),
        Some("msg_ten_9"),
        "the revocation, newest, is the last change"
    );
    let final_account = down.accounts.account(&id).unwrap();
    assert!(
        !final_account.desired_entitlement.entitled,
        "{final_account:?}"
    );
    // Each entitlement change was pushed once, in the order it happened.
    let pushes: Vec<_> = down
        .orchestrator
        .pushes()
        .into_iter()
        .filter(|p| p.account_id == id)
        .collect();
    let versions: BTreeSet<u64> = pushes.iter().map(|p| p.version).collect();
    assert_eq!(
        versions.len(),
        pushes.len(),
        "a version pushed twice: {pushes:?}"
    );
    // What the credentials depend on: nothing when not entitled, else the
    // tier and until when.
    let entitlement = |s: &billing::accounts::AuditSummary| {
        s.entitled.then_some((s.plan_tier, s.premium_expires_at))
    };
    let changed: BTreeSet<u64> = audit
        .iter()
        .filter(|row| entitlement(&row.before) != entitlement(&row.after))
        .map(|row| row.after.version)
        .collect();
    let pushed: BTreeSet<u64> = pushes.iter().map(|p| p.version).collect();
    assert!(
        changed.is_subset(&pushed),
        "every entitlement change is pushed: {pushes:?}\n{audit:?}"
    );
    // Any other push repeats the decision before it: a writer that raced
    // the acknowledgement of the push before (level-triggered provisioning:
    // "not yet acknowledged" means "send it") re-sends the same decision
    // under its own version. Never a different decision.
    let mut in_order = pushes.clone();
    in_order.sort_by_key(|p| p.version);
    let decision = |p: &billing::provisioning::ProvisioningRequest| {
        p.entitled.then_some((p.tier, p.expires_at))
    };
    let mut repeats = 0;
    for pair in in_order.windows(2) {
        if !changed.contains(&pair[1].version) {
            assert_eq!(
                decision(&pair[0]),
                decision(&pair[1]),
                "a push that is no entitlement change must repeat the one before: {in_order:?}"
            );
            repeats += 1;
        }
    }
    assert_eq!(
        pushes.len(),
        changed.len() + repeats,
        "{in_order:?}\n{audit:?}"
    );
    // Never told anything is "nothing": a story whose newest snapshot came
    // first never entitled the account at all.
    let held = down
        .orchestrator
        .decision(&id)
        .map(|d| Entitlement {
            entitled: d.entitled,
            tier: d.tier,
            expires_at: d.expires_at,
        })
        .unwrap_or(Entitlement::NONE);
    assert_eq!(held, final_account.desired_entitlement);
    let retried = all.iter().filter(|a| a.len() > 1).count();
    println!(
        "100 deliveries of 10 events over {} processes: {kinds:?}; {} state changes, {} entitlement changes, {} pushes ({repeats} repeats of an unacknowledged decision); {retried} answered 409 first",
        names.len() * INSTANCES,
        audit.len(),
        changed.len(),
        pushes.len()
    );
}
