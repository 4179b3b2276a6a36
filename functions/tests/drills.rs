//! Outage drills through the real binaries (issue 22 item 4), with the
//! dependency broken for real: DynamoDB behind a TCP switch (unreachable,
//! or answering nothing), and a process SIGKILLed while it waits on one
//! step of the pipeline — claim | read | write | push | complete — then the
//! delivery retried as Polo retries it. Each drill asserts convergence:
//! every event applied exactly once, nothing lost.

mod support;

use billing::domain::{AccountBilling, AccountId};
use billing::idempotency::{DynamoDbIdempotencyStore, IdempotencyStore, RecordKey, RecordStatus};
use serde_json::json;
use std::time::{Duration, Instant};
use support::polo_events::{delivery, rfc3339, subscription};
use support::*;
use time::OffsetDateTime;
use tools::fault_switch::{Fault, FaultSwitch};
use tools::runtime_api::{Outcome, RuntimeApi};
use tools::tcp_switch::{Link, TcpSwitch};

const BINARY: &str = env!("CARGO_BIN_EXE_webhook-subscription-updated");
const NAME: &str = "webhook-subscription-updated";

/// `subscription.active` for `account` (pro for a month), as one signed
/// delivery with id `id`.
fn activation(account: &str, id: &str) -> String {
    let now = OffsetDateTime::now_utc();
    let data = subscription(account, "active", 2, now + time::Duration::days(30));
    let body = json!({"type": "subscription.active", "timestamp": rfc3339(now), "data": data});
    delivery(NAME, id, &body.to_string(), false)
}

fn account(down: &Downstream, name: &str) -> AccountId {
    let id = AccountId::parse(name).unwrap();
    down.accounts.insert(AccountBilling::new(id.clone()));
    id
}

fn store(table: &str) -> DynamoDbIdempotencyStore {
    DynamoDbIdempotencyStore::new(
        tools::moto::dynamodb_client(&moto_endpoint()),
        table.to_owned(),
    )
}

async fn record(table: &str, id: &str) -> Option<RecordStatus> {
    store(table)
        .get(&RecordKey::for_delivery(id))
        .await
        .unwrap()
        .map(|r| r.status)
}

fn moto_address() -> std::net::SocketAddr {
    let endpoint = moto_endpoint();
    let host_port = endpoint.trim_start_matches("http://").trim_end_matches('/');
    host_port
        .parse()
        .expect("MOTO_ENDPOINT is http://<ip>:<port>")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_dynamodb_unreachable_every_delivery_is_answered_503_nothing_changes_and_all_apply_after(
) {
    // Arrange: the function reaches DynamoDB through a switch, then it goes.
    let table = fresh_table().await;
    let mut down = downstream().await;
    let dynamodb = TcpSwitch::start(moto_address()).await.unwrap();
    down.dynamodb_url = dynamodb.url();
    let api = RuntimeApi::start().await.unwrap();
    let mut child = spawn(BINARY, &format!("{NAME}-drill-ddb"), &api, &table, &down);
    let accounts: Vec<_> = (0..5)
        .map(|i| account(&down, &format!("acct_ddb_{i}")))
        .collect();
    let events: Vec<_> = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| activation(a.as_str(), &format!("msg_ddb_{i}")))
        .collect();
    dynamodb.set(Link::Refused);

    // Act: every delivery meets the outage, twice (Polo retries).
    let mut during = Vec::new();
    for _ in 0..2 {
        for event in &events {
            let started = Instant::now();
            let answer = status_and_body(api.invoke(event, Duration::from_secs(10)).await.unwrap());
            during.push((answer, started.elapsed()));
        }
    }
    let untouched = accounts
        .iter()
        .all(|a| down.accounts.audit_rows(a).is_empty() && down.orchestrator.decision(a).is_none());
    dynamodb.set(Link::Up);
    let mut after = Vec::new();
    for event in &events {
        after.push(status_and_body(
            api.invoke(event, Duration::from_secs(10)).await.unwrap(),
        ));
    }

    // Assert: 503 with nothing written, then each applied exactly once.
    for ((status, body), took) in &during {
        assert_eq!(*status, 503, "{body}");
        assert!(
            *took < Duration::from_secs(10),
            "answered before the deadline: {took:?}"
        );
    }
    assert!(
        untouched,
        "no account or credential changed during the outage"
    );
    for ((status, body), a) in after.iter().zip(&accounts) {
        assert_eq!(
            (*status, body["status"].as_str()),
            (200, Some("processed")),
            "{a}"
        );
        assert_eq!(down.accounts.audit_rows(a).len(), 1, "{a} written once");
        assert!(
            down.orchestrator.decision(a).unwrap().entitled,
            "{a} issued"
        );
    }
    for i in 0..5 {
        assert_eq!(
            record(&table, &format!("msg_ddb_{i}")).await,
            Some(RecordStatus::Completed)
        );
    }
    let slowest = during.iter().map(|(_, t)| *t).max().unwrap_or_default();
    println!("DynamoDB refused: 10 deliveries answered 503 (slowest {slowest:?}), then 5 applied once each");
    child.kill().await.unwrap();
}

