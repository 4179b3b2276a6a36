//! Clients for the DynamoDB / Secrets Manager emulator (moto server), which
//! the project's test command starts and announces in `MOTO_ENDPOINT`. A test
//! that needs it fails loudly without it: a silently skipped test is a defect.

use billing::idempotency::DynamoDbIdempotencyStore;
use std::sync::atomic::{AtomicUsize, Ordering};

pub fn moto_endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").expect(
        "MOTO_ENDPOINT is not set: run the project's test command (scripts/test.sh), \
         which starts the DynamoDB/Secrets Manager emulator",
    )
}

fn credentials() -> aws_credential_types::Credentials {
    aws_credential_types::Credentials::new("test", "test", None, None, "moto")
}

pub fn dynamodb_client() -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::config::Builder::new()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(credentials())
        .endpoint_url(moto_endpoint())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

pub fn secretsmanager_client() -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::config::Builder::new()
        .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
        .region(aws_sdk_secretsmanager::config::Region::new("us-east-1"))
        .credentials_provider(credentials())
        .endpoint_url(moto_endpoint())
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

static TABLES: AtomicUsize = AtomicUsize::new(0);

/// A new, empty idempotency table (key `pk`), unique to this test.
pub async fn fresh_table(client: &aws_sdk_dynamodb::Client) -> String {
    let name = format!(
        "idem-{}-{}-{}",
        std::process::id(),
        TABLES.fetch_add(1, Ordering::SeqCst),
        uuid::Uuid::new_v4().simple()
    );
    DynamoDbIdempotencyStore::create_table(client, &name)
        .await
        .expect("the emulator creates a table");
    name
}
