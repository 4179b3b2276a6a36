//! What the local server runs with: embedded defaults, or a real adapter
//! per port from a flag or its usual environment variable (design.md's
//! names; an empty value counts as unset).

use super::{LOCAL_CONVEX_SECRET, LOCAL_PROVISIONING_SECRET, LOCAL_WEBHOOK_SECRET};
use crate::sandbox::dispatcher::RetrySchedule;
use crate::sandbox::LOCAL_API_KEY;
use billing::secrets::SecretString;
use clap::Parser;
use std::path::PathBuf;
use url::Url;

/// The command line: each flag beats its environment variable, which beats
/// the embedded default (values are checked after, with the environment).
#[derive(Debug, Parser)]
#[command(
    name = "local",
    about = "The whole billing system on loopback, on embedded defaults (no AWS account, no Docker).",
    after_help = "Each flag falls back to its environment variable (in brackets), then to the embedded default; an empty variable counts as unset.\nAlso read: POLO_WEBHOOK_SECRETS, POLO_API_KEY, CONVEX_SIGNING_SECRET, PROVISIONING_SIGNING_SECRET, IDEMPOTENCY_TABLE, POLO_PLAN_ID_STARTER|PRO|ENTERPRISE, LOCAL_JWT_KEY."
)]
struct Flags {
    /// The local server's port; 0 = any free port [PORT; default 3000]
    #[arg(long, value_name = "PORT")]
    port: Option<String>,
    /// The in-process Polo sandbox's port; 0 = any free port [SANDBOX_PORT; default 8080]
    #[arg(long, value_name = "PORT")]
    sandbox_port: Option<String>,
    /// A real Polo instead of the in-process sandbox [POLO_API_BASE_URL; key: POLO_API_KEY]
    #[arg(long, value_name = "URL")]
    polo_base_url: Option<String>,
    /// A DynamoDB idempotency store [AWS_ENDPOINT_URL_DYNAMODB; table: IDEMPOTENCY_TABLE]
    #[arg(long, value_name = "URL")]
    dynamodb_endpoint: Option<String>,
    /// A Convex account store [CONVEX_SITE_URL; secret: CONVEX_SIGNING_SECRET]
    #[arg(long, value_name = "URL")]
    convex_site_url: Option<String>,
    /// A real provisioning orchestrator [PROVISIONING_URL; secret: PROVISIONING_SIGNING_SECRET]
    #[arg(long, value_name = "URL")]
    provisioning_url: Option<String>,
    /// The dashboard's origin [APP_BASE_URL; default: this server]
    #[arg(long, value_name = "URL")]
    app_base_url: Option<String>,
    /// The sandbox's products [default: tools/sandbox-products.json]
    #[arg(long, value_name = "FILE")]
    products: Option<PathBuf>,
    /// What the terminal shows: one line per request (human), or the
    /// functions' JSON logs (json)
    #[arg(long, value_enum, default_value = "human")]
    log_format: super::console::LogFormat,
    /// Where the JSON logs go in human mode
    #[arg(long, value_name = "FILE", default_value = "target/local-server.log")]
    log_file: PathBuf,
}

/// Why the options were refused: the command line itself (help included,
/// which clap prints to stdout with exit 0; a usage error to stderr with
/// exit 2), or a value from a flag or the environment.
#[derive(Debug)]
pub enum OptionsError {
    Cli(clap::Error),
    Invalid(String),
}

impl std::fmt::Display for OptionsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cli(err) => write!(f, "{err}"),
            Self::Invalid(message) => f.write_str(message),
        }
    }
}

pub struct LocalOptions {
    pub port: u16,
    pub sandbox_port: u16,
    /// JSON list (or single secret): the intakes verify with all, the
    /// sandbox signs with the first.
    pub webhook_secrets: String,
    pub polo_base_url: Option<Url>,
    pub polo_api_key: SecretString,
    pub dynamodb_endpoint: Option<Url>,
    pub idempotency_table: String,
    pub convex_site_url: Option<Url>,
    pub convex_signing_secret: SecretString,
    pub provisioning_url: Option<Url>,
    pub provisioning_signing_secret: SecretString,
    pub app_base_url: Option<Url>,
    pub products_file: PathBuf,
    /// Product ids per tier (comma lists, as `POLO_PLAN_ID_*`).
    pub plans: (String, String, String),
    pub jwt_key: SecretString,
    /// The sandbox's webhook retry schedule.
    pub webhook_retry: RetrySchedule,
    /// The JSON logs' file when the terminal shows request lines; `None`:
    /// the JSON logs are the terminal (`--log-format json`).
    pub log_file: Option<PathBuf>,
}

