//! Typed configuration, read once at cold start. Every missing or malformed
//! variable is collected and named in ONE error, and the function refuses to
//! start: a misconfigured deploy fails at init, not on a customer's webhook.
//! Values are never echoed (some variables are secrets when `STAGE=local`).

use crate::secrets::SecretId;
use std::collections::HashMap;
use std::fmt;
use time::Duration;

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

    fn duration_or(&mut self, name: &str, default: Duration) -> Duration {
        let raw = self.optional(name);
        if raw.is_none() {
            return default;
        }
        self.parsed(name, "a duration like 30s, 15m, 24h or 2d", raw, parse_duration)
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
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    /// Reads through any lookup (a map in tests).
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut r = Reader {
            lookup,
            problems: Vec::new(),
        };
        let raw = r.required("STAGE");
        let stage = r.parsed("STAGE", "one of local, dev, staging, prod", raw, Stage::parse);
        let raw = r.required("POLO_ENVIRONMENT");
        let polo_environment = r.parsed(
            "POLO_ENVIRONMENT",
            "one of sandbox, production",
            raw,
            PoloEnvironment::parse,
        );
        let idempotency_table = r.required("IDEMPOTENCY_TABLE");
        let secrets = webhook_secrets(&mut r, stage);
        let renewal_grace = r.duration_or("RENEWAL_GRACE", Duration::hours(24));
        let past_due_grace = r.duration_or("PAST_DUE_GRACE", Duration::ZERO);

        match (stage, polo_environment, idempotency_table, secrets) {
            (Some(stage), Some(polo_environment), Some(idempotency_table), Some(secrets))
                if r.problems.is_empty() =>
            {
                Ok(Self {
                    stage,
                    polo_environment,
                    idempotency_table,
                    secrets,
                    renewal_grace,
                    past_due_grace,
                })
            }
            _ => Err(ConfigError {
                problems: r.problems,
            }),
        }
    }
}

/// A deployed stage reads the webhook secret from Secrets Manager; only
/// `STAGE=local` may take it from `POLO_WEBHOOK_SECRETS`.
fn webhook_secrets(r: &mut Reader<'_>, stage: Option<Stage>) -> Option<SecretsLocation> {
    let arn = r.optional("POLO_WEBHOOK_SECRET_ARN");
    let local_value = r.optional("POLO_WEBHOOK_SECRETS").is_some();
    match (stage, arn, local_value) {
        (_, Some(arn), _) => {
            if !arn.starts_with("arn:") {
                r.problems
                    .push("POLO_WEBHOOK_SECRET_ARN must be a Secrets Manager ARN".to_owned());
                return None;
            }
            if local_value && stage != Some(Stage::Local) {
                r.problems
                    .push("POLO_WEBHOOK_SECRETS is only allowed with STAGE=local".to_owned());
            }
            Some(SecretsLocation::SecretsManager(HashMap::from([(
                SecretId::PoloWebhook,
                arn,
            )])))
        }
        (Some(Stage::Local), None, true) => Some(SecretsLocation::Environment),
        (Some(Stage::Local), None, false) => {
            r.problems.push(
                "POLO_WEBHOOK_SECRET_ARN is missing (or, with STAGE=local, POLO_WEBHOOK_SECRETS)"
                    .to_owned(),
            );
            None
        }
        (_, None, local) => {
            r.problems.push("POLO_WEBHOOK_SECRET_ARN is missing".to_owned());
            if local {
                r.problems
                    .push("POLO_WEBHOOK_SECRETS is only allowed with STAGE=local".to_owned());
            }
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<WebhookConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        WebhookConfig::from_lookup(&|name| map.get(name).cloned())
    }

    const DEPLOYED: &[(&str, &str)] = &[
        ("STAGE", "prod"),
        ("POLO_ENVIRONMENT", "production"),
        ("IDEMPOTENCY_TABLE", "billing-idempotency"),
        (
            "POLO_WEBHOOK_SECRET_ARN",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:polo-webhook",
        ),
    ];

    #[test]
    fn a_complete_deployed_environment_reads_with_defaults() {
        let config = read(DEPLOYED).unwrap();
        assert_eq!(config.stage, Stage::Prod);
        assert_eq!(config.renewal_grace, Duration::hours(24));
        assert_eq!(config.past_due_grace, Duration::ZERO);
        assert!(matches!(config.secrets, SecretsLocation::SecretsManager(_)));
    }

    #[test]
    fn every_missing_variable_is_named_in_one_error() {
        let err = read(&[]).unwrap_err();
        let text = err.to_string();
        for name in ["STAGE", "POLO_ENVIRONMENT", "IDEMPOTENCY_TABLE", "POLO_WEBHOOK_SECRET_ARN"] {
            assert!(text.contains(&format!("{name} is missing")), "{text}");
        }
    }

    #[test]
    fn malformed_values_are_named_without_echoing_them() {
        let err = read(&[
            ("STAGE", "production-ish"),
            ("POLO_ENVIRONMENT", "live"),
            ("IDEMPOTENCY_TABLE", "t"),
            ("POLO_WEBHOOK_SECRET_ARN", "whsec_pasted-the-secret-here"),
            ("RENEWAL_GRACE", "one day"),
        ])
        .unwrap_err();
        let text = err.to_string();
        assert_eq!(err.problems.len(), 4, "{text}");
        assert!(text.contains("STAGE must be one of local, dev, staging, prod"));
        assert!(text.contains("POLO_ENVIRONMENT must be one of sandbox, production"));
        assert!(text.contains("POLO_WEBHOOK_SECRET_ARN must be a Secrets Manager ARN"));
        assert!(text.contains("RENEWAL_GRACE must be a duration"));
        assert!(!text.contains("pasted-the-secret"));
        assert!(!text.contains("production-ish"));
    }

    #[test]
    fn a_local_stage_may_take_webhook_secrets_from_the_environment() {
        let config = read(&[
            ("STAGE", "local"),
            ("POLO_ENVIRONMENT", "sandbox"),
            ("IDEMPOTENCY_TABLE", "t"),
            ("POLO_WEBHOOK_SECRETS", r#"["whsec_x"]"#),
            ("PAST_DUE_GRACE", "3d"),
        ])
        .unwrap();
        assert_eq!(config.secrets, SecretsLocation::Environment);
        assert_eq!(config.past_due_grace, Duration::days(3));
    }

    #[test]
    fn a_deployed_stage_refuses_plain_secrets_in_the_environment() {
        let mut vars = DEPLOYED.to_vec();
        vars.push(("POLO_WEBHOOK_SECRETS", r#"["whsec_x"]"#));
        let err = read(&vars).unwrap_err();
        assert_eq!(
            err.problems,
            vec!["POLO_WEBHOOK_SECRETS is only allowed with STAGE=local"]
        );
    }

    #[test]
    fn durations_parse_in_each_unit_and_refuse_anything_else() {
        assert_eq!(parse_duration("30s"), Some(Duration::seconds(30)));
        assert_eq!(parse_duration("15m"), Some(Duration::minutes(15)));
        assert_eq!(parse_duration("24h"), Some(Duration::hours(24)));
        assert_eq!(parse_duration("2d"), Some(Duration::days(2)));
        for bad in ["", "h", "-1h", "1.5h", "1w", "24 h"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }
}
