//! What the burst's binaries call, on loopback: the Convex stand-in over
//! the in-memory account store (every burst account exists, with no
//! billing), counted at the door so compare-and-set conflicts and reads are
//! known; the provisioning receiver; the Polo sandbox holding each
//! account's subscription as it ends (an `order.paid` function asks Polo
//! for it); and the environment a webhook binary gets in Lambda.

use super::story::Burst;
use crate::convex_stub::ConvexStub;
use crate::local::{LOCAL_PRODUCTS, LOCAL_WEBHOOK_SECRET};
use crate::provisioning_receiver::ProvisioningReceiver;
use crate::sandbox::launch::{on_loopback, SandboxOptions};
use crate::sandbox::{Sandbox, LOCAL_API_KEY};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use billing::accounts::InMemoryAccountStore;
use billing::domain::{AccountBilling, AccountId};
use billing::provisioning::InMemoryProvisioner;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Burst-only signing secrets between the binaries and the stand-ins.
const CONVEX_SECRET: &str = "whsec_YnVyc3QtY29udmV4LXNpZ25pbmctc2VjcmV0";
const PROVISIONING_SECRET: &str = "whsec_YnVyc3QtcHJvdmlzaW9uaW5nLXNlY3JldA==";

/// What the Convex stand-in answered, counted at its door.
#[derive(Debug, Default)]
pub struct ConvexCounts {
    pub reads: AtomicU64,
    pub writes: AtomicU64,
    /// Compare-and-set refused: the account's version had moved on.
    pub conflicts: AtomicU64,
    pub acknowledgements: AtomicU64,
}

pub struct World {
    pub accounts: Arc<InMemoryAccountStore>,
    pub orchestrator: Arc<InMemoryProvisioner>,
    pub convex_counts: Arc<ConvexCounts>,
    pub sandbox: Arc<Sandbox>,
    /// The webhook binaries' environment (Lambda's configuration).
    pub env: Vec<(String, String)>,
}

impl World {
    /// The stand-ins for `burst`, the binaries reaching DynamoDB at
    /// `dynamodb` and using the idempotency table `table`.
    pub async fn start(burst: &Burst, dynamodb: &str, table: &str) -> Result<Self, String> {
        let accounts = Arc::new(InMemoryAccountStore::default());
        for name in &burst.accounts {
            accounts.insert(AccountBilling::new(
                AccountId::parse(name).map_err(|e| e.to_string())?,
            ));
        }
        let counts = Arc::new(ConvexCounts::default());
        let convex = Arc::new(ConvexStub::new(accounts.clone(), CONVEX_SECRET)?);
        let counting = counts.clone();
        let router = convex.router().layer(axum::middleware::from_fn(
            move |req: Request, next: Next| {
                let counts = counting.clone();
                count(counts, req, next)
            },
        ));
        let convex_url = crate::serve_on_loopback(router)
            .await
            .map_err(|e| e.to_string())?;
        let orchestrator = Arc::new(InMemoryProvisioner::default());
        let receiver = Arc::new(ProvisioningReceiver::new(
            orchestrator.clone(),
            PROVISIONING_SECRET,
        )?);
        let provisioning_url = crate::serve_on_loopback(receiver.router())
            .await
            .map_err(|e| e.to_string())?;
        let sandbox = on_loopback(SandboxOptions::local(None)).await?;
        for last in &burst.finals {
            sandbox
                .import_subscription(last)
                .map_err(|e| e.to_string())?;
        }
        let (starter, pro, enterprise) = LOCAL_PRODUCTS;
        let env = [
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
            ("AWS_ENDPOINT_URL_DYNAMODB", dynamodb.to_owned()),
            ("STAGE", "local".to_owned()),
            ("POLO_ENVIRONMENT", "sandbox".to_owned()),
            ("IDEMPOTENCY_TABLE", table.to_owned()),
            (
                "POLO_WEBHOOK_SECRETS",
                format!(r#"["{LOCAL_WEBHOOK_SECRET}"]"#),
            ),
            ("CONVEX_SIGNING_SECRET", CONVEX_SECRET.to_owned()),
            (
                "PROVISIONING_SIGNING_SECRET",
                PROVISIONING_SECRET.to_owned(),
            ),
            ("POLO_API_KEY", LOCAL_API_KEY.to_owned()),
            ("POLO_API_BASE_URL", sandbox.public_url().to_owned()),
            ("CONVEX_SITE_URL", convex_url),
            ("PROVISIONING_URL", format!("{provisioning_url}/")),
            ("POLO_PLAN_ID_STARTER", starter.to_owned()),
            ("POLO_PLAN_ID_PRO", pro.to_owned()),
            ("POLO_PLAN_ID_ENTERPRISE", enterprise.to_owned()),
            ("POLO_ALLOWED_HOSTS", "sandbox.polo.example".to_owned()),
            // info: the updater's "re-reading" lines are how re-reads are counted.
            ("RUST_LOG", "info".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        Ok(Self {
            accounts,
            orchestrator,
            convex_counts: counts,
            sandbox,
            env,
        })
    }

    /// The subscription Polo's API returns for account `name` now (what an
    /// `order.paid` function applies).
    pub fn polo_subscription_json(&self, name: &str) -> Option<Value> {
        let id = format!("sub_{name}");
        self.sandbox.with_state(|state, _| {
            state
                .subscriptions
                .get(&id)
                .map(|s| state.subscription_json(s))
        })
    }
}

async fn count(counts: Arc<ConvexCounts>, req: Request, next: Next) -> Response {
    let call = req.uri().path().rsplit('/').next().unwrap_or("").to_owned();
    let response = next.run(req).await;
    let counter = match (call.as_str(), response.status().as_u16()) {
        ("get", _) => &counts.reads,
        ("compare-and-set", 409) => &counts.conflicts,
        ("compare-and-set", _) => &counts.writes,
        ("acknowledge-provisioning", _) => &counts.acknowledgements,
        _ => return response,
    };
    counter.fetch_add(1, Ordering::Relaxed);
    response
}
