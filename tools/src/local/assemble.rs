//! Builds and starts the whole local system (the README's run command):
//! the sandbox in-process (unless a real Polo is given), every port's
//! adapter (embedded or real), the dashboard functions over the REAL
//! `PoloClient` on loopback HTTP (`STAGE=local` rules), the webhook intakes,
//! the embedded orchestrator reached through the real signed push, and a
//! provisioning-sync run every minute and reconcile every hour (their
//! EventBridge schedules).

use super::options::LocalOptions;
use super::{jwt::DevJwt, seeded_accounts, LocalStack, Memory};
use crate::provisioning_receiver::ProvisioningReceiver;
use crate::sandbox::clock::SandboxClock;
use crate::sandbox::launch::{launch, SandboxOptions};
use crate::sandbox::Sandbox;
use billing::accounts::{AccountStore, ConvexAccountStore};
use billing::clock::{Clock, SystemClock};
use billing::config::BillingProvider;
use billing::dashboard::{Settings, UrlPolicy, POLO_BUDGET};
use billing::domain::Policy;
use billing::http::{RetryPolicy, SecureHttp};
use billing::idempotency::{DynamoDbIdempotencyStore, IdempotencyStore, InMemoryIdempotencyStore};
use billing::polo::catalogue::Catalogue;
use billing::polo::client::PoloClient;
use billing::ports::Ports;
use billing::provisioning::{HttpProvisioner, InMemoryProvisioner};
use billing::reconcile::Reconciler;
use billing::secrets::{CachedSecretSource, InMemorySecretSource, SecretId};
use billing::telemetry::{EmfStdout, MetricSink};
use billing::updater::AccountUpdater;
use billing::webhook::WebhookKeys;
use std::sync::Arc;
use url::Url;

/// The running system.
pub struct Running {
    /// The app and API (API Gateway's role): `http://127.0.0.1:3000`.
    pub app_url: String,
    /// The in-process sandbox, if Polo is not a real one.
    pub sandbox: Option<Arc<Sandbox>>,
    pub stack: Arc<LocalStack>,
    /// One line per port: which adapter serves it.
    pub adapters: Vec<(&'static str, String)>,
}

async fn bind(port: u16) -> Result<tokio::net::TcpListener, String> {
    tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("127.0.0.1:{port}: {e} (choose another port with --port / --sandbox-port, 0 = any free one)"))
}

fn url(raw: &str) -> Result<Url, String> {
    Url::parse(raw).map_err(|e| format!("{raw}: {e}"))
}

/// Binds, builds and serves everything in the background.
pub async fn start(options: LocalOptions) -> Result<Running, String> {
    let listener = bind(options.port).await?;
    let app_url = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let mut wiring = Wiring {
        options: &options,
        app_url: &app_url,
        http: SecureHttp::new(true, RetryPolicy::default()).map_err(|e| e.to_string())?,
        memory: Memory::default(),
        adapters: Vec::new(),
    };
    if let Some(file) = &options.log_file {
        wiring.adapters.push((
            "logs",
            format!("JSON to {} (--log-format json: here)", file.display()),
        ));
    }
    let (sandbox, polo_base, domain_clock) = wiring.polo().await?;
    let secrets = Arc::new(InMemorySecretSource::default());
    secrets.set(SecretId::PoloWebhook, options.webhook_secrets.clone());
    secrets.set(SecretId::PoloApiKey, options.polo_api_key.expose());
    let secrets = Arc::new(CachedSecretSource::new(secrets, Arc::new(SystemClock)));
    let polo = Arc::new(PoloClient::new(
        wiring.http.clone(),
        polo_base.clone(),
        secrets.clone(),
    ));
    let (provisioner, receiver) = wiring.provisioning()?;
    let (starter, pro, enterprise) = &options.plans;
    let ports = Ports {
        accounts: wiring.accounts()?,
        provisioner,
        polo: Some(polo),
        paypal: None,
        idempotency: Some(wiring.idempotency().await?),
        clock: domain_clock.clone(),
        // Human mode: the metrics join the JSON logs in their file.
        metrics: match &options.log_file {
            Some(file) => Arc::new(super::console::EmfToFile::open(file)?),
            None => Arc::new(EmfStdout),
        },
        catalogue: Arc::new(
            Catalogue::from_lists(starter, pro, enterprise)
                .map_err(|e| format!("POLO_PLAN_ID_*: {e:?}"))?,
        ),
        policy: Policy::default(),
    };
    let updater = ports.updater();
    // Signature windows and claim leases run on real time (design.md).
    let intakes = ports
        .intakes(
            Arc::new(WebhookKeys::new(secrets)),
            ports.lifecycle_handler(&updater),
            Arc::new(SystemClock),
        )
        .map_err(|e| e.to_string())?;
    let reconciler = Arc::new(ports.reconciler(&updater).map_err(|e| e.to_string())?);
    let dashboard = ports
        .dashboard(&updater, wiring.settings(&polo_base)?)
        .map_err(|e| e.to_string())?;
    let Wiring {
        memory, adapters, ..
    } = wiring;
    let stack = Arc::new(LocalStack {
        intakes,
        dashboard: Some(dashboard),
        jwt: DevJwt::new(options.jwt_key.clone()),
        memory,
        receiver: Some(receiver),
        sandbox_url: sandbox.as_ref().map(|s| s.public_url().to_owned()),
        reconciler: Some(reconciler.clone()),
        walkthrough: Default::default(),
    });
    let _ = stack.walkthrough.set((app_url.clone(), adapters.clone()));
    let router = stack.clone().router();
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, router).await {
            eprintln!("local server stopped: {err}");
        }
    });
    spawn_provisioning_sync(updater, ports.accounts, domain_clock, ports.metrics);
    spawn_reconcile(reconciler);
    if let Some(sweeper) = stack.sweeper() {
        spawn_webhook_retry(sweeper);
    }
    Ok(Running {
        app_url,
        sandbox,
        stack,
        adapters,
    })
}

