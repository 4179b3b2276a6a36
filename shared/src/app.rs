//! What a function builds once at cold start: configuration, AWS clients,
//! ports. Handlers then borrow it for every invocation.

use crate::clock::SystemClock;
use crate::config::{ConfigError, SecretsLocation, WebhookConfig};
use crate::handlers::webhooks::RecordingHandler;
use crate::idempotency::DynamoDbIdempotencyStore;
use crate::polo::routing::Endpoint;
use crate::secrets::{CachedSecretSource, EnvSecretSource, SecretSource, SecretsManagerSource};
use crate::telemetry::{error_chain, EmfStdout};
use crate::webhook::{Intake, WebhookKeys};
use std::sync::Arc;
use time::Duration;

/// Why a function refused to start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// Builds a webhook function's intake from the process environment.
pub async fn webhook_intake(endpoint: Endpoint) -> Result<Intake, StartupError> {
    let config = WebhookConfig::from_env()?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let clock = Arc::new(SystemClock);
    let source: Arc<dyn SecretSource> = match &config.secrets {
        SecretsLocation::SecretsManager(arns) => Arc::new(SecretsManagerSource::new(
            aws_sdk_secretsmanager::Client::new(&aws),
            arns.clone(),
        )),
        SecretsLocation::Environment => {
            Arc::new(EnvSecretSource::from_lookup(|name| std::env::var(name).ok()))
        }
    };
    let keys = Arc::new(WebhookKeys::new(Arc::new(CachedSecretSource::new(
        source,
        clock.clone(),
    ))));
    // Warm the secret during init (not billed per request); a failure here
    // is not fatal: each request retries and answers 503 until it works.
    if let Err(err) = keys.current().await {
        tracing::warn!(error = %error_chain(&err), "webhook secret not readable at init");
    }
    let store = DynamoDbIdempotencyStore::new(
        aws_sdk_dynamodb::Client::new(&aws),
        config.idempotency_table.clone(),
    );
    Ok(Intake {
        endpoint,
        store: Arc::new(store),
        keys,
        clock,
        metrics: Arc::new(EmfStdout),
        handler: Arc::new(RecordingHandler::default()),
        fallback_lease: Duration::seconds(9),
    })
}
