//! The real compiled binaries, run as Lambda runs them: through the
//! Lambda Runtime API (the emulator in `tools`), with the shipped `events/`
//! (re-signed with a fresh timestamp), the idempotency table on the DynamoDB
//! emulator (moto), the account store behind the Convex stand-in, a
//! provisioning receiver, and Polo's subscription lookup behind a stand-in.

use billing::accounts::InMemoryAccountStore;
use billing::domain::{AccountBilling, AccountId};
use billing::polo::memory::InMemoryPolo;
use billing::provisioning::InMemoryProvisioner;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tools::convex_stub::ConvexStub;
use tools::local::{LOCAL_PRODUCTS, LOCAL_WEBHOOK_SECRET};
use tools::polo_stub::PoloStub;
use tools::provisioning_receiver::ProvisioningReceiver;
use tools::runtime_api::{Outcome, RuntimeApi};
use tools::sample::resign_event;

const BINARIES: [(&str, &str); 5] = [
    (
        "webhook-subscription-created",
        env!("CARGO_BIN_EXE_webhook-subscription-created"),
    ),
    (
        "webhook-subscription-updated",
        env!("CARGO_BIN_EXE_webhook-subscription-updated"),
    ),
    (
        "webhook-subscription-canceled",
        env!("CARGO_BIN_EXE_webhook-subscription-canceled"),
    ),
    (
        "webhook-payment-failed",
        env!("CARGO_BIN_EXE_webhook-payment-failed"),
    ),
    (
        "webhook-payment-succeeded",
        env!("CARGO_BIN_EXE_webhook-payment-succeeded"),
    ),
];

fn moto_endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").expect(
        "MOTO_ENDPOINT is not set: run the project's test command (scripts/test.sh), \
         which starts the DynamoDB/Secrets Manager emulator",
    )
}

async fn fresh_table() -> String {
    tools::moto::fresh_table(&moto_endpoint(), "smoke")
        .await
        .expect("the emulator creates a table")
}

const CONVEX_SECRET: &str = "whsec_c21va2UtY29udmV4LXNpZ25pbmctc2VjcmV0";
const PROVISIONING_SECRET: &str = "whsec_c21va2UtcHJvdmlzaW9uaW5nLXNpZ25pbmctc2VjcmV0";
const POLO_KEY: &str = "polo_test_api_key_never_logged_7f3a";

/// The services the binaries call, on loopback, with their in-memory state.
struct Downstream {
    accounts: Arc<InMemoryAccountStore>,
    orchestrator: Arc<InMemoryProvisioner>,
    convex_url: String,
    provisioning_url: String,
    polo_url: String,
    polo: Arc<InMemoryPolo>,
}

async fn downstream() -> Downstream {
    let accounts = Arc::new(InMemoryAccountStore::default());
    accounts.insert(AccountBilling::new(
        AccountId::parse("acct_local_1").unwrap(),
    ));
    let convex = Arc::new(ConvexStub::new(accounts.clone(), CONVEX_SECRET).unwrap());
    let orchestrator = Arc::new(InMemoryProvisioner::default());
    let receiver =
        Arc::new(ProvisioningReceiver::new(orchestrator.clone(), PROVISIONING_SECRET).unwrap());
    let polo = Arc::new(InMemoryPolo::default());
    let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    for s in tools::sample::subscriptions(&events).unwrap() {
        polo.put_subscription(s);
    }
    let polo_stub = Arc::new(PoloStub::new(polo.clone(), POLO_KEY));
    Downstream {
        accounts,
        orchestrator,
        convex_url: tools::serve_on_loopback(convex.router()).await.unwrap(),
        provisioning_url: format!(
            "{}/",
            tools::serve_on_loopback(receiver.router()).await.unwrap()
        ),
        polo_url: tools::serve_on_loopback(polo_stub.router()).await.unwrap(),
        polo,
    }
}

