//! What a function builds once at cold start: its configuration, the AWS
//! and Convex adapters filled into [`Ports`], and from them one small
//! builder per kind of function. Handlers then borrow it for every
//! invocation.

use crate::accounts::ConvexAccountStore;
use crate::clock::{Clock, SystemClock};
use crate::config::{
    ConfigError, DashboardConfig, Function, ReconcileConfig, SecretsLocation, Stage, SyncConfig,
    WebhookConfig,
};
use crate::dashboard::{Dashboard, Route, Settings, UrlPolicy, POLO_BUDGET};
use crate::domain::Policy;
use crate::http::{RetryPolicy, SecureHttp};
use crate::idempotency::{DynamoDbIdempotencyStore, IdempotencyStore};
use crate::paypal::{Canceller, PaypalClient};
use crate::polo::catalogue::Catalogue;
use crate::polo::client::PoloClient;
use crate::polo::ports::BillingApi;
use crate::polo::routing::Endpoint;
use crate::ports::{MissingPort, Ports};
use crate::provisioning::HttpProvisioner;
use crate::reconcile::Reconciler;
use crate::secrets::{
    CachedSecretSource, EnvSecretSource, SecretError, SecretId, SecretSource, SecretsManagerSource,
    SigningSecret,
};
use crate::telemetry::{error_chain, EmfStdout, MetricSink};
use crate::updater::AccountUpdater;
use crate::webhook::{Intake, Sweeper, WebhookKeys};
use std::sync::Arc;