/// Chooses each port's adapter, embedded or real, and records the choice
/// for the start-up lines (`adapters`) and the `/dev/*` pages (`memory`).
struct Wiring<'a> {
    options: &'a LocalOptions,
    app_url: &'a str,
    http: SecureHttp,
    memory: Memory,
    adapters: Vec<(&'static str, String)>,
}

impl Wiring<'_> {
    /// Polo: the sandbox in-process (its clock is the domain's), or a real one.
    async fn polo(&mut self) -> Result<(Option<Arc<Sandbox>>, Url, Arc<dyn Clock>), String> {
        let options = self.options;
        if let Some(base) = &options.polo_base_url {
            self.adapters.push(("Polo", format!("{base} (real)")));
            return Ok((None, base.clone(), Arc::new(SystemClock)));
        }
        let clock = Arc::new(SandboxClock::new());
        let sandbox_options = SandboxOptions {
            api_key: options.polo_api_key.clone(),
            webhook_secret: options.signing_secret()?,
            webhook_target: Some(url(self.app_url)?),
            products_file: options.products_file.clone(),
            retry: options.webhook_retry,
            hang: std::time::Duration::from_secs(30),
            periods_end_by_themselves: true,
        };
        let sandbox = launch(
            bind(options.sandbox_port).await?,
            sandbox_options,
            clock.clone(),
        )
        .await?;
        let base = url(sandbox.public_url())?;
        self.adapters.push((
            "Polo",
            format!(
                "{} (the in-process sandbox; its clock is the domain's)",
                sandbox.public_url()
            ),
        ));
        Ok((Some(sandbox), base, clock))
    }

    /// Convex, or the in-memory store seeded with the local accounts; each
    /// committed change prints its line on the terminal (human mode).
    fn accounts(&mut self) -> Result<Arc<dyn AccountStore>, String> {
        let accounts: Arc<dyn AccountStore> = match &self.options.convex_site_url {
            Some(site) => {
                self.adapters
                    .push(("accounts", format!("Convex at {site}")));
                Arc::new(ConvexAccountStore::new(
                    self.http.clone(),
                    site.clone(),
                    self.options.convex_signing_secret.clone(),
                ))
            }
            None => {
                self.adapters.push((
                    "accounts",
                    "in memory (acct_local_1..3; /dev/token adds more)".into(),
                ));
                let store = seeded_accounts()?;
                self.memory.accounts = Some(store.clone());
                store
            }
        };
        Ok(Arc::new(super::changes::PrintingAccounts(accounts)))
    }

    /// The real signed push, to a real orchestrator or to the embedded one
    /// behind `/dev/provisioning` (whose receiver checks the signature).
    fn provisioning(
        &mut self,
    ) -> Result<(Arc<HttpProvisioner>, Arc<ProvisioningReceiver>), String> {
        let orchestrator = Arc::new(InMemoryProvisioner::default());
        let receiver = Arc::new(ProvisioningReceiver::new(
            orchestrator.clone(),
            self.options.provisioning_signing_secret.expose(),
        )?);
        let push_url = match &self.options.provisioning_url {
            Some(u) => {
                self.adapters.push(("provisioning", format!("{u} (real)")));
                u.clone()
            }
            None => {
                self.memory.orchestrator = Some(orchestrator);
                let u = url(&format!("{}/dev/provisioning", self.app_url))?;
                self.adapters.push((
                    "provisioning",
                    format!("signed pushes to the embedded orchestrator, {u}"),
                ));
                u
            }
        };
        let provisioner = Arc::new(HttpProvisioner::new(
            self.http.clone(),
            push_url,
            self.options.provisioning_signing_secret.clone(),
        ));
        Ok((provisioner, receiver))
    }

    /// DynamoDB (an emulator's table is created if missing), or in memory.
    async fn idempotency(&mut self) -> Result<Arc<dyn IdempotencyStore>, String> {
        let options = self.options;
        match &options.dynamodb_endpoint {
            Some(endpoint) => {
                self.adapters.push((
                    "idempotency",
                    format!(
                        "DynamoDB at {endpoint}, table {}",
                        options.idempotency_table
                    ),
                ));
                Ok(Arc::new(
                    dynamodb_store(endpoint, &options.idempotency_table).await?,
                ))
            }
            None => {
                self.adapters.push(("idempotency", "in memory".into()));
                let store = Arc::new(InMemoryIdempotencyStore::default());
                self.memory.store = Some(store.clone());
                Ok(store)
            }
        }
    }

    /// The dashboard's settings: Polo's host is the only one its URLs may
    /// name, over loopback http (`STAGE=local` rules).
    fn settings(&self, polo_base: &Url) -> Result<Settings, String> {
        Ok(Settings {
            urls: UrlPolicy {
                allowed_hosts: polo_base
                    .host_str()
                    .map(|h| vec![h.to_ascii_lowercase()])
                    .unwrap_or_default(),
                allow_loopback_http: true,
                app_base_url: match &self.options.app_base_url {
                    Some(u) => u.clone(),
                    None => url(self.app_url)?,
                },
            },
            billing_provider: BillingProvider::Polo,
            paypal_checkout_url: url("https://www.paypal.com/checkoutnow")?,
            paypal_manage_url: url("https://www.paypal.com/myaccount/autopay")?,
            account_id_claim: "sub".into(),
            polo_budget: POLO_BUDGET,
        })
    }
}