fn spawn(
    binary: &str,
    name: &str,
    api: &RuntimeApi,
    table: &str,
    down: &Downstream,
) -> tokio::process::Child {
    let (starter, pro, enterprise) = LOCAL_PRODUCTS;
    api.function(binary, name)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_ENDPOINT_URL_DYNAMODB", moto_endpoint())
        .env("STAGE", "local")
        .env("POLO_ENVIRONMENT", "sandbox")
        .env("IDEMPOTENCY_TABLE", table)
        .env(
            "POLO_WEBHOOK_SECRETS",
            format!(r#"["{LOCAL_WEBHOOK_SECRET}"]"#),
        )
        .env("CONVEX_SIGNING_SECRET", CONVEX_SECRET)
        .env("PROVISIONING_SIGNING_SECRET", PROVISIONING_SECRET)
        .env("POLO_API_KEY", POLO_KEY)
        .env("POLO_API_BASE_URL", &down.polo_url)
        .env("CONVEX_SITE_URL", &down.convex_url)
        .env("PROVISIONING_URL", &down.provisioning_url)
        .env("POLO_PLAN_ID_STARTER", starter)
        .env("POLO_PLAN_ID_PRO", pro)
        .env("POLO_PLAN_ID_ENTERPRISE", enterprise)
        .env("POLO_ALLOWED_HOSTS", "sandbox.polo.example")
        .env("APP_BASE_URL", "http://localhost:5173")
        .env("PAYPAL_CHECKOUT_URL", "https://www.paypal.com/checkoutnow")
        .env(
            "PAYPAL_MANAGE_URL",
            "https://www.paypal.com/myaccount/autopay",
        )
        .env("RUST_LOG", "debug")
        .stdout(log_file(name))
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the function binary starts")
}

/// The binary's stdout (its JSON logs and EMF lines) goes where the project's
/// test command scans every log line for secrets.
fn log_file(name: &str) -> Stdio {
    let dir = std::env::var("TEST_LOG_DIR")
        .unwrap_or_else(|_| std::env::temp_dir().display().to_string());
    let path = Path::new(&dir).join(format!("binary-{name}.jsonl"));
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map(Stdio::from)
        .unwrap_or_else(|_| Stdio::null())
}

fn status_and_body(outcome: Outcome) -> (u64, serde_json::Value) {
    let Outcome::Response(response) = outcome else {
        panic!("the function reported an error: {outcome:?}");
    };
    let status = response["statusCode"].as_u64().expect("a statusCode");
    let body =
        serde_json::from_str(response["body"].as_str().expect("a body")).expect("a JSON body");
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_webhook_binary_processes_its_shipped_event_then_answers_the_redelivery_as_a_duplicate(
) {
    let table = fresh_table().await;
    let down = downstream().await;
    let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    for (name, binary) in BINARIES {
        let api = RuntimeApi::start().await.unwrap();
        let mut child = spawn(binary, name, &api, &table, &down);
        let shipped = std::fs::read_to_string(events.join(format!("{name}.json"))).unwrap();
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
    let down = downstream().await;
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
    let created = down.polo.created_checkouts();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].account.as_str(), "acct_local_1");
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
    let api = RuntimeApi::start().await.unwrap();
    let mut child = api
        .function(env!("CARGO_BIN_EXE_provisioning-sync"), "provisioning-sync")
        .env("AWS_REGION", "us-east-1")
        .env("STAGE", "local")
        .env("CONVEX_SIGNING_SECRET", CONVEX_SECRET)
        .env("PROVISIONING_SIGNING_SECRET", PROVISIONING_SECRET)
        .env("CONVEX_SITE_URL", &down.convex_url)
        .env("PROVISIONING_URL", &down.provisioning_url)
        .env("RUST_LOG", "debug")
        .stdout(log_file("provisioning-sync"))
        .spawn()
        .unwrap();
    let event = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/provisioning-sync.json"),
    )
    .unwrap();

    let outcome = api.invoke(&event, Duration::from_secs(30)).await.unwrap();

    let Outcome::Response(report) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(report["mismatched"], 1);
    assert_eq!(report["acknowledged"], 1);
    let id = AccountId::parse("acct_local_1").unwrap();
    assert!(down.orchestrator.decision(&id).unwrap().entitled);
    assert!(!down.accounts.account(&id).unwrap().needs_push());
    child.kill().await.unwrap();
}
