//! `admin reconcile`, `admin replay` and `admin inbox` as ops runs them:
//! the compiled binary against the local stack (the real webhook intakes on
//! DynamoDB — the moto emulator `scripts/test.sh` starts — the account
//! store behind the Convex stand-in and its fault switch, a provisioning
//! receiver) and its Polo sandbox, whose webhooks are held back (dropped),
//! sent to the wrong endpoint, or meet a Convex outage.

mod support;

use billing::accounts::InMemoryAccountStore;
use billing::domain::{AccountBilling, AccountId, BillingStatus, PlanTier};
use billing::provisioning::InMemoryProvisioner;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use support::cli::AdminEnv;
use tools::convex_stub::ConvexStub;
use tools::fault_switch::{Fault, FaultSwitch};
use tools::local::assemble::{start, Running};
use tools::local::options::LocalOptions;
use tools::local::{LOCAL_CONVEX_SECRET, LOCAL_PROVISIONING_SECRET};
use tools::provisioning_receiver::ProvisioningReceiver;
use tools::sandbox::dispatcher::RetrySchedule;
use tools::sandbox::{Sandbox, LOCAL_API_KEY};

/// `tools::serve_on_loopback`, as the URL the local options take.
async fn serve(router: axum::Router) -> url::Url {
    url::Url::parse(&tools::serve_on_loopback(router).await.unwrap()).unwrap()
}

struct Stack {
    _running: Running,
    sandbox: Arc<Sandbox>,
    accounts: Arc<InMemoryAccountStore>,
    orchestrator: Arc<InMemoryProvisioner>,
    /// In front of the Convex stand-in.
    convex: FaultSwitch,
    admin: AdminEnv,
    http: reqwest::Client,
}

/// The local stack on DynamoDB (a fresh table), Convex and an orchestrator
/// elsewhere, with `account` signed up and free.
async fn stack(account: &str) -> Stack {
    let moto = std::env::var("MOTO_ENDPOINT").expect(
        "MOTO_ENDPOINT is not set: run the project's test command (scripts/test.sh), \
         which starts the DynamoDB emulator",
    );
    let table = format!("ops-{account}-{}", std::process::id());
    let accounts = Arc::new(InMemoryAccountStore::default());
    accounts.insert(AccountBilling::new(AccountId::parse(account).unwrap()));
    let convex = Arc::new(ConvexStub::new(accounts.clone(), LOCAL_CONVEX_SECRET).unwrap());
    let orchestrator = Arc::new(InMemoryProvisioner::default());
    let receiver = Arc::new(
        ProvisioningReceiver::new(orchestrator.clone(), LOCAL_PROVISIONING_SECRET).unwrap(),
    );
    let mut options = LocalOptions::embedded();
    options.port = 0;
    options.sandbox_port = 0;
    options.webhook_retry = RetrySchedule {
        first: Duration::from_millis(50),
        cap: Duration::from_millis(200),
        max_attempts: 3,
    };
    options.dynamodb_endpoint = Some(url::Url::parse(&moto).unwrap());
    options.idempotency_table.clone_from(&table);
    let switch = FaultSwitch::default();
    let convex_url = serve(switch.wrap(convex.router())).await;
    let provisioning_url = serve(receiver.router()).await;
    options.convex_site_url = Some(convex_url.clone());
    options.provisioning_url = Some(provisioning_url.clone());
    let running = start(options).await.expect("the local stack starts");
    let sandbox = running
        .sandbox
        .clone()
        .expect("the sandbox runs in-process");
    Stack {
        admin: AdminEnv {
            polo_url: sandbox.public_url().to_owned(),
            convex_url: convex_url.to_string(),
            provisioning_url: provisioning_url.to_string(),
            dynamodb: Some((moto, table)),
        },
        _running: running,
        sandbox,
        accounts,
        orchestrator,
        convex: switch,
        http: reqwest::Client::new(),
    }
}

