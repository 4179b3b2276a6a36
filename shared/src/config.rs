//! Typed configuration, read once at cold start. Every missing or malformed
//! variable is collected and named in ONE error, and the function refuses to
//! start: a misconfigured deploy fails at init, not on a customer's webhook.
//! Values are never echoed (some variables are secrets when `STAGE=local`).

use crate::polo::catalogue::Catalogue;
use crate::secrets::SecretId;
use std::collections::HashMap;
use std::fmt;
use time::Duration;
use url::Url;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Local,
    Dev,
    Staging,
    Prod,
}

impl Stage {
    fn parse(raw: &str) -> Option<Self> {
        match raw {
            "local" => Some(Self::Local),
            "dev" => Some(Self::Dev),
            "staging" => Some(Self::Staging),
            "prod" => Some(Self::Prod),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Dev => "dev",
            Self::Staging => "staging",
            Self::Prod => "prod",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoloEnvironment {
    Sandbox,
    Production,
}

impl PoloEnvironment {
    fn parse(raw: &str) -> Option<Self> {
        match raw {
            "sandbox" => Some(Self::Sandbox),
            "production" => Some(Self::Production),
            _ => None,
        }
    }
}

/// Where this function's secrets come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretsLocation {
    /// Secrets Manager ARNs, one per concern (deployed stages).
    SecretsManager(HashMap<SecretId, String>),
    /// Plain environment variables: `STAGE=local` only.
    Environment,
}

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

/// Every problem found, each naming its variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration: {}", self.problems.join("; "))
    }
}

impl std::error::Error for ConfigError {}

/// Reads variables through a lookup and collects problems instead of
/// stopping at the first.
struct Reader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    problems: Vec<String>,
}

impl Reader<'_> {
    fn optional(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    fn required(&mut self, name: &str) -> Option<String> {
        let value = self.optional(name);
        if value.is_none() {
            self.problems.push(format!("{name} is missing"));
        }
        value
    }

    fn parsed<T>(
        &mut self,
        name: &str,
        expected: &str,
        raw: Option<String>,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<T> {
        let raw = raw?;
        let value = parse(raw.trim());
        if value.is_none() {
            self.problems.push(format!("{name} must be {expected}"));
        }
        value
    }

    /// A required URL: https, or plain http to loopback with `STAGE=local`.
    fn url(&mut self, name: &str, stage: Option<Stage>) -> Option<Url> {
        let raw = self.required(name)?;
        let Ok(url) = Url::parse(raw.trim()) else {
            self.problems
                .push(format!("{name} must be an absolute URL"));
            return None;
        };
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        let allowed = url.scheme() == "https"
            || (url.scheme() == "http" && loopback && stage == Some(Stage::Local));
        if !allowed {
            self.problems.push(format!(
                "{name} must be https (plain http only to loopback with STAGE=local)"
            ));
            return None;
        }
        Some(url)
    }

    fn duration_or(&mut self, name: &str, default: Duration) -> Duration {
        let raw = self.optional(name);
        if raw.is_none() {
            return default;
        }
        self.parsed(
            name,
            "a duration like 30s, 15m, 24h or 2d",
            raw,
            parse_duration,
        )
        .unwrap_or(default)
    }
}

/// Parses `<n>s|m|h|d` (a non-negative whole number and one unit).
pub fn parse_duration(raw: &str) -> Option<Duration> {
    let split = raw.len().checked_sub(1)?;
    let (number, unit) = raw.split_at(split);
    let n: i64 = number.parse().ok().filter(|n: &i64| *n >= 0)?;
    match unit {
        "s" => Some(Duration::seconds(n)),
        "m" => Some(Duration::minutes(n)),
        "h" => Some(Duration::hours(n)),
        "d" => Some(Duration::days(n)),
        _ => None,
    }
}

impl WebhookConfig {
    /// Reads the process environment. `calls_polo`: this function calls
    /// Polo's API (payment-succeeded), so it needs the API base URL and key.
    pub fn from_env(calls_polo: bool) -> Result<Self, ConfigError> {
        Self::from_lookup(&|name| std::env::var(name).ok(), calls_polo)
    }

    /// Reads through any lookup (a map in tests).
    pub fn from_lookup(
        lookup: &dyn Fn(&str) -> Option<String>,
        calls_polo: bool,
    ) -> Result<Self, ConfigError> {
        let mut r = Reader {
            lookup,
            problems: Vec::new(),
        };
        let raw = r.required("STAGE");
        let stage = r.parsed(
            "STAGE",
            "one of local, dev, staging, prod",
            raw,
            Stage::parse,
        );
        let raw = r.required("POLO_ENVIRONMENT");
        let polo_environment = r.parsed(
            "POLO_ENVIRONMENT",
            "one of sandbox, production",
            raw,
            PoloEnvironment::parse,
        );
        let idempotency_table = r.required("IDEMPOTENCY_TABLE");
        let mut needed = vec![SecretId::PoloWebhook, SecretId::Downstream];
        if calls_polo {
            needed.push(SecretId::PoloApiKey);
        }
        let secrets = secrets_location(&mut r, stage, &needed);
        let renewal_grace = r.duration_or("RENEWAL_GRACE", Duration::hours(24));
        let past_due_grace = r.duration_or("PAST_DUE_GRACE", Duration::ZERO);
        let catalogue = catalogue(&mut r);
        let convex_site_url = r.url("CONVEX_SITE_URL", stage);
        let provisioning_url = r.url("PROVISIONING_URL", stage);
        let polo_api_base_url = if calls_polo {
            r.url("POLO_API_BASE_URL", stage)
        } else {
            None
        };
        if polo_environment == Some(PoloEnvironment::Production)
            && polo_api_base_url
                .as_ref()
                .is_some_and(|u| u.scheme() != "https")
        {
            r.problems.push(
                "POLO_API_BASE_URL must be https with POLO_ENVIRONMENT=production".to_owned(),
            );
        }

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
        let raw = r.required("STAGE");
        let stage = r.parsed(
            "STAGE",
            "one of local, dev, staging, prod",
            raw,
            Stage::parse,
        );
        let secrets = secrets_location(&mut r, stage, &[SecretId::Downstream]);
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
                })
            }
            _ => Err(ConfigError {
                problems: r.problems,
            }),
        }
    }
}

