//! The world the scale harness runs a job in: the Convex stand-in over the
//! in-memory account store, the Polo sandbox (with a steady rate limit),
//! the provisioning orchestrator stand-in, each behind a request counter,
//! and DynamoDB on moto behind a counting forwarder; plus the environment a
//! function or the admin CLI reads its configuration from.

use super::counting::{counted, dynamodb_forwarder, Counter};
use crate::convex_stub::ConvexStub;
use crate::local::{LOCAL_CONVEX_SECRET, LOCAL_PRODUCTS, LOCAL_PROVISIONING_SECRET};
use crate::provisioning_receiver::ProvisioningReceiver;
use crate::sandbox::clock::SandboxClock;
use crate::sandbox::dispatcher::{DeliveryConfig, RetrySchedule};
use crate::sandbox::{products, Sandbox, SandboxConfig, LOCAL_API_KEY};
use billing::accounts::InMemoryAccountStore;
use billing::provisioning::InMemoryProvisioner;
use billing::secrets::SecretString;
use std::sync::Arc;
use std::time::Duration;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How the world is set up.
#[derive(Debug, Clone)]
pub struct Options {
    /// Polo's requests-per-second limit (429 + `Retry-After` beyond it).
    pub polo_rps: Option<u32>,
    /// Added to every orchestrator push: a slower orchestrator (the CI
    /// test uses it to make a short invocation run out of time).
    pub push_latency: Duration,
    /// moto's endpoint, for the jobs that use DynamoDB.
    pub moto: Option<String>,
}

pub struct World {
    pub accounts: Arc<InMemoryAccountStore>,
    pub sandbox: Arc<Sandbox>,
    pub orchestrator: Arc<InMemoryProvisioner>,
    pub counter: Arc<Counter>,
    convex_url: String,
    provisioning_url: String,
    /// The counting forwarder's endpoint and a fresh idempotency table.
    pub dynamodb: Option<(String, String)>,
}

impl World {
    pub async fn start(options: &Options) -> Result<Self, BoxError> {
        let counter = Arc::new(Counter::default());
        let accounts = Arc::new(InMemoryAccountStore::default());
        let convex = Arc::new(ConvexStub::new(accounts.clone(), LOCAL_CONVEX_SECRET)?);
        let convex_url = crate::serve_on_loopback(counted(
            convex.router(),
            counter.clone(),
            "convex",
            Duration::ZERO,
        ))
        .await?;
        let orchestrator = Arc::new(InMemoryProvisioner::default());
        let receiver = Arc::new(ProvisioningReceiver::new(
            orchestrator.clone(),
            LOCAL_PROVISIONING_SECRET,
        )?);
        let provisioning_url = format!(
            "{}/",
            crate::serve_on_loopback(counted(
                receiver.router(),
                counter.clone(),
                "orchestrator",
                options.push_latency,
            ))
            .await?
        );
        let sandbox = sandbox(counter.clone()).await?;
        sandbox.rate_limit().set(options.polo_rps);
        let dynamodb = match &options.moto {
            Some(moto) => Some((
                dynamodb_forwarder(moto, counter.clone())
                    .await
                    .map_err(|e| e.to_string())?,
                crate::moto::fresh_table(moto, "scale").await?,
            )),
            None => None,
        };
        Ok(Self {
            accounts,
            sandbox,
            orchestrator,
            counter,
            convex_url,
            provisioning_url,
            dynamodb,
        })
    }

    /// The configuration every function and the admin CLI read (the local
    /// stage: secrets as plain values, plain http to loopback).
    pub fn env(&self) -> Vec<(String, String)> {
        let (starter, pro, enterprise) = LOCAL_PRODUCTS;
        let mut env: Vec<(String, String)> = [
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("STAGE", "local"),
            ("POLO_ENVIRONMENT", "sandbox"),
            ("POLO_API_BASE_URL", self.sandbox.public_url()),
            ("POLO_API_KEY", LOCAL_API_KEY),
            ("POLO_PLAN_ID_STARTER", starter),
            ("POLO_PLAN_ID_PRO", pro),
            ("POLO_PLAN_ID_ENTERPRISE", enterprise),
            ("CONVEX_SITE_URL", &self.convex_url),
            ("CONVEX_SIGNING_SECRET", LOCAL_CONVEX_SECRET),
            ("PROVISIONING_URL", &self.provisioning_url),
            ("PROVISIONING_SIGNING_SECRET", LOCAL_PROVISIONING_SECRET),
            (
                "POLO_WEBHOOK_SECRETS",
                &format!(r#"["{}"]"#, crate::local::LOCAL_WEBHOOK_SECRET),
            ),
            ("RUST_LOG", "info"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        if let Some((endpoint, table)) = &self.dynamodb {
            env.push(("AWS_ENDPOINT_URL_DYNAMODB".into(), endpoint.clone()));
            env.push(("IDEMPOTENCY_TABLE".into(), table.clone()));
        }
        env
    }
}

/// The Polo sandbox on loopback, its every request counted (`launch` serves
/// the router itself; the counter has to wrap it first).
async fn sandbox(counter: Arc<Counter>) -> Result<Arc<Sandbox>, BoxError> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let address = listener.local_addr()?;
    let config = SandboxConfig {
        api_key: SecretString::new(LOCAL_API_KEY),
        public_url: url::Url::parse(&format!("http://{address}"))?,
        products: products::load(&products::default_path())?,
        delivery: DeliveryConfig {
            target: None,
            secret: SecretString::new(crate::local::LOCAL_WEBHOOK_SECRET),
            retry: RetrySchedule::default(),
            timeout: Duration::from_secs(10),
        },
        hang: Duration::from_secs(30),
    };
    let sandbox = Sandbox::new(config, Arc::new(SandboxClock::new()))?;
    let router = counted(sandbox.router(), counter, "polo", Duration::ZERO);
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, router).await {
            eprintln!("polo sandbox stopped: {err}");
        }
    });
    Ok(sandbox)
}
