//! Configuration of the four dashboard functions (checkout, portal, status,
//! change-plan): Polo's API, the URLs we may hand to a browser, the cutover
//! switch and the legacy PayPal links, and the stores `apply()` writes to.

use super::Function;
use super::{
    catalogue, secrets_location, ConfigError, PoloEnvironment, Reader, SecretsLocation, Stage,
};
use crate::dashboard::Route;
use crate::polo::catalogue::Catalogue;
use time::Duration;
use url::Url;

/// Who sells new plans: the cutover switch and its rollback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillingProvider {
    Polo,
    /// Rollback: checkout and portal answer the legacy PayPal links.
    Paypal,
}

impl BillingProvider {
    fn parse(raw: &str) -> Option<Self> {
        match raw {
            "polo" => Some(Self::Polo),
            "paypal" => Some(Self::Paypal),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardConfig {
    pub stage: Stage,
    pub polo_environment: PoloEnvironment,
    pub secrets: SecretsLocation,
    pub catalogue: Catalogue,
    pub polo_api_base_url: Url,
    /// Hosts a Polo checkout or portal URL may point at (lower case).
    pub polo_allowed_hosts: Vec<String>,
    /// The dashboard's origin: success, return and embed URLs start here.
    pub app_base_url: Url,
    pub billing_provider: BillingProvider,
    /// Legacy (deprecated): required while PayPal subscribers remain, so the
    /// rollback is one variable (`BILLING_PROVIDER`) away.
    pub paypal_checkout_url: Url,
    pub paypal_manage_url: Url,
    /// The JWT claim holding the account id (`ACCOUNT_ID_CLAIM`, default `sub`).
    pub account_id_claim: String,
    pub renewal_grace: Duration,
    pub past_due_grace: Duration,
    pub convex_site_url: Url,
    pub provisioning_url: Url,
}

impl DashboardConfig {
    /// The four dashboard functions share this configuration; `route`
    /// decides which secrets it asks for (`Function::secrets`).
    pub fn from_env(route: Route) -> Result<Self, ConfigError> {
        Self::from_lookup(&|name| std::env::var(name).ok(), route)
    }

    pub fn from_lookup(
        lookup: &dyn Fn(&str) -> Option<String>,
        route: Route,
    ) -> Result<Self, ConfigError> {
        let mut r = Reader {
            lookup,
            problems: Vec::new(),
        };
        let stage = r.stage();
        let polo_environment = r.polo_environment();
        let secrets = secrets_location(&mut r, stage, Function::Dashboard(route).secrets());
        let catalogue = catalogue(&mut r);
        let polo_api_base_url = r.polo_api_base_url(stage, polo_environment);
        let raw = r.required("POLO_ALLOWED_HOSTS");
        let polo_allowed_hosts = r.parsed(
            "POLO_ALLOWED_HOSTS",
            "a comma list of host names",
            raw,
            parse_hosts,
        );
        let app_base_url = r.url("APP_BASE_URL", stage);
        let raw = r.optional("BILLING_PROVIDER");
        let billing_provider = match raw {
            None => Some(BillingProvider::Polo),
            raw => r.parsed(
                "BILLING_PROVIDER",
                "one of polo, paypal",
                raw,
                BillingProvider::parse,
            ),
        };
        let paypal_checkout_url = r.url("PAYPAL_CHECKOUT_URL", stage);
        let paypal_manage_url = r.url("PAYPAL_MANAGE_URL", stage);
        let account_id_claim = r
            .optional("ACCOUNT_ID_CLAIM")
            .map(|c| c.trim().to_owned())
            .unwrap_or_else(|| "sub".to_owned());
        let renewal_grace = r.duration_or("RENEWAL_GRACE", Duration::hours(24));
        let past_due_grace = r.duration_or("PAST_DUE_GRACE", Duration::ZERO);
        let convex_site_url = r.url("CONVEX_SITE_URL", stage);
        let provisioning_url = r.url("PROVISIONING_URL", stage);

        match (
            (stage, polo_environment, secrets, catalogue),
            (polo_api_base_url, polo_allowed_hosts, app_base_url),
            (billing_provider, paypal_checkout_url, paypal_manage_url),
            (convex_site_url, provisioning_url),
        ) {
            (
                (Some(stage), Some(polo_environment), Some(secrets), Some(catalogue)),
                (Some(polo_api_base_url), Some(polo_allowed_hosts), Some(app_base_url)),
                (Some(billing_provider), Some(paypal_checkout_url), Some(paypal_manage_url)),
                (Some(convex_site_url), Some(provisioning_url)),
            ) if r.problems.is_empty() => Ok(Self {
                stage,
                polo_environment,
                secrets,
                catalogue,
                polo_api_base_url,
                polo_allowed_hosts,
                app_base_url,
                billing_provider,
                paypal_checkout_url,
                paypal_manage_url,
                account_id_claim,
                renewal_grace,
                past_due_grace,
                convex_site_url,
                provisioning_url,
            }),
            _ => Err(ConfigError {
                problems: r.problems,
            }),
        }
    }
}

/// `sandbox.polo.example, polo.example` → lower-case host names; a scheme,
/// path, port or wildcard is refused (the list is compared exactly).
fn parse_hosts(raw: &str) -> Option<Vec<String>> {
    let hosts: Vec<String> = raw
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    let valid = |h: &String| {
        h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
            && !h.starts_with('.')
            && !h.ends_with('.')
    };
    (!hosts.is_empty() && hosts.iter().all(valid)).then_some(hosts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const LOCAL: &[(&str, &str)] = &[
        ("STAGE", "local"),
        ("POLO_ENVIRONMENT", "sandbox"),
        ("POLO_API_KEY", "polo_test_key"),
        ("CONVEX_SIGNING_SECRET", "whsec_Y29udmV4"),
        ("PROVISIONING_SIGNING_SECRET", "whsec_cHJvdg=="),
        ("POLO_PLAN_ID_STARTER", "prod_starter"),
        ("POLO_PLAN_ID_PRO", "prod_pro"),
        ("POLO_PLAN_ID_ENTERPRISE", "prod_ent"),
        ("POLO_API_BASE_URL", "http://127.0.0.1:9100"),
        ("POLO_ALLOWED_HOSTS", "sandbox.polo.example, Polo.Example"),
        ("APP_BASE_URL", "http://localhost:5173"),
        ("PAYPAL_CHECKOUT_URL", "https://www.paypal.com/checkout"),
        (
            "PAYPAL_MANAGE_URL",
            "https://www.paypal.com/myaccount/autopay",
        ),
        ("CONVEX_SITE_URL", "http://127.0.0.1:9200"),
        ("PROVISIONING_URL", "http://127.0.0.1:9300/provision"),
    ];

    fn read(vars: &[(&str, &str)], without: &[&str]) -> Result<DashboardConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .filter(|(k, _)| !without.contains(k))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        DashboardConfig::from_lookup(&|name| map.get(name).cloned(), Route::Status)
    }

    #[test]
    fn a_complete_local_environment_reads_with_defaults() {
        let config = read(LOCAL, &[]).unwrap();
        assert_eq!(config.billing_provider, BillingProvider::Polo);
        assert_eq!(config.account_id_claim, "sub");
        assert_eq!(
            config.polo_allowed_hosts,
            vec!["sandbox.polo.example".to_owned(), "polo.example".to_owned()]
        );
    }

    #[test]
    fn every_missing_variable_is_named_in_one_error() {
        let err = read(
            LOCAL,
            &["APP_BASE_URL", "POLO_ALLOWED_HOSTS", "PAYPAL_MANAGE_URL"],
        )
        .unwrap_err();
        let text = err.to_string();
        for name in ["APP_BASE_URL", "POLO_ALLOWED_HOSTS", "PAYPAL_MANAGE_URL"] {
            assert!(text.contains(&format!("{name} is missing")), "{text}");
        }
    }

    #[test]
    fn a_malformed_switch_or_host_list_is_refused_by_name() {
        let mut vars = LOCAL.to_vec();
        vars.push(("BILLING_PROVIDER", "stripe"));
        vars.retain(|(k, _)| *k != "POLO_ALLOWED_HOSTS");
        vars.push(("POLO_ALLOWED_HOSTS", "https://polo.example/path"));
        let text = read(&vars, &[]).unwrap_err().to_string();
        assert!(text.contains("BILLING_PROVIDER must be one of polo, paypal"));
        assert!(text.contains("POLO_ALLOWED_HOSTS must be a comma list of host names"));
    }

    #[test]
    fn the_paypal_switch_reads() {
        let mut vars = LOCAL.to_vec();
        vars.push(("BILLING_PROVIDER", "paypal"));
        assert_eq!(
            read(&vars, &[]).unwrap().billing_provider,
            BillingProvider::Paypal
        );
    }
}
