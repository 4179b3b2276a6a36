//! The twelve deployed functions as measured and smoke-tested subjects: the
//! world they run in (the idempotency table on moto, accounts behind the
//! Convex stand-in, a provisioning receiver, the Polo sandbox), each
//! function's environment, the realistic event it gets and the check its
//! answer must pass. The cold-start harness (`coldstart all`) times them;
//! `functions/tests/every_function.rs` runs the same subjects once each on
//! the debug binaries, so the events the benchmark times are events the
//! test command proves answered correctly.

mod events;

pub use events::{Kind, Subject};

use crate::convex_stub::ConvexStub;
use crate::local::{
    LOCAL_CONVEX_SECRET, LOCAL_PRODUCTS, LOCAL_PROVISIONING_SECRET, LOCAL_WEBHOOK_SECRET,
};
use crate::provisioning_receiver::ProvisioningReceiver;
use crate::sandbox::launch::{on_loopback, SandboxOptions};
use crate::sandbox::{Sandbox, LOCAL_API_KEY};
use billing::accounts::InMemoryAccountStore;
use billing::domain::{AccountBilling, AccountId, Decision, Policy};
use billing::polo::catalogue::Catalogue;
use billing::provisioning::InMemoryProvisioner;
use std::sync::Arc;

/// The webhooks' shipped story (`events/`) is this account's.
pub const STORY_ACCOUNT: &str = "acct_local_1";
/// Never subscribed: its checkout goes ahead.
pub const FREE_ACCOUNT: &str = "acct_cold_free";
/// A pro subscriber at the Polo sandbox, recorded in the account store:
/// its portal link, status and plan changes answer 200.
pub const SUBSCRIBED_ACCOUNT: &str = "acct_cold_paid";

/// The functions' downstream services, on loopback, with their state.
pub struct World {
    pub accounts: Arc<InMemoryAccountStore>,
    pub orchestrator: Arc<InMemoryProvisioner>,
    pub sandbox: Arc<Sandbox>,
    pub table: String,
    pub dynamodb_url: String,
    pub convex_url: String,
    pub provisioning_url: String,
    /// The body of the `order.paid` the sandbox sent for the subscribed
    /// account's payment: webhook-payment-succeeded confirms an order
    /// against Polo's API, so its delivery must be of an order Polo has.
    pub paid_order: Vec<u8>,
}

impl World {
    /// A fresh world: a new table on `moto`, reached at `dynamodb_url` (moto
    /// itself, or a forwarder in front of it), the three accounts, and the
    /// subscribed one's pro subscription bought at the sandbox.
    pub async fn start(moto: &str, dynamodb_url: String) -> Result<Self, String> {
        let table = crate::moto::fresh_table(moto, "subjects").await?;
        let accounts = Arc::new(InMemoryAccountStore::default());
        for id in [STORY_ACCOUNT, FREE_ACCOUNT] {
            accounts.insert(AccountBilling::new(parse(id)?));
        }
        let convex = Arc::new(ConvexStub::new(accounts.clone(), LOCAL_CONVEX_SECRET)?);
        let orchestrator = Arc::new(InMemoryProvisioner::default());
        let receiver = Arc::new(ProvisioningReceiver::new(
            orchestrator.clone(),
            LOCAL_PROVISIONING_SECRET,
        )?);
        // Webhooks the sandbox emits are only recorded: the subjects'
        // events are the ones the functions are measured on.
        let sandbox = on_loopback(SandboxOptions::local(None)).await?;
        let mut world = Self {
            accounts,
            orchestrator,
            table,
            dynamodb_url,
            convex_url: crate::serve_on_loopback(convex.router())
                .await
                .map_err(|e| e.to_string())?,
            provisioning_url: format!(
                "{}/",
                crate::serve_on_loopback(receiver.router())
                    .await
                    .map_err(|e| e.to_string())?
            ),
            sandbox,
            paid_order: Vec::new(),
        };
        world.paid_order = world.subscribe(SUBSCRIBED_ACCOUNT).await?;
        Ok(world)
    }

