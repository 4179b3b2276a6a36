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
    pub(crate) fn parse(raw: &str) -> Option<Self> {
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
    pub(crate) fn parse(raw: &str) -> Option<Self> {
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

/// Every problem found, each naming its variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let messages: Vec<&str> = self.problems.iter().map(|p| p.message.as_str()).collect();
        write!(f, "invalid configuration: {}", messages.join("; "))
    }
}

/// One problem of one variable. The variable is kept apart so a caller
/// (preflight) can tell which variable is at fault without reading the
/// sentence; the sentence is what people read, and it names the variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The variable at fault; empty when the problem is about several at
    /// once (secrets split between ARNs and plain variables).
    pub variable: String,
    /// The whole sentence, variable included: `STAGE is missing`.
    pub message: String,
}

impl Problem {
    pub fn new(variable: &str, message: impl Into<String>) -> Self {
        Self {
            variable: variable.to_owned(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A problem compares equal to its sentence, so a list of problems can be
/// checked against the sentences people read.
impl PartialEq<&str> for Problem {
    fn eq(&self, other: &&str) -> bool {
        self.message == *other
    }
}

impl PartialEq<String> for Problem {
    fn eq(&self, other: &String) -> bool {
        self.message == *other
    }
}

impl std::error::Error for ConfigError {}

/// Reads variables through a lookup and collects problems instead of
/// stopping at the first.
pub(crate) struct Reader<'a> {
    pub(crate) lookup: &'a dyn Fn(&str) -> Option<String>,
    pub(crate) problems: Vec<Problem>,
}

impl Reader<'_> {
    pub(crate) fn problem(&mut self, variable: &str, message: String) {
        self.problems.push(Problem::new(variable, message));
    }

    pub(crate) fn optional(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    pub(crate) fn required(&mut self, name: &str) -> Option<String> {
        let value = self.optional(name);
        if value.is_none() {
            self.problem(name, format!("{name} is missing"));
        }
        value
    }

    pub(crate) fn parsed<T>(
        &mut self,
        name: &str,
        expected: &str,
        raw: Option<String>,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<T> {
        let raw = raw?;
        let value = parse(raw.trim());
        if value.is_none() {
            self.problem(name, format!("{name} must be {expected}"));
        }
        value
    }

    /// A required URL: https, or plain http to loopback with `STAGE=local`.
    pub(crate) fn url(&mut self, name: &str, stage: Option<Stage>) -> Option<Url> {
        let raw = self.required(name)?;
        let Ok(url) = Url::parse(raw.trim()) else {
            self.problem(name, format!("{name} must be an absolute URL"));
            return None;
        };
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        let allowed = url.scheme() == "https"
            || (url.scheme() == "http" && loopback && stage == Some(Stage::Local));
        if !allowed {
            self.problem(
                name,
                format!("{name} must be https (plain http only to loopback with STAGE=local)"),
            );
            return None;
        }
        Some(url)
    }

    /// `STAGE`, required.
    pub(crate) fn stage(&mut self) -> Option<Stage> {
        let raw = self.required("STAGE");
        self.parsed(
            "STAGE",
            "one of local, dev, staging, prod",
            raw,
            Stage::parse,
        )
    }

    /// `POLO_ENVIRONMENT`, required.
    pub(crate) fn polo_environment(&mut self) -> Option<PoloEnvironment> {
        let raw = self.required("POLO_ENVIRONMENT");
        self.parsed(
            "POLO_ENVIRONMENT",
            "one of sandbox, production",
            raw,
            PoloEnvironment::parse,
        )
    }

    /// `POLO_API_BASE_URL`: https (loopback http only when local), and
    /// never anything but https against Polo's production environment.
    pub(crate) fn polo_api_base_url(
        &mut self,
        stage: Option<Stage>,
        environment: Option<PoloEnvironment>,
    ) -> Option<Url> {
        let url = self.url("POLO_API_BASE_URL", stage);
        if environment == Some(PoloEnvironment::Production)
            && url.as_ref().is_some_and(|u| u.scheme() != "https")
        {
            self.problem(
                "POLO_API_BASE_URL",
                "POLO_API_BASE_URL must be https with POLO_ENVIRONMENT=production".to_owned(),
            );
        }
        url
    }

    pub(crate) fn duration_or(&mut self, name: &str, default: Duration) -> Duration {
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

pub(crate) fn catalogue(r: &mut Reader<'_>) -> Option<Catalogue> {
    let starter = r.required("POLO_PLAN_ID_STARTER");
    let pro = r.required("POLO_PLAN_ID_PRO");
    let enterprise = r.required("POLO_PLAN_ID_ENTERPRISE");
    let (starter, pro, enterprise) = (starter?, pro?, enterprise?);
    Catalogue::from_lists(&starter, &pro, &enterprise)
        .map_err(|problems| {
            r.problems.extend(
                problems
                    .into_iter()
                    .map(|p| Problem::new(p.variable(), p.to_string())),
            );
        })
        .ok()
}

/// The Secrets Manager ARN variable of each secret, and the plain
/// variables that may stand in for it with `STAGE=local`.
pub fn secret_variables(id: SecretId) -> (&'static str, &'static [&'static str]) {
    match id {
        SecretId::PoloWebhook => ("POLO_WEBHOOK_SECRET_ARN", &["POLO_WEBHOOK_SECRETS"]),
        SecretId::PoloApiKey => ("POLO_API_KEY_SECRET_ARN", &["POLO_API_KEY"]),
        SecretId::ConvexSigning => ("CONVEX_SIGNING_SECRET_ARN", &["CONVEX_SIGNING_SECRET"]),
        SecretId::ProvisioningSigning => (
            "PROVISIONING_SIGNING_SECRET_ARN",
            &["PROVISIONING_SIGNING_SECRET"],
        ),
        SecretId::Paypal => (
            "PAYPAL_SECRET_ARN",
            &["PAYPAL_CLIENT_ID", "PAYPAL_CLIENT_SECRET"],
        ),
    }
}

/// Deployed stages read every secret from Secrets Manager by ARN; only
/// `STAGE=local` may take them all from plain variables instead.
pub(crate) fn secrets_location(
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
                r.problem(var, format!("{var} is only allowed with STAGE=local"));
            }
        }
        match r.optional(arn_var) {
            Some(arn) if arn.starts_with("arn:") => {
                arns.insert(id, arn);
            }
            Some(_) => r.problem(arn_var, format!("{arn_var} must be a Secrets Manager ARN")),
            None if local && set.len() == local_vars.len() => {}
            None if local => missing.push(Problem::new(
                arn_var,
                format!(
                    "{arn_var} is missing (or, with STAGE=local, {})",
                    local_vars.join(" and ")
                ),
            )),
            None => missing.push(Problem::new(arn_var, format!("{arn_var} is missing"))),
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
        r.problem(
            "",
            "secrets must all come from Secrets Manager ARNs or, with STAGE=local, all from plain variables".to_owned(),
        );
        None
    }
}

mod dashboard;
mod functions;
mod reconcile;
mod webhook;

pub use dashboard::{BillingProvider, DashboardConfig};
pub use functions::Function;
pub use reconcile::ReconcileConfig;
pub use webhook::{SyncConfig, WebhookConfig};

#[cfg(test)]
mod tests;
