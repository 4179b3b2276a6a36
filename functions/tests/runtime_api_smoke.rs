//! The real compiled binaries, run as Lambda runs them: through the
//! Lambda Runtime API (the emulator in `tools`), with the shipped `events/`
//! (re-signed with a fresh timestamp), the idempotency table on the DynamoDB
//! emulator (moto), the account store behind the Convex stand-in, a
//! provisioning receiver, and Polo's subscription lookup behind a stand-in.

mod support;

use billing::domain::{AccountBilling, AccountId};
use std::path::Path;
use std::time::Duration;
use support::*;
use tools::local::LOCAL_WEBHOOK_SECRET;
use tools::runtime_api::RuntimeApi;
use tools::sample::resign_event;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_webhook_binary_processes_its_shipped_event_then_answers_the_redelivery_as_a_duplicate(
) {
    let table = fresh_table().await;
    let down = downstream().await;
    let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    for (name, binary) in BINARIES {
        let api = RuntimeApi::start().await.unwrap();
        let mut child = spawn(binary, name, &api, &table, &down);
        // Its dates moved as Polo's copy of the story was (tools::sample).
        let shipped = tools::sample::shipped_event(&events, name).unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let event = resign_event(
            &shipped,
            &format!("msg_smoke_{name}"),
            LOCAL_WEBHOOK_SECRET,
            now,
        )
        .unwrap();

        let first = status_and_body(api.invoke(&event, Duration::from_secs(20)).await.unwrap());
        let again = status_and_body(api.invoke(&event, Duration::from_secs(20)).await.unwrap());
        let forged =
            resign_event(&shipped, "msg_forged", "whsec_Zm9yZ2VkLXNlY3JldA==", now).unwrap();
        let refused = status_and_body(api.invoke(&forged, Duration::from_secs(20)).await.unwrap());

        assert_eq!(
            first,
            (200, serde_json::json!({"status": "processed"})),
            "{name}"
        );
        assert_eq!(
            again,
            (200, serde_json::json!({"status": "duplicate"})),
            "{name}"
        );
        assert_eq!(refused.0, 401, "{name}");
        child.kill().await.unwrap();
    }
    // The shipped story: trial, active, cancel scheduled, a failed payment,
    // then the payment recovered — active until the period end, no renewal.
    let account = down
        .accounts
        .account(&AccountId::parse("acct_local_1").unwrap())
        .unwrap();
    assert_eq!(
        account.billing_status,
        billing::domain::BillingStatus::Active
    );
    assert!(account.cancel_at_period_end);
    let decision = down
        .orchestrator
        .decision(&account.account_id)
        .expect("the orchestrator was told");
    assert!(decision.entitled);
    assert!(!account.needs_push(), "every push acknowledged");
}

const DASHBOARD: [(&str, &str, u64, Option<&str>); 4] = [
    ("checkout", env!("CARGO_BIN_EXE_checkout"), 200, None),
    (
        "portal",
        env!("CARGO_BIN_EXE_portal"),
        409,
        Some("no_subscription"),
    ),
    ("status", env!("CARGO_BIN_EXE_status"), 200, None),
    (
        "change-plan",
        env!("CARGO_BIN_EXE_change-plan"),
        409,
        Some("no_subscription"),
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_binary_answers_its_shipped_event_and_refuses_one_without_claims() {
    let table = fresh_table().await;
    // A never-subscribed account: Polo holds none of the sample story.
    let down = downstream_with(false).await;
    let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    for (name, binary, status, code) in DASHBOARD {
        let api = RuntimeApi::start().await.unwrap();
        let mut child = spawn(binary, name, &api, &table, &down);
        let shipped = std::fs::read_to_string(events.join(format!("{name}.json"))).unwrap();
        let mut anonymous: serde_json::Value = serde_json::from_str(&shipped).unwrap();
        anonymous["requestContext"]
            .as_object_mut()
            .unwrap()
            .remove("authorizer");

        let answer = status_and_body(api.invoke(&shipped, Duration::from_secs(20)).await.unwrap());
        let refused = status_and_body(
            api.invoke(&anonymous.to_string(), Duration::from_secs(20))
                .await
                .unwrap(),
        );

        assert_eq!(answer.0, status, "{name}: {}", answer.1);
        assert_eq!(answer.1["code"].as_str(), code, "{name}");
        assert_eq!(refused.0, 401, "{name}");
        assert_eq!(refused.1["code"], "unauthenticated", "{name}");
        child.kill().await.unwrap();
    }
    // The shipped checkout created one Polo checkout for the claim's account.
    let created = down.polo_checkouts();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].as_deref(), Some("acct_local_1"));
}

