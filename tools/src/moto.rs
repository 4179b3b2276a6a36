//! The DynamoDB and Secrets Manager emulator (moto) as the harnesses and
//! binary tests reach it: SDK clients with moto's fixed test credentials, a
//! fresh table, a fresh secret.

use billing::idempotency::DynamoDbIdempotencyStore;
use std::sync::atomic::{AtomicUsize, Ordering};

static TABLES: AtomicUsize = AtomicUsize::new(0);

/// A DynamoDB client for the emulator at `endpoint` (credentials `test`).
pub fn dynamodb_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::config::Builder::new()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "moto",
        ))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// A new idempotency table on the emulator at `endpoint`, named
/// `<prefix>-<pid>-<n>-<micros>`: never one another test or run already
/// made, even when a long-lived emulator outlives a reused process id.
pub async fn fresh_table(endpoint: &str, prefix: &str) -> Result<String, String> {
    let n = TABLES.fetch_add(1, Ordering::Relaxed);
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() % 1_000_000_000_000);
    let name = format!("{prefix}-{}-{n}-{micros}", std::process::id());
    DynamoDbIdempotencyStore::create_table(&dynamodb_client(endpoint), &name)
        .await
        .map_err(|e| billing::telemetry::error_chain(&e))?;
    Ok(name)
}

/// A Secrets Manager client for the emulator at `endpoint` (credentials `test`).
pub fn secretsmanager_client(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::config::Builder::new()
        .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
        .region(aws_sdk_secretsmanager::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            "test", "test", None, None, "moto",
        ))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

/// A new secret holding `value` on the emulator, named `<prefix>-<pid>-<n>`;
/// returns its ARN.
pub async fn fresh_secret(
    client: &aws_sdk_secretsmanager::Client,
    prefix: &str,
    value: &str,
) -> Result<String, String> {
    let n = TABLES.fetch_add(1, Ordering::Relaxed);
    let name = format!("{prefix}-{}-{n}", std::process::id());
    let created = client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .map_err(|e| billing::telemetry::error_chain(&e))?;
    created
        .arn()
        .map(str::to_owned)
        .ok_or_else(|| "the emulator returned no ARN".to_owned())
}