    /// Buys pro for `account` at the sandbox (a checkout through Polo's API,
    /// paid on the sandbox's side) and records the subscription in the
    /// account store as `apply()` would have from its webhook. Returns the
    /// body of the `order.paid` Polo sent for it.
    async fn subscribe(&self, account: &str) -> Result<Vec<u8>, String> {
        let request = serde_json::json!({
            "products": [LOCAL_PRODUCTS.1],
            "external_customer_id": account,
            "metadata": {"accountId": account},
            "success_url": "http://127.0.0.1:9/done?checkout_id={CHECKOUT_ID}",
        });
        let answer = reqwest::Client::new()
            .post(format!("{}/v1/checkouts/", self.sandbox.public_url()))
            .bearer_auth(LOCAL_API_KEY)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(request.to_string())
            .send()
            .await
            .map_err(|e| format!("sandbox checkout: {e}"))?
            .bytes()
            .await
            .map_err(|e| format!("sandbox checkout: {e}"))?;
        let checkout: serde_json::Value =
            serde_json::from_slice(&answer).map_err(|e| format!("sandbox checkout: {e}"))?;
        let secret = checkout["client_secret"]
            .as_str()
            .ok_or(format!(
                "sandbox checkout without a client_secret: {checkout}"
            ))?
            .to_owned();
        self.sandbox
            .transition(|state, now| state.pay(&secret, "cold@example.com", now))
            .map_err(|e| format!("sandbox pay: {e:?}"))?;
        let wire = self
            .sandbox
            .with_state(|state, _| {
                state
                    .subscriptions
                    .values()
                    .find(|s| s.metadata.get("accountId").and_then(|v| v.as_str()) == Some(account))
                    .map(|s| state.subscription_json(s))
            })
            .ok_or("the sandbox holds no subscription after the payment")?;
        let wire: billing::polo::PoloSubscription =
            serde_json::from_value(wire).map_err(|e| format!("sandbox subscription: {e}"))?;
        let snapshot = wire
            .snapshot(&catalogue()?)
            .map_err(|e| format!("sandbox subscription: {e}"))?;
        let now = time::OffsetDateTime::now_utc();
        let fresh = AccountBilling::new(parse(account)?);
        let Decision::Apply(applied) =
            billing::domain::lifecycle::apply(&fresh, &snapshot, now, &Policy::default())
        else {
            return Err("the sandbox's subscription changed nothing".to_owned());
        };
        self.accounts.insert(applied.next);
        self.sandbox
            .dispatcher()
            .events()
            .into_iter()
            .find(|e| {
                e.event_type == "order.paid" && e.subscription_id.as_deref() == Some(wire.id())
            })
            .map(|e| e.body.to_vec())
            .ok_or("the sandbox sent no order.paid for the payment".to_owned())
    }

    /// The environment every function shares (`STAGE=local`, secrets from
    /// the environment); [`Subject::env`] adds each one's own.
    pub fn base_env(&self) -> Vec<(String, String)> {
        let (starter, pro, enterprise) = LOCAL_PRODUCTS;
        [
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("STAGE", "local"),
            ("POLO_ENVIRONMENT", "sandbox"),
            ("CONVEX_SIGNING_SECRET", LOCAL_CONVEX_SECRET),
            ("PROVISIONING_SIGNING_SECRET", LOCAL_PROVISIONING_SECRET),
            ("CONVEX_SITE_URL", &self.convex_url),
            ("PROVISIONING_URL", &self.provisioning_url),
            ("POLO_PLAN_ID_STARTER", starter),
            ("POLO_PLAN_ID_PRO", pro),
            ("POLO_PLAN_ID_ENTERPRISE", enterprise),
            ("RUST_LOG", "info"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// What a webhook function (and webhook-retry) adds: the table and
    /// Polo's webhook secret.
    fn webhook_env(&self) -> Vec<(String, String)> {
        vec![
            (
                "AWS_ENDPOINT_URL_DYNAMODB".to_owned(),
                self.dynamodb_url.clone(),
            ),
            ("IDEMPOTENCY_TABLE".to_owned(), self.table.clone()),
            (
                "POLO_WEBHOOK_SECRETS".to_owned(),
                format!(r#"["{LOCAL_WEBHOOK_SECRET}"]"#),
            ),
        ]
    }

    /// What a function calling Polo's API adds: the sandbox and its key.
    fn polo_env(&self) -> Vec<(String, String)> {
        vec![
            (
                "POLO_API_BASE_URL".to_owned(),
                self.sandbox.public_url().to_owned(),
            ),
            ("POLO_API_KEY".to_owned(), LOCAL_API_KEY.to_owned()),
        ]
    }

    /// What a dashboard function adds beside Polo's API: the URLs it may
    /// hand a browser and the legacy PayPal links.
    fn dashboard_env(&self) -> Vec<(String, String)> {
        let host = self
            .sandbox
            .public_url()
            .trim_start_matches("http://")
            .split(':')
            .next()
            .unwrap_or("127.0.0.1")
            .to_owned();
        [
            ("POLO_ALLOWED_HOSTS", host.as_str()),
            ("APP_BASE_URL", "http://localhost:5173"),
            ("PAYPAL_CHECKOUT_URL", "https://www.paypal.com/checkoutnow"),
            (
                "PAYPAL_MANAGE_URL",
                "https://www.paypal.com/myaccount/autopay",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }
}

fn parse(id: &str) -> Result<AccountId, String> {
    AccountId::parse(id).map_err(|e| format!("{id}: {e}"))
}

fn catalogue() -> Result<Catalogue, String> {
    let (starter, pro, enterprise) = LOCAL_PRODUCTS;
    Catalogue::from_lists(starter, pro, enterprise).map_err(|e| format!("{e:?}"))
}
