//! Configuration of the scheduled `reconcile` function and the admin CLI:
//! Polo's API (read subscriptions, create customers) and the stores that
//! `apply()` writes to.

use super::Function;
use super::{
    catalogue, secrets_location, ConfigError, PoloEnvironment, Reader, SecretsLocation, Stage,
};
use crate::polo::catalogue::Catalogue;
use time::Duration;
use url::Url;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileConfig {
    pub stage: Stage,
    pub polo_environment: PoloEnvironment,
    pub secrets: SecretsLocation,
    pub catalogue: Catalogue,
    pub polo_api_base_url: Url,
    pub convex_site_url: Url,
    pub provisioning_url: Url,
    pub renewal_grace: Duration,
    pub past_due_grace: Duration,
    /// The inbox the admin CLI's replay and inbox commands read (`None`
    /// when unset: the scheduled function never reads it).
    pub idempotency_table: Option<String>,
}

impl ReconcileConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut r = Reader {
            lookup,
            problems: Vec::new(),
        };
        let stage = r.stage();
        let polo_environment = r.polo_environment();
        let secrets = secrets_location(&mut r, stage, Function::Reconcile.secrets());
        let catalogue = catalogue(&mut r);
        let polo_api_base_url = r.polo_api_base_url(stage, polo_environment);
        let convex_site_url = r.url("CONVEX_SITE_URL", stage);
        let provisioning_url = r.url("PROVISIONING_URL", stage);
        let renewal_grace = r.duration_or("RENEWAL_GRACE", Duration::hours(24));
        let past_due_grace = r.duration_or("PAST_DUE_GRACE", Duration::ZERO);
        let idempotency_table = r.optional("IDEMPOTENCY_TABLE");
        match (
            (stage, polo_environment, secrets, catalogue),
            (polo_api_base_url, convex_site_url, provisioning_url),
        ) {
            (
                (Some(stage), Some(polo_environment), Some(secrets), Some(catalogue)),
                (Some(polo_api_base_url), Some(convex_site_url), Some(provisioning_url)),
            ) if r.problems.is_empty() => Ok(Self {
                stage,
                polo_environment,
                secrets,
                catalogue,
                polo_api_base_url,
                convex_site_url,
                provisioning_url,
                renewal_grace,
                past_due_grace,
                idempotency_table,
            }),
            _ => Err(ConfigError {
                problems: r.problems,
            }),
        }
    }
}