#[tokio::test]
async fn a_binary_missing_its_configuration_refuses_to_start_naming_every_variable() {
    let api = RuntimeApi::start().await.unwrap();
    let output = api
        .function(BINARIES[0].1, BINARIES[0].0)
        .env("POLO_ENVIRONMENT", "staging-ish")
        .output()
        .await
        .unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    for problem in [
        "STAGE is missing",
        "POLO_ENVIRONMENT must be one of sandbox, production",
        "IDEMPOTENCY_TABLE is missing",
        "POLO_WEBHOOK_SECRET_ARN is missing",
    ] {
        assert!(stderr.contains(problem), "{problem} not in: {stderr}");
    }
    assert!(api.first_poll().is_none(), "it never asked for work");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_sync_pushes_an_unacknowledged_account_on_its_scheduled_event() {
    let down = downstream().await;
    let mut account = AccountBilling::new(AccountId::parse("acct_local_1").unwrap());
    account.desired_entitlement = billing::domain::Entitlement {
        entitled: true,
        tier: billing::domain::PlanTier::Pro,
        expires_at: Some(time::OffsetDateTime::now_utc() + time::Duration::days(30)),
    };
    account.version = 3;
    down.accounts.insert(account);
    let report = run_provisioning_sync(&down).await;

    assert_eq!(report["mismatched"], 1);
    assert_eq!(report["acknowledged"], 1);
    let id = AccountId::parse("acct_local_1").unwrap();
    assert!(down.orchestrator.decision(&id).unwrap().entitled);
    assert!(!down.accounts.account(&id).unwrap().needs_push());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_retry_finishes_a_pending_and_a_crashed_delivery_on_its_scheduled_event() {
    use billing::idempotency::{
        BodyHash, ClaimOutcome, Delivery, DynamoDbIdempotencyStore, IdempotencyStore, RecordKey,
        RecordStatus,
    };
    let table = fresh_table().await;
    let down = downstream().await;
    let store =
        DynamoDbIdempotencyStore::new(tools::moto::dynamodb_client(&moto_endpoint()), &table);
    let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let now = time::OffsetDateTime::now_utc();
    let earlier = now - time::Duration::minutes(5);
    // One delivery a Convex fault left PENDING (due now), one whose Lambda
    // was killed mid-handling (its lease has ended): both hold their payload.
    for (slug, id, crashed) in [
        ("subscription-created", "msg_retry_pending", false),
        ("subscription-updated", "msg_retry_crashed", true),
    ] {
        let sample = tools::sample::load(
            &events,
            slug,
            id,
            LOCAL_WEBHOOK_SECRET,
            now.unix_timestamp(),
        )
        .unwrap();
        let delivery = Delivery {
            key: RecordKey::for_delivery(id),
            body_hash: BodyHash::of(&sample.body),
            endpoint: format!("webhook-{slug}"),
            webhook_id: id.to_owned(),
            verification: "v1 secret#0".to_owned(),
            event_type: None,
            account_id: Some("acct_local_1".to_owned()),
            received_at: earlier,
        };
        let lease = earlier + time::Duration::seconds(9);
        let ClaimOutcome::Claimed(claim) = store
            .claim(&delivery, &sample.body, lease, earlier)
            .await
            .unwrap()
        else {
            panic!("a fresh table grants the claim");
        };
        if !crashed {
            store
                .defer(
                    &claim,
                    "account store unavailable",
                    now - time::Duration::seconds(1),
                )
                .await
                .unwrap();
        }
    }
    let api = RuntimeApi::start().await.unwrap();
    let mut child = spawn(
        env!("CARGO_BIN_EXE_webhook-retry"),
        "webhook-retry",
        &api,
        &table,
        &down,
    );
    let event = std::fs::read_to_string(events.join("webhook-retry.json")).unwrap();

    let outcome = api.invoke(&event, Duration::from_secs(30)).await.unwrap();
    child.kill().await.unwrap();

    let tools::runtime_api::Outcome::Response(report) = outcome else {
        panic!("webhook-retry failed: {outcome:?}");
    };
    assert_eq!(report["applied"], 2, "{report}");
    assert_eq!(report["open"], 2, "{report}");
    for id in ["msg_retry_pending", "msg_retry_crashed"] {
        let record = store
            .get(&RecordKey::for_delivery(id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(record.status, RecordStatus::Completed, "{id}");
        assert_eq!(
            record.payload, None,
            "{id}: an applied event keeps no payload"
        );
    }
    let id = AccountId::parse("acct_local_1").unwrap();
    let account = down.accounts.account(&id).unwrap();
    assert!(account.version > 0, "the events were applied");
    assert!(down.orchestrator.decision(&id).unwrap().entitled);
}

/// The deployed binaries other than the five webhooks (`support::BINARIES`).
const OTHERS: [(&str, &str); 7] = [
    ("checkout", env!("CARGO_BIN_EXE_checkout")),
    ("portal", env!("CARGO_BIN_EXE_portal")),
    ("status", env!("CARGO_BIN_EXE_status")),
    ("change-plan", env!("CARGO_BIN_EXE_change-plan")),
    ("provisioning-sync", env!("CARGO_BIN_EXE_provisioning-sync")),
    ("reconcile", env!("CARGO_BIN_EXE_reconcile")),
    ("webhook-retry", env!("CARGO_BIN_EXE_webhook-retry")),
];

/// The cold-start harness (`scripts/coldstart.sh all`) times these very
/// subjects; here each binary gets its cold event and one warm event (for
/// change-plan: up to enterprise, then back to pro) and every answer must be
/// the right one, so the table never times a function that fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_of_the_twelve_binaries_answers_the_events_the_cold_start_harness_times_it_on() {
    use tools::subjects::{Subject, World, SUBSCRIBED_ACCOUNT};
    let world = World::start(&moto_endpoint(), moto_endpoint())
        .await
        .unwrap();
    let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let subjects = Subject::all(&world, &events).unwrap();
    let mut answered = Vec::new();
    for subject in &subjects {
        let (_, binary) = BINARIES
            .iter()
            .chain(OTHERS.iter())
            .find(|(name, _)| *name == subject.name)
            .unwrap_or_else(|| panic!("{} is not a binary", subject.name));
        let api = RuntimeApi::start().await.unwrap();
        let mut child = api
            .function(binary, subject.name)
            .envs(subject.env().iter().cloned())
            .stdout(log_file(subject.name))
            .spawn()
            .unwrap();
        for _cold_then_warm in 0..2 {
            let event = subject.event().unwrap();
            let outcome = api.invoke(&event, subject.timeout()).await.unwrap();
            subject.check(&outcome).unwrap();
            answered.push(subject.name);
        }
        child.kill().await.unwrap();
    }

    assert_eq!(answered.len(), 24, "{answered:?}");
    // The subscribed account went up to enterprise and back at Polo, and
    // the dashboard recorded both changes.
    let account = world
        .accounts
        .account(&AccountId::parse(SUBSCRIBED_ACCOUNT).unwrap())
        .unwrap();
    assert_eq!(account.plan_tier, billing::domain::PlanTier::Pro);
    assert!(account.desired_entitlement.entitled);
    assert!(
        account.version >= 3,
        "two plan changes applied: {account:?}"
    );
}
