//! Configuration of the webhook functions and of `provisioning-sync`.

use super::{
    catalogue, secrets_location, ConfigError, Function, PoloEnvironment, Reader, SecretsLocation,
    Stage,
};
use crate::polo::catalogue::Catalogue;
use crate::secrets::SecretId;
use time::Duration;
use url::Url;

/// Configuration of a webhook function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    pub stage: Stage,
    pub polo_environment: PoloEnvironment,
    pub idempotency_table: String,
    pub secrets: SecretsLocation,
    pub renewal_grace: Duration,
    pub past_due_grace: Duration,
    pub catalogue: Catalogue,
    pub convex_site_url: Url,
    pub provisioning_url: Url,
    /// `POLO_API_BASE_URL`: only the functions that call Polo read it.
    pub polo_api_base_url: Option<Url>,
}

impl WebhookConfig {
    /// Reads the process environment of `function` (a webhook endpoint or
    /// the retry sweep): its secrets are `Function::secrets`, and the ones
    /// that call Polo's API need the API base URL too.
    pub fn from_env(function: Function) -> Result<Self, ConfigError> {
        Self::from_lookup(&|name| std::env::var(name).ok(), function)
    }

    /// Reads through any lookup (a map in tests).
    pub fn from_lookup(
        lookup: &dyn Fn(&str) -> Option<String>,
        function: Function,
    ) -> Result<Self, ConfigError> {
        let calls_polo = function.calls_polo();
        let mut r = Reader {
            lookup,
            problems: Vec::new(),
        };
        let stage = r.stage();
        let polo_environment = r.polo_environment();
        let idempotency_table = r.required("IDEMPOTENCY_TABLE");
        let secrets = secrets_location(&mut r, stage, function.secrets());
        let renewal_grace = r.duration_or("RENEWAL_GRACE", Duration::hours(24));
        let past_due_grace = r.duration_or("PAST_DUE_GRACE", Duration::ZERO);
        let catalogue = catalogue(&mut r);
        let convex_site_url = r.url("CONVEX_SITE_URL", stage);
        let provisioning_url = r.url("PROVISIONING_URL", stage);
        let polo_api_base_url = if calls_polo {
            r.polo_api_base_url(stage, polo_environment)
        } else {
            None
        };

        match (
            stage,
            polo_environment,
            idempotency_table,
            secrets,
            catalogue,
            convex_site_url,
            provisioning_url,
        ) {
            (
                Some(stage),
                Some(polo_environment),
                Some(idempotency_table),
                Some(secrets),
                Some(catalogue),
                Some(convex_site_url),
                Some(provisioning_url),
            ) if r.problems.is_empty() => Ok(Self {
                stage,
                polo_environment,
                idempotency_table,
                secrets,
                renewal_grace,
                past_due_grace,
                catalogue,
                convex_site_url,
                provisioning_url,
                polo_api_base_url,
            }),
            _ => Err(ConfigError {
                problems: r.problems,
            }),
        }
    }
}

/// Configuration of `provisioning-sync` (scheduled): it reads the account
/// store and pushes to the orchestrator, nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncConfig {
    pub stage: Stage,
    pub secrets: SecretsLocation,
    pub convex_site_url: Url,
    pub provisioning_url: Url,
    /// `PAYPAL_API_BASE_URL` (deprecated, legacy): unset, queued PayPal
    /// cancellations are not sent (and their age alarms after a day).
    pub paypal_api_base_url: Option<Url>,
}

impl SyncConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut r = Reader {
            lookup,
            problems: Vec::new(),
        };
        let stage = r.stage();
        let paypal_api_base_url = if r.optional("PAYPAL_API_BASE_URL").is_some() {
            r.url("PAYPAL_API_BASE_URL", stage)
        } else {
            None
        };
        // PayPal's credentials only when there is a PayPal to call.
        let needed: Vec<SecretId> = Function::ProvisioningSync
            .secrets()
            .iter()
            .copied()
            .filter(|id| *id != SecretId::Paypal || paypal_api_base_url.is_some())
            .collect();
        let secrets = secrets_location(&mut r, stage, &needed);
        let convex_site_url = r.url("CONVEX_SITE_URL", stage);
        let provisioning_url = r.url("PROVISIONING_URL", stage);
        match (stage, secrets, convex_site_url, provisioning_url) {
            (Some(stage), Some(secrets), Some(convex_site_url), Some(provisioning_url))
                if r.problems.is_empty() =>
            {
                Ok(Self {
                    stage,
                    secrets,
                    convex_site_url,
                    provisioning_url,
                    paypal_api_base_url,
                })
            }
            _ => Err(ConfigError {
                problems: r.problems,
            }),
        }
    }
}
