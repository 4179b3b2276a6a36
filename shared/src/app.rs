//! What a function builds once at cold start: configuration, AWS clients,
//! adapters and ports. Handlers then borrow it for every invocation.

use crate::accounts::ConvexAccountStore;
use crate::clock::{Clock, SystemClock};
use crate::config::{
    ConfigError, DashboardConfig, Function, ReconcileConfig, SecretsLocation, Stage, SyncConfig,
    WebhookConfig,
};
use crate::dashboard::{Dashboard, Route, Settings, UrlPolicy, POLO_BUDGET};
use crate::domain::Policy;
use crate::handlers::lifecycle::LifecycleHandler;
use crate::http::{RetryPolicy, SecureHttp};
use crate::idempotency::{DynamoDbIdempotencyStore, IdempotencyStore};
use crate::paypal::{Canceller, PaypalClient};
use crate::polo::api::SubscriptionLookup;
use crate::polo::client::PoloClient;
use crate::polo::routing::Endpoint;
use crate::provisioning::HttpProvisioner;
use crate::reconcile::Reconciler;
use crate::secrets::{
    CachedSecretSource, EnvSecretSource, SecretError, SecretId, SecretSource, SecretsManagerSource,
    SigningSecret,
};
use crate::telemetry::{error_chain, EmfStdout, MetricSink};
use crate::updater::AccountUpdater;
use crate::webhook::{EventHandler, Intake, Replayer, Sweeper, WebhookKeys};
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

/// The account updater over the Convex account store and the signed
/// provisioning push: the one write path every function builds the same way.
struct Writers<'a> {
    http: &'a SecureHttp,
    convex_site_url: &'a url::Url,
    provisioning_url: &'a url::Url,
    clock: &'a Arc<dyn Clock>,
    metrics: &'a Arc<dyn MetricSink>,
    policy: Policy,
}