impl Stack {
    /// The customer buys `pro` (a checkout through Polo's API, paid on the
    /// sandbox's side); the events go wherever the dispatcher sends them.
    async fn buy_pro(&self, account: &str) {
        let checkout: Value = self
            .http
            .post(format!("{}/v1/checkouts/", self.sandbox.public_url()))
            .bearer_auth(LOCAL_API_KEY)
            .json(&json!({
                "products": [tools::local::LOCAL_PRODUCTS.1],
                "external_customer_id": account,
                "metadata": {"accountId": account},
                "success_url": "http://127.0.0.1:9/done?checkout_id={CHECKOUT_ID}",
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let secret = checkout["client_secret"].as_str().unwrap().to_owned();
        self.sandbox
            .transition(|state, now| state.pay(&secret, "buyer@example.com", now))
            .unwrap();
    }

    async fn settle(&self) {
        assert!(
            self.sandbox
                .dispatcher()
                .settle(Duration::from_secs(20))
                .await,
            "webhook deliveries settle"
        );
    }

    fn account(&self, account: &str) -> AccountBilling {
        self.accounts
            .account(&AccountId::parse(account).unwrap())
            .unwrap()
    }

    fn entitled(&self, account: &str) -> bool {
        self.orchestrator
            .decision(&AccountId::parse(account).unwrap())
            .is_some_and(|d| d.entitled)
    }

    fn event_id(&self, event_type: &str) -> String {
        self.sandbox
            .dispatcher()
            .events()
            .into_iter()
            .find(|e| e.event_type == event_type)
            .map(|e| e.id)
            .unwrap_or_else(|| panic!("the sandbox emitted {event_type}"))
    }

    /// Polo's (re)delivery of one past event, to `to` or its own endpoint.
    async fn deliver(&self, id: &str, to: Option<&str>) {
        let answer = self
            .http
            .post(format!(
                "{}/admin/events/deliver",
                self.sandbox.public_url()
            ))
            .json(&json!({"ids": [id], "to": to}))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        self.settle().await;
    }

    /// Every event's last delivery: its type and the status it got.
    fn last_answers(&self) -> Vec<(String, Option<u16>)> {
        self.sandbox
            .dispatcher()
            .events()
            .into_iter()
            .map(|e| (e.event_type, e.attempts.last().and_then(|a| a.status)))
            .collect()
    }

    /// Audit rows of the event's own change (the orchestrator's
    /// acknowledgement is a second row under the same event id).
    fn applied_by(&self, account: &str, event_id: &str, event_type: &str) -> usize {
        self.accounts
            .audit_rows(&AccountId::parse(account).unwrap())
            .iter()
            .filter(|row| row.event_id == event_id && row.event_type == event_type)
            .count()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_dropped_on_purpose_is_restored_by_admin_reconcile_with_its_entitlement() {
    // Arrange: every webhook of the purchase is held back — never sent.
    let account = "acct_dropped";
    let stack = stack(account).await;
    stack.sandbox.dispatcher().hold();
    stack.buy_pro(account).await;
    let before = stack.account(account);
    assert_eq!(before.plan_tier, PlanTier::Free, "no webhook arrived");
    assert!(!stack.entitled(account));

    // Act
    let (status, report) = stack.admin.run(&["reconcile", "--account", account]).await;

    // Assert: Polo's state applied, credentials issued.
    assert_eq!(status.code(), Some(0), "{report}");
    assert_eq!(report, json!({"accounts": 1, "changed": 1, "failed": []}));
    let restored = stack.account(account);
    assert_eq!(
        (restored.plan_tier, restored.billing_status),
        (PlanTier::Pro, BillingStatus::Active)
    );
    assert!(restored.desired_entitlement.entitled);
    assert!(!restored.needs_push(), "the orchestrator acknowledged");
    assert!(stack.entitled(account));
    // A second run and the late webhooks change nothing: nothing doubled.
    let (_, again) = stack.admin.run(&["reconcile", "--account", account]).await;
    assert_eq!(again["changed"], 0);
    stack.sandbox.dispatcher().release(false, false);
    stack.settle().await;
    let answers = stack.last_answers();
    assert!(answers.len() >= 3, "{answers:?}");
    assert!(
        answers.iter().all(|(_, status)| *status == Some(200)),
        "{answers:?}"
    );
    assert_eq!(stack.account(account), restored);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_misrouted_event_replayed_by_admin_after_the_fix_lands_exactly_once() {
    // Arrange: Polo sends `subscription.active` to the subscription-created
    // endpoint (a wrong registration): the intake parks it on DynamoDB.
    let account = "acct_misrouted";
    let stack = stack(account).await;
    stack.sandbox.dispatcher().hold();
    stack.buy_pro(account).await;
    let event = stack.event_id("subscription.active");
    stack.deliver(&event, Some("subscription-created")).await;
    assert_eq!(stack.account(account).plan_tier, PlanTier::Free);
    let (status, listed) = stack.admin.run(&["replay", "list"]).await;
    assert_eq!(status.code(), Some(0), "{listed}");
    let parked = listed["parked"].as_array().unwrap();
    assert_eq!(parked.len(), 1, "{listed}");
    assert_eq!(parked[0]["reason"], "misrouted");
    assert_eq!(parked[0]["account"], account);
    assert_eq!(parked[0]["eventType"], "subscription.active");
    let key = parked[0]["key"].as_str().unwrap().to_owned();

    // Act: after the fix, replay it — twice, as a nervous operator would.
    let (first_status, first) = stack.admin.run(&["replay", "run", &key]).await;
    let (_, second) = stack.admin.run(&["replay", "run", &key]).await;

    // Assert: applied once, issued, nothing parked; the second run and
    // Polo's own redelivery to the right endpoint change nothing.
    assert_eq!(first_status.code(), Some(0), "{first}");
    assert_eq!(first["replayed"][0]["outcome"], "replayed (Applied)");
    assert_eq!(second["replayed"][0]["outcome"], "not parked (COMPLETED)");
    let landed = stack.account(account);
    assert_eq!(
        (landed.plan_tier, landed.billing_status),
        (PlanTier::Pro, BillingStatus::Active)
    );
    assert!(stack.entitled(account));
    assert_eq!(
        stack.applied_by(account, &event, "subscription.active"),
        1,
        "applied exactly once"
    );
    let (_, listed) = stack.admin.run(&["replay", "list"]).await;
    assert_eq!(listed["parked"], json!([]));
    stack.deliver(&event, None).await;
    let answers = stack.last_answers();
    assert!(answers.contains(&("subscription.active".to_owned(), Some(200))));
    assert_eq!(stack.applied_by(account, &event, "subscription.active"), 1);
    assert_eq!(stack.account(account), landed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_stuck_in_the_inbox_by_a_convex_outage_are_listed_and_finished_by_admin_inbox_retry()
{
    // Arrange: Convex refuses every call (a rotated signing secret) while
    // the purchase's webhooks arrive: each is answered 202 and kept.
    let account = "acct_inbox";
    let stack = stack(account).await;
    stack.convex.set(Fault::Status(401, None));
    stack.buy_pro(account).await;
    stack.settle().await;
    let answers = stack.last_answers();
    assert!(
        answers.iter().all(|(_, status)| *status == Some(202)),
        "Polo saw no failure: {answers:?}"
    );
    let (status, listed) = stack.admin.run(&["inbox", "list"]).await;
    assert_eq!(status.code(), Some(0), "{listed}");
    let open = listed["open"].as_array().unwrap();
    assert_eq!(open.len(), answers.len(), "{listed}");
    assert!(open
        .iter()
        .all(|r| r["status"] == "PENDING" && r["attempts"] == 1));
    assert_eq!(stack.account(account).plan_tier, PlanTier::Free);

    // Act: the secret is fixed; the operator retries at once.
    stack.convex.set(Fault::Healthy);
    let (status, report) = stack.admin.run(&["inbox", "retry"]).await;

    // Assert: every event applied once, credentials issued, inbox empty.
    assert_eq!(status.code(), Some(0), "{report}");
    assert_eq!(report["applied"], answers.len(), "{report}");
    let landed = stack.account(account);
    assert_eq!(
        (landed.plan_tier, landed.billing_status),
        (PlanTier::Pro, BillingStatus::Active)
    );
    assert!(stack.entitled(account));
    let (_, listed) = stack.admin.run(&["inbox", "list"]).await;
    assert_eq!(listed["open"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_event_discarded_by_admin_is_resolved_without_being_applied() {
    let account = "acct_discard";
    let stack = stack(account).await;
    stack.sandbox.dispatcher().hold();
    stack.buy_pro(account).await;
    let event = stack.event_id("subscription.active");
    stack.deliver(&event, Some("subscription-created")).await;
    let (_, listed) = stack.admin.run(&["replay", "list"]).await;
    let key = listed["parked"][0]["key"].as_str().unwrap().to_owned();

    let empty = stack
        .admin
        .command(&["replay", "discard", &key, "--reason", "  "])
        .output()
        .await
        .unwrap();
    let (status, discarded) = stack
        .admin
        .run(&[
            "replay",
            "discard",
            &key,
            "--reason",
            "sent to the wrong stage",
        ])
        .await;

    assert_eq!(empty.status.code(), Some(1), "a reason is required");
    assert!(String::from_utf8_lossy(&empty.stderr).contains("--reason: must not be empty"));
    assert_eq!(status.code(), Some(0), "{discarded}");
    assert_eq!(discarded["discarded"], true, "{discarded}");
    let (_, listed) = stack.admin.run(&["replay", "list"]).await;
    assert_eq!(listed["parked"], json!([]));
    assert_eq!(stack.applied_by(account, &event, "subscription.active"), 0);
    assert_eq!(stack.account(account).plan_tier, PlanTier::Free);
    let (_, replayed) = stack.admin.run(&["replay", "run", &key]).await;
    assert_eq!(replayed["replayed"][0]["outcome"], "not parked (COMPLETED)");
}