/// Where a drill stops the process: the dependency call that hangs, so the
/// step before it is the last one that happened.
struct KillPoint {
    between: &'static str,
    hang: fn(&Downstream) -> (&FaultSwitch, Fault),
}

const KILL_POINTS: [KillPoint; 4] = [
    KillPoint {
        between: "claim | read",
        hang: |d| (&d.convex_fault, Fault::HangOn("accounts/get")),
    },
    KillPoint {
        between: "read | write",
        hang: |d| (&d.convex_fault, Fault::HangOn("accounts/compare-and-set")),
    },
    KillPoint {
        between: "write | push",
        hang: |d| (&d.orchestrator_fault, Fault::Hang),
    },
    KillPoint {
        between: "push | complete",
        hang: |d| {
            (
                &d.convex_fault,
                Fault::HangOn("accounts/acknowledge-provisioning"),
            )
        },
    },
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_between_any_two_steps_is_finished_exactly_once_by_the_retry() {
    let table = fresh_table().await;
    let down = downstream().await;
    let mut figures = Vec::new();
    for (n, point) in KILL_POINTS.iter().enumerate() {
        // Arrange: the process will stop at the hung call.
        let id = account(&down, &format!("acct_kill_{n}"));
        let webhook_id = format!("msg_kill_{n}");
        let event = activation(id.as_str(), &webhook_id);
        let (switch, fault) = (point.hang)(&down);
        let held_before = switch.hung();
        switch.set(fault);
        let api = std::sync::Arc::new(RuntimeApi::start().await.unwrap());
        let mut first = spawn(BINARY, &format!("{NAME}-drill-kill"), &api, &table, &down);
        let lease = Duration::from_secs(4);
        let invoking = {
            let (api, event) = (api.clone(), event.clone());
            tokio::spawn(async move { api.invoke(&event, lease).await })
        };
        let started = Instant::now();

        // Act: SIGKILL once it waits on the step; Polo retries after the
        // lease (the dead Lambda's deadline) with the same delivery.
        while switch.hung() == held_before {
            assert!(
                started.elapsed() < lease,
                "{}: never reached the step",
                point.between
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        first.kill().await.unwrap();
        invoking.abort();
        let status_when_killed = record(&table, &webhook_id).await;
        switch.set(Fault::Healthy);
        tokio::time::sleep(lease.saturating_sub(started.elapsed()) + Duration::from_millis(500))
            .await;
        let retry_api = RuntimeApi::start().await.unwrap();
        let mut second = spawn(
            BINARY,
            &format!("{NAME}-drill-retry"),
            &retry_api,
            &table,
            &down,
        );
        let outcome = retry_api
            .invoke(&event, Duration::from_secs(10))
            .await
            .unwrap();
        let Outcome::Response(_) = &outcome else {
            panic!("{}: the retry failed: {outcome:?}", point.between);
        };
        let retried = status_and_body(outcome);
        second.kill().await.unwrap();
        let sync = run_provisioning_sync(&down).await;

        // Assert: one state change, the credentials issued for it, and the
        // record completed.
        assert_eq!(
            status_when_killed,
            Some(RecordStatus::InProgress),
            "{}",
            point.between
        );
        assert_eq!(
            (retried.0, retried.1["status"].as_str()),
            (200, Some("processed")),
            "{}: {}",
            point.between,
            retried.1
        );
        let audit = down.accounts.audit_rows(&id);
        assert_eq!(
            audit.len(),
            1,
            "{}: applied exactly once: {audit:?}",
            point.between
        );
        let stored = down.accounts.account(&id).unwrap();
        let decision = down.orchestrator.decision(&id).expect("credentials issued");
        assert!(
            decision.entitled && decision.version == stored.version,
            "{}",
            point.between
        );
        assert!(!stored.needs_push(), "{}: acknowledged", point.between);
        let versions: std::collections::BTreeSet<u64> = down
            .orchestrator
            .pushes()
            .iter()
            .filter(|p| p.account_id == id)
            .map(|p| p.version)
            .collect();
        assert_eq!(versions.len(), 1, "{}: one decision pushed", point.between);
        assert_eq!(
            record(&table, &webhook_id).await,
            Some(RecordStatus::Completed)
        );
        figures.push(format!(
            "{}: retry {} {}, sync {sync}",
            point.between, retried.0, retried.1
        ));
    }
    println!("{}", figures.join("\n"));
}
