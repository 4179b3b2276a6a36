//! The one composition root: every port a function may use, filled once —
//! with the AWS and Convex adapters in a Lambda (`app`), with embedded ones
//! in the local stack, the tests and the benches — and the one place that
//! turns them into the parts that run: the account updater, the lifecycle
//! handler, the reconciler, the dashboard, the intake and the sweep. A new
//! field on one of those is added here, and nowhere else.

use crate::accounts::AccountStore;
use crate::clock::Clock;
use crate::dashboard::{Dashboard, Settings};
use crate::domain::Policy;
use crate::handlers::lifecycle::LifecycleHandler;
use crate::idempotency::IdempotencyStore;
use crate::paypal::Canceller;
use crate::polo::catalogue::Catalogue;
use crate::polo::ports::{BillingApi, SubscriptionLookup};
use crate::polo::routing::Endpoint;
use crate::provisioning::Provisioner;
use crate::reconcile::Reconciler;
use crate::telemetry::MetricSink;
use crate::updater::AccountUpdater;
use crate::webhook::{EventHandler, Intake, Replayer, Sweeper, WebhookKeys, DEFAULT_LEASE};
use std::collections::HashMap;
use std::sync::Arc;
use time::Duration;

/// The ports of one process. `polo`, `paypal` and `idempotency` are the
/// ones only some functions have (a webhook function other than
/// payment-succeeded never calls Polo; a dashboard function has no inbox).
#[derive(Clone)]
pub struct Ports {
    pub accounts: Arc<dyn AccountStore>,
    pub provisioner: Arc<dyn Provisioner>,
    pub polo: Option<Arc<dyn BillingApi>>,
    pub paypal: Option<Arc<dyn Canceller>>,
    pub idempotency: Option<Arc<dyn IdempotencyStore>>,
    /// The domain's clock (the sandbox's in the local stack).
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn MetricSink>,
    pub catalogue: Arc<Catalogue>,
    pub policy: Policy,
}

/// A part was asked of ports that lack what it needs (a wiring bug: the
/// function's builder in `app` or the test's setup left the port out).
#[derive(Debug, thiserror::Error)]
#[error("{part} needs the {port} port, which this process was not given")]
pub struct MissingPort {
    pub part: &'static str,
    pub port: &'static str,
}

impl Ports {
    /// The ports every part needs; the others start empty — no Polo, no
    /// PayPal, no inbox, a catalogue that knows no product, the default
    /// policy — for the caller to fill.
    pub fn new(
        accounts: Arc<dyn AccountStore>,
        provisioner: Arc<dyn Provisioner>,
        clock: Arc<dyn Clock>,
        metrics: Arc<dyn MetricSink>,
    ) -> Self {
        Self {
            accounts,
            provisioner,
            polo: None,
            paypal: None,
            idempotency: None,
            clock,
            metrics,
            catalogue: Arc::new(Catalogue::empty()),
            policy: Policy::default(),
        }
    }

    /// The one write path every writer takes.
    pub fn updater(&self) -> Arc<AccountUpdater> {
        Arc::new(AccountUpdater {
            accounts: self.accounts.clone(),
            provisioner: self.provisioner.clone(),
            clock: self.clock.clone(),
            metrics: self.metrics.clone(),
            policy: self.policy,
        })
    }

    /// The webhook events' handler, over `updater` (shared with the
    /// process's other parts). It reads Polo only for `order.paid`.
    pub fn lifecycle_handler(&self, updater: &Arc<AccountUpdater>) -> Arc<LifecycleHandler> {
        Arc::new(LifecycleHandler {
            updater: updater.clone(),
            catalogue: self.catalogue.clone(),
            polo: self
                .polo
                .clone()
                .map(|polo| polo as Arc<dyn SubscriptionLookup>),
        })
    }

    fn polo(&self, part: &'static str) -> Result<Arc<dyn BillingApi>, MissingPort> {
        self.polo.clone().ok_or(MissingPort { part, port: "Polo" })
    }

    fn idempotency(&self, part: &'static str) -> Result<Arc<dyn IdempotencyStore>, MissingPort> {
        self.idempotency.clone().ok_or(MissingPort {
            part,
            port: "idempotency store",
        })
    }

    /// Polo's subscriptions applied per account, over `updater`.
    pub fn reconciler(&self, updater: &Arc<AccountUpdater>) -> Result<Reconciler, MissingPort> {
        Ok(Reconciler {
            polo: self.polo("the reconciler")?,
            updater: updater.clone(),
            accounts: self.accounts.clone(),
            catalogue: self.catalogue.clone(),
            clock: self.clock.clone(),
            metrics: self.metrics.clone(),
        })
    }

    /// The four dashboard routes, over `updater`.
    pub fn dashboard(
        &self,
        updater: &Arc<AccountUpdater>,
        settings: Settings,
    ) -> Result<Dashboard, MissingPort> {
        Ok(Dashboard {
            accounts: self.accounts.clone(),
            updater: updater.clone(),
            polo: self.polo("the dashboard")?,
            catalogue: self.catalogue.clone(),
            clock: self.clock.clone(),
            metrics: self.metrics.clone(),
            settings,
        })
    }

    /// One webhook endpoint's intake. Signature windows and claim leases
    /// run on `real_time` (design.md), which is the domain clock everywhere
    /// but in the local stack, whose domain runs on the sandbox's.
    pub fn intake(
        &self,
        endpoint: Endpoint,
        keys: Arc<WebhookKeys>,
        handler: Arc<dyn EventHandler>,
        real_time: Arc<dyn Clock>,
        fallback_lease: Duration,
    ) -> Result<Intake, MissingPort> {
        Ok(Intake {
            endpoint,
            store: self.idempotency("the webhook intake")?,
            keys,
            clock: real_time,
            metrics: self.metrics.clone(),
            handler,
            fallback_lease,
        })
    }

    /// One intake per webhook endpoint over the same ports: the local server
    /// and the end-to-end tests serve every route from one process.
    pub fn intakes(
        &self,
        keys: Arc<WebhookKeys>,
        handler: Arc<dyn EventHandler>,
        real_time: Arc<dyn Clock>,
    ) -> Result<HashMap<Endpoint, Intake>, MissingPort> {
        Endpoint::ALL
            .into_iter()
            .map(|endpoint| {
                let intake = self.intake(
                    endpoint,
                    keys.clone(),
                    handler.clone(),
                    real_time.clone(),
                    DEFAULT_LEASE,
                )?;
                Ok((endpoint, intake))
            })
            .collect()
    }

    /// The inbox's retry sweep.
    pub fn sweeper(&self, handler: Arc<dyn EventHandler>) -> Result<Sweeper, MissingPort> {
        Ok(Sweeper {
            store: self.idempotency("the retry sweep")?,
            handler,
            clock: self.clock.clone(),
            metrics: self.metrics.clone(),
        })
    }

    /// The replay tool over the inbox and the lifecycle handler.
    pub fn replayer(&self, handler: Arc<dyn EventHandler>) -> Result<Replayer, MissingPort> {
        Ok(Replayer {
            store: self.idempotency("the replay tool")?,
            handler,
            clock: self.clock.clone(),
        })
    }
}