impl Writers<'_> {
    /// Both signing secrets are read at each call through `secrets`' cache,
    /// so a rotation reaches warm containers (docs/RUNBOOK.md §4).
    fn build(self, secrets: &Arc<CachedSecretSource>) -> Arc<AccountUpdater> {
        Arc::new(AccountUpdater {
            accounts: Arc::new(ConvexAccountStore::new(
                self.http.clone(),
                self.convex_site_url.clone(),
                SigningSecret::cached(secrets.clone(), SecretId::ConvexSigning),
            )),
            provisioner: Arc::new(HttpProvisioner::new(
                self.http.clone(),
                self.provisioning_url.clone(),
                SigningSecret::cached(secrets.clone(), SecretId::ProvisioningSigning),
            )),
            clock: self.clock.clone(),
            metrics: self.metrics.clone(),
            policy: self.policy,
        })
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

/// What every function that handles webhook events builds the same way.
struct WebhookPorts {
    store: Arc<dyn IdempotencyStore>,
    secrets: Arc<CachedSecretSource>,
    clock: Arc<dyn Clock>,
    metrics: Arc<dyn MetricSink>,
    handler: Arc<dyn EventHandler>,
}

/// `function`: a webhook endpoint, or the retry sweep (which handles every
/// type, `order.paid` included, so it reads Polo's API).
async fn webhook_ports(function: Function) -> Result<WebhookPorts, StartupError> {
    let config = WebhookConfig::from_env(function)?;
    let aws = crate::aws::sdk_config().await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let metrics: Arc<dyn MetricSink> = Arc::new(EmfStdout);
    let secrets = secret_source(&config.secrets, &aws, clock.clone());
    warm(&secrets, function.secrets()).await;
    let http = SecureHttp::new(config.stage == Stage::Local, RetryPolicy::default())?;
    let polo: Option<Arc<dyn SubscriptionLookup>> = config.polo_api_base_url.clone().map(|base| {
        Arc::new(PoloClient::new(http.clone(), base, secrets.clone()))
            as Arc<dyn SubscriptionLookup>
    });
    let updater = Writers {
        http: &http,
        convex_site_url: &config.convex_site_url,
        provisioning_url: &config.provisioning_url,
        clock: &clock,
        metrics: &metrics,
        policy: Policy {
            renewal_grace: config.renewal_grace,
            past_due_grace: config.past_due_grace,
        },
    }
    .build(&secrets);
    let store = DynamoDbIdempotencyStore::new(
        aws_sdk_dynamodb::Client::new(&aws),
        config.idempotency_table.clone(),
    );
    Ok(WebhookPorts {
        store: Arc::new(store),
        secrets,
        clock,
        metrics,
        handler: Arc::new(LifecycleHandler {
            updater,
            catalogue: Arc::new(config.catalogue),
            polo,
        }),
    })
}

/// Builds a webhook function's intake from the process environment.
pub async fn webhook_intake(endpoint: Endpoint) -> Result<Intake, StartupError> {
    let ports = webhook_ports(Function::Webhook(endpoint)).await?;
    // Read during init (webhook_ports); a failure is not fatal: each
    // request reads it again and answers 503 until it works.
    let keys = Arc::new(WebhookKeys::new(ports.secrets.clone()));
    Ok(Intake {
        endpoint,
        store: ports.store,
        keys,
        clock: ports.clock,
        metrics: ports.metrics,
        handler: ports.handler,
        fallback_lease: crate::webhook::DEFAULT_LEASE,
    })
}

/// Builds `webhook-retry`, the inbox's sweep, from the process environment.
pub async fn webhook_retry() -> Result<Sweeper, StartupError> {
    let ports = webhook_ports(Function::WebhookRetry).await?;
    Ok(Sweeper {
        store: ports.store,
        handler: ports.handler,
        clock: ports.clock,
        metrics: ports.metrics,
    })
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
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let metrics: Arc<dyn MetricSink> = Arc::new(EmfStdout);
    let secrets = secret_source(&config.secrets, &aws, clock.clone());
    warm(
        &secrets,
        &[SecretId::ConvexSigning, SecretId::ProvisioningSigning],
    )
    .await;
    let http = SecureHttp::new(config.stage == Stage::Local, RetryPolicy::default())?;
    // Read at each token exchange through the cache (and again when PayPal
    // refuses them): a failure leaves the cancellations queued, retried each
    // run, and their age alarms after a day.
    let paypal = config.paypal_api_base_url.map(|base| {
        Arc::new(PaypalClient::from_secret(
            http.clone(),
            base,
            secrets.clone(),
        )) as Arc<dyn Canceller>
    });
    if paypal.is_some() {
        warm(&secrets, &[SecretId::Paypal]).await;
    }
    let updater = Writers {
        http: &http,
        convex_site_url: &config.convex_site_url,
        provisioning_url: &config.provisioning_url,
        clock: &clock,
        metrics: &metrics,
        // provisioning-sync never applies a snapshot; grace periods are unused.
        policy: Policy::default(),
    }
    .build(&secrets);
    Ok(SyncApp {
        updater,
        paypal,
        clock,
        metrics,
        position: Default::default(),
    })
}

/// Builds the dashboard functions' shared state from the process
/// environment (the four binaries differ in the route they serve and the
/// secrets they read).
pub async fn dashboard(route: Route) -> Result<Dashboard, StartupError> {
    let config = DashboardConfig::from_env(route)?;
    let aws = crate::aws::sdk_config().await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let metrics: Arc<dyn MetricSink> = Arc::new(EmfStdout);
    let secrets = secret_source(&config.secrets, &aws, clock.clone());
    warm(&secrets, Function::Dashboard(route).secrets()).await;
    let local = config.stage == Stage::Local;
    let http = SecureHttp::new(local, RetryPolicy::default())?;
    let updater = Writers {
        http: &http,
        convex_site_url: &config.convex_site_url,
        provisioning_url: &config.provisioning_url,
        clock: &clock,
        metrics: &metrics,
        policy: Policy {
            renewal_grace: config.renewal_grace,
            past_due_grace: config.past_due_grace,
        },
    }
    .build(&secrets);
    let accounts = updater.accounts.clone();
    Ok(Dashboard {
        accounts,
        updater,
        polo: Arc::new(PoloClient::new(http, config.polo_api_base_url, secrets)),
        catalogue: Arc::new(config.catalogue),
        clock,
        metrics,
        settings: Settings {
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
        },
    })
}

/// Builds the reconciler (the scheduled `reconcile` function and the admin
/// CLI) from the process environment.
pub async fn reconciler() -> Result<Reconciler, StartupError> {
    reconciler_with(RetryPolicy::default(), Arc::new(EmfStdout)).await
}

/// The reconciler with its own retry policy (the admin CLI's long runs
/// wait out Polo's rate limits longer than a function can) and metric sink
/// (a CLI's stdout is its output, not CloudWatch's).
pub async fn reconciler_with(
    retry: RetryPolicy,
    metrics: Arc<dyn MetricSink>,
) -> Result<Reconciler, StartupError> {
    let config = ReconcileConfig::from_env()?;
    let aws = crate::aws::sdk_config().await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let secrets = secret_source(&config.secrets, &aws, clock.clone());
    warm(&secrets, Function::Reconcile.secrets()).await;
    let http = SecureHttp::new(config.stage == Stage::Local, retry)?;
    let updater = Writers {
        http: &http,
        convex_site_url: &config.convex_site_url,
        provisioning_url: &config.provisioning_url,
        clock: &clock,
        metrics: &metrics,
        policy: Policy {
            renewal_grace: config.renewal_grace,
            past_due_grace: config.past_due_grace,
        },
    }
    .build(&secrets);
    let accounts = updater.accounts.clone();
    Ok(Reconciler {
        polo: Arc::new(PoloClient::new(http, config.polo_api_base_url, secrets)),
        updater,
        accounts,
        catalogue: Arc::new(config.catalogue),
        clock,
        metrics,
    })
}

/// The replay tool over the deployment's idempotency table
/// (`IDEMPOTENCY_TABLE`) and the reconciler's ports.
pub async fn replayer(reconciler: &Reconciler) -> Result<Replayer, StartupError> {
    let table = std::env::var("IDEMPOTENCY_TABLE")
        .ok()
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| ConfigError {
            problems: vec![crate::config::Problem::new(
                "IDEMPOTENCY_TABLE",
                "IDEMPOTENCY_TABLE is missing",
            )],
        })?;
    let aws = crate::aws::sdk_config().await?;
    let polo: Arc<dyn SubscriptionLookup> = reconciler.polo.clone();
    Ok(Replayer {
        store: Arc::new(DynamoDbIdempotencyStore::new(
            aws_sdk_dynamodb::Client::new(&aws),
            table,
        )),
        handler: Arc::new(LifecycleHandler {
            updater: reconciler.updater.clone(),
            catalogue: reconciler.catalogue.clone(),
            polo: Some(polo),
        }),
        clock: reconciler.clock.clone(),
    })
}
