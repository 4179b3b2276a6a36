//! The Secrets Manager adapter against the emulator over the AWS wire
//! protocol, alone and behind the in-memory cache; no error ever carries
//! the secret value.

mod support;

use billing::clock::ManualClock;
use billing::secrets::{
    CachedSecretSource, SecretError, SecretId, SecretSource, SecretsManagerSource,
};
use std::collections::HashMap;
use std::sync::Arc;
use time::Duration;

const VALUE: &str = r#"["whsec_dGVzdC13ZWJob29rLXNlY3JldC0xMjM0NTY3ODkw"]"#;
const ROTATED: &str = r#"["whsec_cm90YXRlZC13ZWJob29rLXNlY3JldC0wOTg3NjU0MzIx"]"#;

async fn create(client: &aws_sdk_secretsmanager::Client, value: &str) -> String {
    let name = format!("polo-webhook-{}", uuid::Uuid::new_v4().simple());
    client
        .create_secret()
        .name(&name)
        .secret_string(value)
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_owned()
}

fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = format!("{err} {err:?}");
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(&format!(" {cause} {cause:?}"));
        source = cause.source();
    }
    text
}

#[tokio::test]
async fn a_secret_is_read_by_its_arn() {
    let client = support::aws::secretsmanager_client();
    let arn = create(&client, VALUE).await;
    let source = SecretsManagerSource::new(client, HashMap::from([(SecretId::PoloWebhook, arn)]));

    let value = source.fetch(SecretId::PoloWebhook).await.unwrap();

    assert_eq!(value.expose(), VALUE);
    assert_eq!(format!("{value:?}"), "[redacted]");
}

#[tokio::test]
async fn a_secret_without_an_arn_is_not_configured() {
    let source = SecretsManagerSource::new(support::aws::secretsmanager_client(), HashMap::new());
    assert!(matches!(
        source.fetch(SecretId::PoloApiKey).await,
        Err(SecretError::NotConfigured(SecretId::PoloApiKey))
    ));
}

#[tokio::test]
async fn an_unknown_arn_is_unavailable() {
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf".to_owned();
    let source = SecretsManagerSource::new(
        support::aws::secretsmanager_client(),
        HashMap::from([(SecretId::PoloWebhook, arn)]),
    );
    assert!(matches!(
        source.fetch(SecretId::PoloWebhook).await,
        Err(SecretError::Unavailable { .. })
    ));
}

#[tokio::test]
async fn a_binary_only_secret_is_malformed() {
    let client = support::aws::secretsmanager_client();
    let name = format!("binary-{}", uuid::Uuid::new_v4().simple());
    let arn = client
        .create_secret()
        .name(&name)
        .secret_binary(aws_sdk_secretsmanager::primitives::Blob::new(vec![1, 2, 3]))
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    let source = SecretsManagerSource::new(client, HashMap::from([(SecretId::PoloWebhook, arn)]));
    assert!(matches!(
        source.fetch(SecretId::PoloWebhook).await,
        Err(SecretError::Malformed { .. })
    ));
}

#[tokio::test]
async fn the_cache_serves_within_its_ttl_and_a_forced_refresh_sees_a_rotation() {
    let client = support::aws::secretsmanager_client();
    let arn = create(&client, VALUE).await;
    let source = Arc::new(SecretsManagerSource::new(
        client.clone(),
        HashMap::from([(SecretId::PoloWebhook, arn.clone())]),
    ));
    let clock = Arc::new(ManualClock::starting_now());
    let cache = CachedSecretSource::new(source, clock.clone());
    assert_eq!(
        cache.fetch(SecretId::PoloWebhook).await.unwrap().expose(),
        VALUE
    );

    client
        .put_secret_value()
        .secret_id(&arn)
        .secret_string(ROTATED)
        .send()
        .await
        .unwrap();
    clock.advance(Duration::minutes(1));

    assert_eq!(
        cache.fetch(SecretId::PoloWebhook).await.unwrap().expose(),
        VALUE,
        "cached"
    );
    let fresh = cache.refresh(SecretId::PoloWebhook).await.unwrap().unwrap();
    assert_eq!(fresh.expose(), ROTATED);
    assert_eq!(
        cache.fetch(SecretId::PoloWebhook).await.unwrap().expose(),
        ROTATED
    );
}

#[tokio::test]
async fn no_error_of_the_adapter_contains_a_secret_value() {
    let client = support::aws::secretsmanager_client();
    let arn = create(&client, VALUE).await;
    let missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf".to_owned();
    let source = SecretsManagerSource::new(
        client,
        HashMap::from([
            (SecretId::PoloWebhook, arn),
            (SecretId::PoloApiKey, missing),
        ]),
    );
    for id in [SecretId::PoloApiKey, SecretId::ConvexSigning] {
        let err = source.fetch(id).await.unwrap_err();
        support::logs::assert_no_secret(&chain(&err));
    }
}