async fn dynamodb_store(endpoint: &Url, table: &str) -> Result<DynamoDbIdempotencyStore, String> {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint.as_str())
        .load()
        .await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    ensure_table(&client, table).await?;
    Ok(DynamoDbIdempotencyStore::new(client, table))
}

/// Creates the idempotency table on an emulator that lacks it.
async fn ensure_table(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<(), String> {
    if client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .is_ok()
    {
        return Ok(());
    }
    DynamoDbIdempotencyStore::create_table(client, table)
        .await
        .map_err(|e| {
            format!(
                "DynamoDB table {table}: {}",
                billing::telemetry::error_chain(&e)
            )
        })
}

/// `reconcile`'s schedule (hourly), in-process. `POST /dev/reconcile` runs
/// it at once (after moving the sandbox's clock, say).
fn spawn_reconcile(reconciler: Arc<Reconciler>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        tick.tick().await;
        loop {
            tick.tick().await;
            let run_id = uuid::Uuid::new_v4().to_string();
            let deadline = reconciler.clock.now() + time::Duration::seconds(240);
            let _ = reconciler.scheduled(&run_id, deadline).await;
        }
    });
}

/// `webhook-retry`'s schedule (every minute), in-process. `POST /dev/retry`
/// runs it at once.
fn spawn_webhook_retry(sweeper: billing::webhook::Sweeper) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        tick.tick().await;
        loop {
            tick.tick().await;
            let deadline = sweeper.clock.now() + time::Duration::seconds(50);
            let _ = sweeper.run(deadline).await;
        }
    });
}

/// `provisioning-sync`'s schedule (every minute), in-process.
fn spawn_provisioning_sync(
    updater: Arc<AccountUpdater>,
    accounts: Arc<dyn AccountStore>,
    clock: Arc<dyn Clock>,
    metrics: Arc<dyn MetricSink>,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        tick.tick().await;
        loop {
            tick.tick().await;
            let run_id = uuid::Uuid::new_v4().to_string();
            // On the domain clock, like the run itself (see pages::sync).
            let deadline = clock.now() + time::Duration::seconds(50);
            let _ = tokio::time::timeout(
                std::time::Duration::from_secs(55),
                billing::handlers::provisioning_sync::run(
                    &updater,
                    accounts.as_ref(),
                    clock.as_ref(),
                    metrics.as_ref(),
                    &run_id,
                    deadline,
                ),
            )
            .await;
        }
    });
}
