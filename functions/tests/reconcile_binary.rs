//! The hourly `reconcile` binary, run as Lambda runs it (through the Lambda
//! Runtime API with its shipped EventBridge event), against the Polo
//! sandbox, the account store behind the Convex stand-in and a
//! provisioning receiver: the safety net that ends access on time when the
//! revoke webhook never came.

use billing::accounts::InMemoryAccountStore;
use billing::domain::{
    AccountBilling, AccountId, BillingStatus, Entitlement, KnownSubscription, PlanTier, ProductId,
    ProvisionedEntitlement, SubscriptionId,
};
use billing::provisioning::{InMemoryProvisioner, Provisioner, ProvisioningRequest};
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tools::convex_stub::ConvexStub;
use tools::local::{LOCAL_CONVEX_SECRET, LOCAL_PRODUCTS, LOCAL_PROVISIONING_SECRET};
use tools::provisioning_receiver::ProvisioningReceiver;
use tools::runtime_api::{Outcome, RuntimeApi};
use tools::sandbox::launch::{on_loopback, SandboxOptions};
use tools::sandbox::LOCAL_API_KEY;

/// A pro subscriber whose period ended `days_ago` days ago (negative: in
/// the future), entitled until then plus the default 24 h grace, with the
/// orchestrator holding that entitlement.
fn pro_subscriber(id: &str, days_ago: i64, now: OffsetDateTime) -> AccountBilling {
    let period_end = now - time::Duration::days(days_ago);
    let until = period_end + time::Duration::hours(24);
    let mut account = AccountBilling::new(AccountId::parse(id).unwrap());
    let subscription = SubscriptionId::parse(&format!("sub_{id}")).unwrap();
    account.plan_tier = PlanTier::Pro;
    account.billing_status = BillingStatus::Active;
    account.premium_expires_at = Some(period_end);
    account.renews_at = Some(period_end);
    account.subscriptions.push(KnownSubscription {
        id: subscription.clone(),
        product_id: ProductId::parse(LOCAL_PRODUCTS.1).unwrap(),
        tier: PlanTier::Pro,
        status: BillingStatus::Active,
        watermark: period_end - time::Duration::days(30),
        started_at: Some(period_end - time::Duration::days(30)),
        current_period_end: Some(period_end),
        trial_end: None,
        cancel_at_period_end: false,
        entitled_until: Some(until),
    });
    account.current_subscription_id = Some(subscription);
    account.desired_entitlement = Entitlement {
        entitled: true,
        tier: PlanTier::Pro,
        expires_at: Some(until),
    };
    account.version = 1;
    account.provisioned_entitlement = Some(ProvisionedEntitlement {
        entitlement: account.desired_entitlement,
        version: 1,
    });
    account
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduled_reconcile_binary_ends_an_expired_accounts_access_with_no_webhook() {
    // Arrange: one subscriber's period ended three days ago and no renewal
    // or revoke webhook ever came; another's runs for 20 more days. Polo
    // (the sandbox) holds no live subscription for either.
    let now = OffsetDateTime::now_utc();
    let expired = pro_subscriber("acct_lapsed", 3, now);
    let current = pro_subscriber("acct_current", -20, now);
    let accounts = Arc::new(InMemoryAccountStore::default());
    let orchestrator = Arc::new(InMemoryProvisioner::default());
    for account in [&expired, &current] {
        accounts.insert(account.clone());
        let issued = ProvisioningRequest::for_account(account, "seed", "seed");
        orchestrator.push(&issued, now).await.unwrap();
    }
    let convex = Arc::new(ConvexStub::new(accounts.clone(), LOCAL_CONVEX_SECRET).unwrap());
    let receiver = Arc::new(
        ProvisioningReceiver::new(orchestrator.clone(), LOCAL_PROVISIONING_SECRET).unwrap(),
    );
    let sandbox = on_loopback(SandboxOptions::local(None)).await.unwrap();
    let api = RuntimeApi::start().await.unwrap();
    let (starter, pro, enterprise) = LOCAL_PRODUCTS;
    let mut child = api
        .function(env!("CARGO_BIN_EXE_reconcile"), "reconcile")
        .env("AWS_REGION", "us-east-1")
        .env("STAGE", "local")
        .env("POLO_ENVIRONMENT", "sandbox")
        .env("POLO_API_BASE_URL", sandbox.public_url())
        .env("POLO_API_KEY", LOCAL_API_KEY)
        .env("POLO_PLAN_ID_STARTER", starter)
        .env("POLO_PLAN_ID_PRO", pro)
        .env("POLO_PLAN_ID_ENTERPRISE", enterprise)
        .env(
            "CONVEX_SITE_URL",
            tools::serve_on_loopback(convex.router()).await.unwrap(),
        )
        .env("CONVEX_SIGNING_SECRET", LOCAL_CONVEX_SECRET)
        .env(
            "PROVISIONING_URL",
            format!(
                "{}/",
                tools::serve_on_loopback(receiver.router()).await.unwrap()
            ),
        )
        .env("PROVISIONING_SIGNING_SECRET", LOCAL_PROVISIONING_SECRET)
        .env("RUST_LOG", "info")
        .stdout(log_file())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let event = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/reconcile.json"),
    )
    .unwrap();

    // Act: the hourly run.
    let outcome = api.invoke(&event, Duration::from_secs(30)).await.unwrap();

    // Assert: only the lapsed account was taken, and its access ended.
    let Outcome::Response(report) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        report,
        serde_json::json!({"accounts": 1, "changed": 1, "failed": 0, "backlog": false})
    );
    let lapsed = accounts.account(&expired.account_id).unwrap();
    assert!(!lapsed.desired_entitlement.entitled);
    assert!(!lapsed.needs_push(), "the revoke was acknowledged");
    let decision = orchestrator.decision(&expired.account_id).unwrap();
    assert!(!decision.entitled, "credentials revoked");
    assert_eq!(accounts.account(&current.account_id).unwrap(), current);
    assert!(orchestrator.decision(&current.account_id).unwrap().entitled);
    child.kill().await.unwrap();
}

/// The binary's stdout (its JSON logs and EMF lines) goes where the
/// project's test command scans every log line for secrets.
fn log_file() -> Stdio {
    let dir = std::env::var("TEST_LOG_DIR")
        .unwrap_or_else(|_| std::env::temp_dir().display().to_string());
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(Path::new(&dir).join("binary-reconcile.jsonl"))
        .map(Stdio::from)
        .unwrap_or_else(|_| Stdio::null())
}