/// Why a function refused to start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("a secret needed at start-up is unavailable or malformed")]
    Secret(#[from] SecretError),
    #[error("the HTTP client could not be built")]
    Http(#[from] crate::http::HttpInitError),
    #[error(transparent)]
    AwsTls(#[from] crate::aws::AwsTlsError),
    #[error(transparent)]
    MissingPort(#[from] MissingPort),
}

/// The secret source a configuration asks for, cached in memory.
fn secret_source(
    location: &SecretsLocation,
    aws: &aws_config::SdkConfig,
    clock: Arc<dyn Clock>,
) -> Arc<CachedSecretSource> {
    let source: Arc<dyn SecretSource> = match location {
        SecretsLocation::SecretsManager(arns) => Arc::new(SecretsManagerSource::new(
            aws_sdk_secretsmanager::Client::new(aws),
            arns.clone(),
        )),
        SecretsLocation::Environment => Arc::new(EnvSecretSource::from_lookup(|name| {
            std::env::var(name).ok()
        })),
    };
    Arc::new(CachedSecretSource::new(source, clock))
}

/// The ports every function fills the same way: the Convex account store and
/// the signed provisioning push. Both signing secrets are read at each call
/// through `secrets`' cache, so a rotation reaches warm containers
/// (docs/RUNBOOK.md §4).
struct Common<'a> {
    http: &'a SecureHttp,
    convex_site_url: &'a url::Url,
    provisioning_url: &'a url::Url,
    secrets: &'a Arc<CachedSecretSource>,
    metrics: Arc<dyn MetricSink>,
    catalogue: Catalogue,
    policy: Policy,
}

impl Common<'_> {
    fn ports(self) -> Ports {
        Ports {
            accounts: Arc::new(ConvexAccountStore::new(
                self.http.clone(),
                self.convex_site_url.clone(),
                SigningSecret::cached(self.secrets.clone(), SecretId::ConvexSigning),
            )),
            provisioner: Arc::new(HttpProvisioner::new(
                self.http.clone(),
                self.provisioning_url.clone(),
                SigningSecret::cached(self.secrets.clone(), SecretId::ProvisioningSigning),
            )),
            polo: None,
            paypal: None,
            idempotency: None,
            clock: Arc::new(SystemClock),
            metrics: self.metrics,
            catalogue: Arc::new(self.catalogue),
            policy: self.policy,
        }
    }
}

/// Reads each of `ids` once during init so the first request finds them
/// cached. A failure is not fatal: each call reads again, and a webhook
/// meeting it is kept in the inbox (a dashboard call answers 502).
async fn warm(secrets: &Arc<CachedSecretSource>, ids: &[SecretId]) {
    // Concurrently: each is a Secrets Manager round trip on the cold start.
    let mut reads = tokio::task::JoinSet::new();
    for &id in ids {
        let secrets = secrets.clone();
        reads.spawn(async move { (id, secrets.fetch(id).await) });
    }
    while let Some(joined) = reads.join_next().await {
        if let Ok((id, Err(err))) = joined {
            tracing::warn!(secret = %id, error = %error_chain(&err), "secret not readable at init");
        }
    }
}

/// A webhook function's or the retry sweep's ports, and its secrets.
/// `function`: a webhook endpoint, or the retry sweep (which handles every
/// type, `order.paid` included, so it reads Polo's API).
async fn webhook_ports(
    function: Function,
) -> Result<(Ports, Arc<CachedSecretSource>), StartupError> {
    let config = WebhookConfig::from_env(function)?;
    let aws = crate::aws::sdk_config().await?;
    let secrets = secret_source(&config.secrets, &aws, Arc::new(SystemClock));
    warm(&secrets, function.secrets()).await;
    let http = SecureHttp::new(config.stage == Stage::Local, RetryPolicy::default())?;
    let mut ports = Common {
        http: &http,
        convex_site_url: &config.convex_site_url,
        provisioning_url: &config.provisioning_url,
        secrets: &secrets,
        metrics: Arc::new(EmfStdout),
        catalogue: config.catalogue,
        policy: Policy {
            renewal_grace: config.renewal_grace,
            past_due_grace: config.past_due_grace,
        },
    }
    .ports();
    ports.polo = config.polo_api_base_url.map(|base| {
        Arc::new(PoloClient::new(http.clone(), base, secrets.clone())) as Arc<dyn BillingApi>
    });
    ports.idempotency = Some(Arc::new(DynamoDbIdempotencyStore::new(
        aws_sdk_dynamodb::Client::new(&aws),
        config.idempotency_table,
    )));
    Ok((ports, secrets))
}

/// Builds a webhook function's intake from the process environment.
pub async fn webhook_intake(endpoint: Endpoint) -> Result<Intake, StartupError> {
    let (ports, secrets) = webhook_ports(Function::Webhook(endpoint)).await?;
    // Read during init (webhook_ports); a failure is not fatal: each
    // request reads it again and answers 503 until it works.
    let keys = Arc::new(WebhookKeys::new(secrets));
    let handler = ports.lifecycle_handler(&ports.updater());
    Ok(ports.intake(
        endpoint,
        keys,
        handler,
        ports.clock.clone(),
        crate::webhook::DEFAULT_LEASE,
    )?)
}

/// Builds `webhook-retry`, the inbox's sweep, from the process environment.
pub async fn webhook_retry() -> Result<Sweeper, StartupError> {
    let (ports, _) = webhook_ports(Function::WebhookRetry).await?;
    let handler = ports.lifecycle_handler(&ports.updater());
    Ok(ports.sweeper(handler)?)
}

/// What `provisioning-sync` holds between runs.
pub struct SyncApp {
    pub updater: Arc<AccountUpdater>,
    /// Sends queued PayPal cancellations (`None`: PayPal not configured).
    pub paypal: Option<Arc<dyn Canceller>>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn MetricSink>,
    /// Where the next run starts (kept while the function stays warm).
    pub position: crate::handlers::provisioning_sync::SyncPosition,
}

/// Builds `provisioning-sync` from the process environment.
pub async fn provisioning_sync() -> Result<SyncApp, StartupError> {
    let config = SyncConfig::from_env()?;
    let aws = crate::aws::sdk_config().await?;
    let secrets = secret_source(&config.secrets, &aws, Arc::new(SystemClock));
    warm(
        &secrets,
        &[SecretId::ConvexSigning, SecretId::ProvisioningSigning],
    )
    .await;
    let http = SecureHttp::new(config.stage == Stage::Local, RetryPolicy::default())?;
    let mut ports = Common {
        http: &http,
        convex_site_url: &config.convex_site_url,
        provisioning_url: &config.provisioning_url,
        secrets: &secrets,
        metrics: Arc::new(EmfStdout),
        // provisioning-sync never applies a snapshot: no catalogue, and
        // grace periods are unused.
        catalogue: Catalogue::empty(),
        policy: Policy::default(),
    }
    .ports();
    // Read at each token exchange through the cache (and again when PayPal
    // refuses them): a failure leaves the cancellations queued, retried each
    // run, and their age alarms after a day.
    ports.paypal = config.paypal_api_base_url.map(|base| {
        Arc::new(PaypalClient::from_secret(
            http.clone(),
            base,
            secrets.clone(),
        )) as Arc<dyn Canceller>
    });
    if ports.paypal.is_some() {
        warm(&secrets, &[SecretId::Paypal]).await;
    }
    Ok(SyncApp {
        updater: ports.updater(),
        paypal: ports.paypal,
        clock: ports.clock,
        metrics: ports.metrics,
        position: Default::default(),
    })
}

/// Builds the dashboard functions' shared state from the process
/// environment (the four binaries differ in the route they serve and the
/// secrets they read).
pub async fn dashboard(route: Route) -> Result<Dashboard, StartupError> {
    let config = DashboardConfig::from_env(route)?;
    let aws = crate::aws::sdk_config().await?;
    let secrets = secret_source(&config.secrets, &aws, Arc::new(SystemClock));
    warm(&secrets, Function::Dashboard(route).secrets()).await;
    let local = config.stage == Stage::Local;
    let http = SecureHttp::new(local, RetryPolicy::default())?;
    let mut ports = Common {
        http: &http,
        convex_site_url: &config.convex_site_url,
        provisioning_url: &config.provisioning_url,
        secrets: &secrets,
        metrics: Arc::new(EmfStdout),
        catalogue: config.catalogue,
        policy: Policy {
            renewal_grace: config.renewal_grace,
            past_due_grace: config.past_due_grace,
        },
    }
    .ports();
    ports.polo = Some(Arc::new(PoloClient::new(
        http.clone(),
        config.polo_api_base_url,
        secrets.clone(),
    )));
    let settings = Settings {
        urls: UrlPolicy {
            allowed_hosts: config.polo_allowed_hosts,
            allow_loopback_http: local,
            app_base_url: config.app_base_url,
        },
        billing_provider: config.billing_provider,
        paypal_checkout_url: config.paypal_checkout_url,
        paypal_manage_url: config.paypal_manage_url,
        account_id_claim: config.account_id_claim,
        polo_budget: POLO_BUDGET,
    };
    Ok(ports.dashboard(&ports.updater(), settings)?)
}

/// The reconciler's ports (the scheduled `reconcile` function and the
/// admin CLI) from the process environment, with its own retry policy (the
/// admin CLI's long runs wait out Polo's rate limits longer than a function
/// can) and metric sink (a CLI's stdout is its output, not CloudWatch's).
/// `idempotency` is filled when `IDEMPOTENCY_TABLE` is set (the admin
/// CLI's replay reads the inbox).
pub async fn reconcile_ports(
    retry: RetryPolicy,
    metrics: Arc<dyn MetricSink>,
) -> Result<Ports, StartupError> {
    let config = ReconcileConfig::from_env()?;
    let aws = crate::aws::sdk_config().await?;
    let secrets = secret_source(&config.secrets, &aws, Arc::new(SystemClock));
    warm(&secrets, Function::Reconcile.secrets()).await;
    let http = SecureHttp::new(config.stage == Stage::Local, retry)?;
    let mut ports = Common {
        http: &http,
        convex_site_url: &config.convex_site_url,
        provisioning_url: &config.provisioning_url,
        secrets: &secrets,
        metrics,
        catalogue: config.catalogue,
        policy: Policy {
            renewal_grace: config.renewal_grace,
            past_due_grace: config.past_due_grace,
        },
    }
    .ports();
    ports.polo = Some(Arc::new(PoloClient::new(
        http,
        config.polo_api_base_url,
        secrets,
    )));
    ports.idempotency = config.idempotency_table.map(|table| {
        Arc::new(DynamoDbIdempotencyStore::new(
            aws_sdk_dynamodb::Client::new(&aws),
            table,
        )) as Arc<dyn IdempotencyStore>
    });
    Ok(ports)
}

/// Builds the reconciler (the scheduled `reconcile` function) from the
/// process environment.
pub async fn reconciler() -> Result<Reconciler, StartupError> {
    let ports = reconcile_ports(RetryPolicy::default(), Arc::new(EmfStdout)).await?;
    Ok(ports.reconciler(&ports.updater())?)
}
