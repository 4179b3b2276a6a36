//! The local server with a real adapter swapped in per port: the
//! idempotency store on DynamoDB (the moto emulator `scripts/test.sh`
//! starts), the account store behind Convex's signed HTTP actions (the
//! Convex stand-in), and pushes to an orchestrator elsewhere.

mod support;

use billing::accounts::InMemoryAccountStore;
use billing::domain::{AccountBilling, AccountId};
use billing::provisioning::InMemoryProvisioner;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tools::convex_stub::ConvexStub;
use tools::local::assemble::start;
use tools::local::options::LocalOptions;
use tools::local::{LOCAL_CONVEX_SECRET, LOCAL_PROVISIONING_SECRET};
use tools::provisioning_receiver::ProvisioningReceiver;

async fn serve(router: axum::Router) -> url::Url {
    url::Url::parse(&tools::serve_on_loopback(router).await.unwrap()).unwrap()
}

fn options() -> LocalOptions {
    let mut options = LocalOptions::embedded();
    options.port = 0;
    options.sandbox_port = 0;
    options
}

fn local_of(running: tools::local::assemble::Running) -> support::Local {
    support::Local {
        app: running.app_url.clone(),
        sandbox: running.sandbox.as_ref().unwrap().public_url().to_owned(),
        running: Some(running),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pointed_at_dynamodb_the_local_server_keeps_webhook_claims_there() {
    support::capture_logs();
    let endpoint = std::env::var("MOTO_ENDPOINT").expect(
        "MOTO_ENDPOINT is not set: run the project's test command (scripts/test.sh), which starts the DynamoDB emulator",
    );
    let table = format!("local-idem-{}", uuid::Uuid::new_v4().simple());
    let mut options = options();
    options.dynamodb_endpoint = Some(url::Url::parse(&endpoint).unwrap());
    options.idempotency_table = table.clone();
    let running = start(options)
        .await
        .expect("the local stack starts on DynamoDB");
    assert!(running
        .adapters
        .iter()
        .any(|(port, a)| *port == "idempotency" && a.contains("DynamoDB")));
    let local = local_of(running);
    let token = local.token("acct_dynamo").await;
    local.buy(&token, "pro").await;
    let status = local.status(&token).await;
    assert_eq!(
        (status["planTier"].clone(), status["billingStatus"].clone()),
        (json!("pro"), json!("active"))
    );

    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .load()
        .await;
    let items = aws_sdk_dynamodb::Client::new(&config)
        .scan()
        .table_name(&table)
        .send()
        .await
        .expect("the table was created and holds the claims")
        .items
        .unwrap_or_default();
    assert_eq!(
        items.len(),
        3,
        "created, active, order.paid: one record each"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pointed_at_convex_and_an_orchestrator_the_local_server_writes_and_pushes_there() {
    support::capture_logs();
    let accounts = Arc::new(InMemoryAccountStore::default());
    accounts.insert(AccountBilling::new(
        AccountId::parse("acct_convex").unwrap(),
    ));
    let convex = Arc::new(ConvexStub::new(accounts.clone(), LOCAL_CONVEX_SECRET).unwrap());
    let orchestrator = Arc::new(InMemoryProvisioner::default());
    let receiver = Arc::new(
        ProvisioningReceiver::new(orchestrator.clone(), LOCAL_PROVISIONING_SECRET).unwrap(),
    );
    let mut options = options();
    options.convex_site_url = Some(serve(convex.router()).await);
    options.provisioning_url = Some(serve(receiver.router()).await);
    let local = local_of(
        start(options)
            .await
            .expect("the local stack starts on Convex"),
    );
    let token = local.token("acct_convex").await;
    local.buy(&token, "pro").await;
    let id = AccountId::parse("acct_convex").unwrap();
    for _ in 0..50 {
        if orchestrator.decision(&id).is_some_and(|d| d.entitled) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stored = accounts.account(&id).expect("the account lives in Convex");
    assert_eq!(stored.billing_status.as_str(), "active");
    assert!(
        orchestrator.decision(&id).is_some_and(|d| d.entitled),
        "pushed to the orchestrator given"
    );
    assert!(
        local.dev_state().await["accounts"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "nothing in memory"
    );
}