fn catalogue(r: &mut Reader<'_>) -> Option<Catalogue> {
    let starter = r.required("POLO_PLAN_ID_STARTER");
    let pro = r.required("POLO_PLAN_ID_PRO");
    let enterprise = r.required("POLO_PLAN_ID_ENTERPRISE");
    let (starter, pro, enterprise) = (starter?, pro?, enterprise?);
    Catalogue::from_lists(&starter, &pro, &enterprise)
        .map_err(|problems| {
            r.problems
                .extend(problems.into_iter().map(|p| p.to_string()));
        })
        .ok()
}

/// The Secrets Manager ARN variable of each secret, and the plain
/// variables that may stand in for it with `STAGE=local`.
fn secret_variables(id: SecretId) -> (&'static str, &'static [&'static str]) {
    match id {
        SecretId::PoloWebhook => ("POLO_WEBHOOK_SECRET_ARN", &["POLO_WEBHOOK_SECRETS"]),
        SecretId::PoloApiKey => ("POLO_API_KEY_SECRET_ARN", &["POLO_API_KEY"]),
        SecretId::Downstream => (
            "DOWNSTREAM_SECRET_ARN",
            &["CONVEX_SIGNING_SECRET", "PROVISIONING_SIGNING_SECRET"],
        ),
    }
}

/// Deployed stages read every secret from Secrets Manager by ARN; only
/// `STAGE=local` may take them all from plain variables instead.
fn secrets_location(
    r: &mut Reader<'_>,
    stage: Option<Stage>,
    needed: &[SecretId],
) -> Option<SecretsLocation> {
    let local = stage == Some(Stage::Local);
    let mut arns = HashMap::new();
    let mut missing = Vec::new();
    for &id in needed {
        let (arn_var, local_vars) = secret_variables(id);
        let set: Vec<&str> = local_vars
            .iter()
            .copied()
            .filter(|v| r.optional(v).is_some())
            .collect();
        if !local {
            for var in &set {
                r.problems
                    .push(format!("{var} is only allowed with STAGE=local"));
            }
        }
        match r.optional(arn_var) {
            Some(arn) if arn.starts_with("arn:") => {
                arns.insert(id, arn);
            }
            Some(_) => r
                .problems
                .push(format!("{arn_var} must be a Secrets Manager ARN")),
            None if local && set.len() == local_vars.len() => {}
            None if local => missing.push(format!(
                "{arn_var} is missing (or, with STAGE=local, {})",
                local_vars.join(" and ")
            )),
            None => missing.push(format!("{arn_var} is missing")),
        }
    }
    r.problems.extend(missing);
    if !r.problems.is_empty() {
        return None;
    }
    if arns.is_empty() {
        Some(SecretsLocation::Environment)
    } else if arns.len() == needed.len() {
        Some(SecretsLocation::SecretsManager(arns))
    } else {
        r.problems.push(
            "secrets must all come from Secrets Manager ARNs or, with STAGE=local, all from plain variables".to_owned(),
        );
        None
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
