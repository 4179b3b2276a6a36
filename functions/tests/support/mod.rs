//! What the binary tests share: the real compiled binaries run as Lambda
//! runs them (through the Lambda Runtime API emulator in `tools`), the
//! idempotency table on the DynamoDB emulator (moto), the account store
//! behind the Convex stand-in, a provisioning receiver, and the Polo
//! sandbox holding the subscriptions a test puts there.

#![allow(dead_code)]

pub mod polo_events;

use billing::accounts::InMemoryAccountStore;
use billing::domain::{AccountBilling, AccountId};
use billing::provisioning::InMemoryProvisioner;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tools::convex_stub::ConvexStub;
use tools::fault_switch::FaultSwitch;
use tools::local::{LOCAL_PRODUCTS, LOCAL_WEBHOOK_SECRET};
use tools::provisioning_receiver::ProvisioningReceiver;
use tools::runtime_api::{Outcome, RuntimeApi};
use tools::sandbox::launch::{on_loopback, SandboxOptions};
use tools::sandbox::Sandbox;

pub const BINARIES: [(&str, &str); 5] = [
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

pub fn moto_endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").expect(
        "MOTO_ENDPOINT is not set: run the project's test command (scripts/test.sh), \
         which starts the DynamoDB/Secrets Manager emulator",
    )
}

pub async fn fresh_table() -> String {
    tools::moto::fresh_table(&moto_endpoint(), "smoke")
        .await
        .expect("the emulator creates a table")
}

pub const CONVEX_SECRET: &str = "whsec_c21va2UtY29udmV4LXNpZ25pbmctc2VjcmV0";
pub const PROVISIONING_SECRET: &str = "whsec_c21va2UtcHJvdmlzaW9uaW5nLXNpZ25pbmctc2VjcmV0";
pub const POLO_KEY: &str = "polo_test_api_key_never_logged_7f3a";

/// The services the binaries call, on loopback, with their in-memory state.
pub struct Downstream {
    /// In front of the Convex stand-in and the orchestrator: healthy unless
    /// a drill sets a fault.
    pub convex_fault: FaultSwitch,
    pub orchestrator_fault: FaultSwitch,
    /// Where the binaries reach DynamoDB (moto, or a drill's TcpSwitch).
    pub dynamodb_url: String,
    pub accounts: Arc<InMemoryAccountStore>,
    pub orchestrator: Arc<InMemoryProvisioner>,
    pub convex_url: String,
    pub provisioning_url: String,
    pub polo_url: String,
    pub polo: Arc<Sandbox>,
}

impl Downstream {
    /// Polo holds `subscription` (Polo's JSON) from now on: what its API
    /// answers for that id and that customer.
    pub fn put_subscription(&self, subscription: &serde_json::Value) {
        self.polo
            .import_subscription(subscription)
            .expect("the sandbox takes the subscription");
    }

    /// The account (`external_customer_id`) of each checkout created at Polo.
    pub fn polo_checkouts(&self) -> Vec<Option<String>> {
        self.polo.with_state(|state, _| {
            state
                .checkouts
                .values()
                .map(|c| c.external_customer_id.clone())
                .collect()
        })
    }
}

pub async fn downstream() -> Downstream {
    downstream_with(true).await
}

/// `sample_subscriptions`: Polo holds the subscriptions of the shipped
/// `events/` (acct_local_1's story: active, cancel scheduled); without
/// them the account has never subscribed, so its checkout goes ahead.
pub async fn downstream_with(sample_subscriptions: bool) -> Downstream {
    let accounts = Arc::new(InMemoryAccountStore::default());
    accounts.insert(AccountBilling::new(
        AccountId::parse("acct_local_1").unwrap(),
    ));
    let convex = Arc::new(ConvexStub::new(accounts.clone(), CONVEX_SECRET).unwrap());
    let orchestrator = Arc::new(InMemoryProvisioner::default());
    let receiver =
        Arc::new(ProvisioningReceiver::new(orchestrator.clone(), PROVISIONING_SECRET).unwrap());
    let mut options = SandboxOptions::local(None);
    options.api_key = billing::secrets::SecretString::new(POLO_KEY);
    // Polo answers with what the test put there, however long it runs.
    options.periods_end_by_themselves = false;
    let polo = on_loopback(options).await.unwrap();
    let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    if sample_subscriptions {
        for s in tools::sample::subscriptions(&events).unwrap() {
            polo.import_subscription(&serde_json::to_value(&s).unwrap())
                .unwrap();
        }
    }
    let convex_fault = FaultSwitch::default();
    let orchestrator_fault = FaultSwitch::default();
    Downstream {
        dynamodb_url: moto_endpoint(),
        accounts,
        orchestrator,
        convex_url: tools::serve_on_loopback(convex_fault.wrap(convex.router()))
            .await
            .unwrap(),
        provisioning_url: format!(
            "{}/",
            tools::serve_on_loopback(orchestrator_fault.wrap(receiver.router()))
                .await
                .unwrap()
        ),
        polo_url: polo.public_url().to_owned(),
        polo,
        convex_fault,
        orchestrator_fault,
    }
}

pub fn spawn(
    binary: impl AsRef<std::ffi::OsStr>,
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
        .env("AWS_ENDPOINT_URL_DYNAMODB", &down.dynamodb_url)
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
        // The sandbox's hosted pages are on loopback http (STAGE=local).
        .env("POLO_ALLOWED_HOSTS", "127.0.0.1")
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
pub fn log_file(name: &str) -> Stdio {
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

pub fn status_and_body(outcome: Outcome) -> (u64, serde_json::Value) {
    let Outcome::Response(response) = outcome else {
        panic!("the function reported an error: {outcome:?}");
    };
    let status = response["statusCode"].as_u64().expect("a statusCode");
    let body =
        serde_json::from_str(response["body"].as_str().expect("a body")).expect("a JSON body");
    (status, body)
}

/// Runs the `provisioning-sync` binary once on its shipped scheduled event,
/// against `down`; its report.
pub async fn run_provisioning_sync(down: &Downstream) -> serde_json::Value {
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
    child.kill().await.unwrap();
    let Outcome::Response(report) = outcome else {
        panic!("provisioning-sync failed: {outcome:?}")
    };
    report
}