impl LocalOptions {
    /// Everything embedded, on the README's ports.
    pub fn embedded() -> Self {
        let (starter, pro, enterprise) = super::LOCAL_PRODUCTS;
        Self {
            port: 3000,
            sandbox_port: 8080,
            webhook_secrets: format!(r#"["{LOCAL_WEBHOOK_SECRET}"]"#),
            polo_base_url: None,
            polo_api_key: SecretString::new(LOCAL_API_KEY),
            dynamodb_endpoint: None,
            idempotency_table: "polo-billing-idempotency-local".into(),
            convex_site_url: None,
            convex_signing_secret: SecretString::new(LOCAL_CONVEX_SECRET),
            provisioning_url: None,
            provisioning_signing_secret: SecretString::new(LOCAL_PROVISIONING_SECRET),
            app_base_url: None,
            products_file: crate::sandbox::products::default_path(),
            plans: (starter.into(), pro.into(), enterprise.into()),
            jwt_key: SecretString::new(super::jwt::LOCAL_JWT_KEY),
            webhook_retry: RetrySchedule::default(),
            log_file: None,
        }
    }

    /// Reads flags (`args`, without the program name) over the environment
    /// (`env`) over the embedded defaults. Every problem is named.
    pub fn parse(
        args: &[String],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, OptionsError> {
        let args = billing::cli_args::help_word_as_flag(args, false);
        let parsed = Flags::try_parse_from(std::iter::once("local".to_owned()).chain(args))
            .map_err(OptionsError::Cli)?;
        Self::from_flags(parsed, env).map_err(OptionsError::Invalid)
    }

    fn from_flags(parsed: Flags, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, String> {
        let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let flags: std::collections::HashMap<&str, String> = [
            ("--port", parsed.port),
            ("--sandbox-port", parsed.sandbox_port),
            ("--polo-base-url", parsed.polo_base_url),
            ("--dynamodb-endpoint", parsed.dynamodb_endpoint),
            ("--convex-site-url", parsed.convex_site_url),
            ("--provisioning-url", parsed.provisioning_url),
            ("--app-base-url", parsed.app_base_url),
        ]
        .into_iter()
        .filter_map(|(flag, value)| value.map(|v| (flag, v)))
        .collect();
        let pick = |flag: &str, var: &str| flags.get(flag).cloned().or_else(|| env(var));
        let url = |flag: &str, var: &str| -> Result<Option<Url>, String> {
            pick(flag, var)
                .map(|raw| Url::parse(raw.trim()).map_err(|e| format!("{flag} / {var}: {e}")))
                .transpose()
        };
        let port = |flag: &str, var: &str, default: u16| -> Result<u16, String> {
            pick(flag, var).map_or(Ok(default), |raw| {
                raw.trim()
                    .parse()
                    .map_err(|_| format!("{flag} / {var} must be a port number"))
            })
        };
        let mut options = Self::embedded();
        options.port = port("--port", "PORT", 3000)?;
        options.sandbox_port = port("--sandbox-port", "SANDBOX_PORT", 8080)?;
        options.polo_base_url = url("--polo-base-url", "POLO_API_BASE_URL")?;
        options.dynamodb_endpoint = url("--dynamodb-endpoint", "AWS_ENDPOINT_URL_DYNAMODB")?;
        options.convex_site_url = url("--convex-site-url", "CONVEX_SITE_URL")?;
        options.provisioning_url = url("--provisioning-url", "PROVISIONING_URL")?;
        options.app_base_url = url("--app-base-url", "APP_BASE_URL")?;
        if let Some(file) = parsed.products {
            options.products_file = file;
        }
        options.log_file =
            (parsed.log_format == super::console::LogFormat::Human).then_some(parsed.log_file);
        if let Some(v) = env("POLO_WEBHOOK_SECRETS") {
            options.webhook_secrets = v;
        }
        if let Some(v) = env("IDEMPOTENCY_TABLE") {
            options.idempotency_table = v;
        }
        let secret = |var: &str, slot: &mut SecretString| {
            if let Some(v) = env(var) {
                *slot = SecretString::new(v);
            }
        };
        secret("POLO_API_KEY", &mut options.polo_api_key);
        secret("CONVEX_SIGNING_SECRET", &mut options.convex_signing_secret);
        secret(
            "PROVISIONING_SIGNING_SECRET",
            &mut options.provisioning_signing_secret,
        );
        secret("LOCAL_JWT_KEY", &mut options.jwt_key);
        if let Some(v) = env("POLO_PLAN_ID_STARTER") {
            options.plans.0 = v;
        }
        if let Some(v) = env("POLO_PLAN_ID_PRO") {
            options.plans.1 = v;
        }
        if let Some(v) = env("POLO_PLAN_ID_ENTERPRISE") {
            options.plans.2 = v;
        }
        Ok(options)
    }

    /// The secret the sandbox signs webhooks with: the list's first.
    pub fn signing_secret(&self) -> Result<SecretString, String> {
        let list = billing::polo::verifier::WebhookSecret::parse_list(&SecretString::new(
            self.webhook_secrets.clone(),
        ))
        .map_err(|e| format!("POLO_WEBHOOK_SECRETS: {e}"))?;
        if list.is_empty() {
            return Err("POLO_WEBHOOK_SECRETS: empty".into());
        }
        let raw = self.webhook_secrets.trim();
        let first = if raw.starts_with('[') {
            serde_json::from_str::<Vec<String>>(raw)
                .ok()
                .and_then(|v| v.into_iter().next())
        } else {
            Some(raw.to_owned())
        };
        first
            .map(SecretString::new)
            .ok_or_else(|| "POLO_WEBHOOK_SECRETS: empty".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &str, vars: &[(&str, &str)]) -> Result<LocalOptions, OptionsError> {
        let args: Vec<String> = args.split_whitespace().map(str::to_owned).collect();
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        LocalOptions::parse(&args, &|name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn no_flags_and_no_environment_mean_everything_embedded() {
        let options = parse("", &[("AWS_ENDPOINT_URL_DYNAMODB", "")]).unwrap();
        assert_eq!((options.port, options.sandbox_port), (3000, 8080));
        assert!(options.polo_base_url.is_none() && options.dynamodb_endpoint.is_none());
        assert!(options.convex_site_url.is_none() && options.provisioning_url.is_none());
    }

    #[test]
    fn a_flag_wins_over_its_environment_variable_and_bad_values_are_named() {
        let options = parse(
            "--dynamodb-endpoint http://127.0.0.1:5055 --port 0",
            &[
                ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9999"),
                ("CONVEX_SITE_URL", "http://127.0.0.1:3210"),
            ],
        )
        .unwrap();
        assert_eq!(
            options.dynamodb_endpoint.unwrap().as_str(),
            "http://127.0.0.1:5055/"
        );
        assert_eq!(options.port, 0);
        assert!(options.convex_site_url.is_some());
        let err = |args: &str| {
            parse(args, &[])
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(err("--port x").contains("--port / PORT"));
        assert!(
            err("--bogus 1").contains("unexpected argument '--bogus'"),
            "{}",
            err("--bogus 1")
        );
        assert!(matches!(
            parse("--bogus 1", &[]),
            Err(OptionsError::Cli(e)) if e.kind() == clap::error::ErrorKind::UnknownArgument
        ));
    }

    #[test]
    fn the_sandbox_signs_with_the_first_configured_webhook_secret() {
        let options = parse("", &[]).unwrap();
        assert_eq!(
            options.signing_secret().unwrap().expose(),
            LOCAL_WEBHOOK_SECRET
        );
    }

    #[test]
    fn help_is_help_and_says_zero_is_any_free_port() {
        for line in ["--help", "-h", "help", "--port 1 help", "--port 1 --help"] {
            let Err(OptionsError::Cli(err)) = parse(line, &[]) else {
                panic!("{line} is help");
            };
            assert_eq!(err.kind(), clap::error::ErrorKind::DisplayHelp, "{line}");
            assert!(err.to_string().contains("0 = any free port"), "{line}");
        }
    }
}
