//! The DynamoDB adapter of the idempotency store. Every state change is ONE
//! conditional write, so concurrent deliveries race on DynamoDB's condition
//! check, not on our code: a claim is a conditional put (which also takes
//! over an expired lease), and complete/park/release are conditioned on the
//! claim token. A failed condition returns the old item in the same call,
//! so a duplicate costs exactly one request. Item mapping: [`item`].

mod item;

use super::*;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_dynamodb::Client;
use item::{millis, record_from_item, s, Attr};
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct DynamoDbIdempotencyStore {
    client: Client,
    table: String,
}

impl DynamoDbIdempotencyStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Creates a table of the shape this adapter needs (hash key `pk`, on
    /// demand) — for the local stack, tests and benchmarks on an emulator.
    /// Deployed tables come from `template.yaml` (which also turns on the
    /// `ttl` expiry).
    pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        let key = Attr::Pk.name();
        let attribute = AttributeDefinition::builder()
            .attribute_name(key)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(unavailable)?;
        let schema = KeySchemaElement::builder()
            .attribute_name(key)
            .key_type(KeyType::Hash)
            .build()
            .map_err(unavailable)?;
        client
            .create_table()
            .table_name(table)
            .attribute_definitions(attribute)
            .key_schema(schema)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

fn unavailable<E: std::error::Error + Send + Sync + 'static>(err: E) -> StoreError {
    StoreError::Unavailable(Box::new(err))
}

/// The conditional-check failure of a put, with the item that blocked it.
fn put_conflict(
    err: SdkError<PutItemError, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
    match err {
        SdkError::ServiceError(service) => match service.into_err() {
            PutItemError::ConditionalCheckFailedException(failed) => Ok(failed.item().cloned()),
            other => Err(unavailable(other)),
        },
        other => Err(unavailable(other)),
    }
}

fn is_condition_failure_update(
    err: &SdkError<UpdateItemError, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> bool {
    matches!(
        err,
        SdkError::ServiceError(service) if matches!(service.err(), UpdateItemError::ConditionalCheckFailedException(_))
    )
}

fn is_condition_failure_delete(
    err: &SdkError<DeleteItemError, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> bool {
    matches!(
        err,
        SdkError::ServiceError(service) if matches!(service.err(), DeleteItemError::ConditionalCheckFailedException(_))
    )
}

const HELD_BY_TOKEN: &str = "claimToken = :token AND #status = :in_progress";

impl DynamoDbIdempotencyStore {
    /// Reads back the record that blocked a conditional put. DynamoDB returns
    /// it with the failure; if it did not (it always should), read it.
    async fn existing(
        &self,
        key: &RecordKey,
        item: Option<HashMap<String, AttributeValue>>,
    ) -> Result<IdempotencyRecord, StoreError> {
        match item {
            Some(item) => record_from_item(&item),
            None => self.get(key).await?.ok_or_else(|| StoreError::Corrupt {
                key: key.clone(),
                problem: "a conditional put failed but no item exists".into(),
            }),
        }
    }

    async fn update_held(
        &self,
        claim: &Claim,
        expression: &str,
        values: HashMap<String, AttributeValue>,
    ) -> Result<(), StoreError> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(Attr::Pk.name(), s(claim.key.as_str()))
            .update_expression(expression)
            .condition_expression(HELD_BY_TOKEN)
            .expression_attribute_names("#status", Attr::Status.name())
            // `ttl` is a DynamoDB reserved word; both updates set or remove it.
            .expression_attribute_names("#ttl", Attr::Ttl.name())
            .expression_attribute_values(":token", s(claim.token.as_str()))
            .expression_attribute_values(":in_progress", s(RecordStatus::InProgress.as_str()));
        for (name, value) in values {
            request = request.expression_attribute_values(name, value);
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failure_update(&err) => {
                Err(StoreError::ClaimLost(claim.key.clone()))
            }
            Err(err) => Err(unavailable(err)),
        }
    }
}

#[async_trait]
impl IdempotencyStore for DynamoDbIdempotencyStore {
    async fn claim(
        &self,
        delivery: &Delivery,
        lease_expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<ClaimOutcome, StoreError> {
        let token = ClaimToken::generate();
        let mut item = item::delivery_item(delivery, RecordStatus::InProgress);
        item.insert(Attr::ClaimToken.name().into(), s(token.as_str()));
        item.insert(Attr::LeaseExpiresAt.name().into(), millis(lease_expires_at));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            // An expired claim is taken over only by the same body: another
            // body under the same id is a conflict to park, never a reason
            // to replace the record being handled.
            .condition_expression(
                "attribute_not_exists(pk) OR (#status = :in_progress AND leaseExpiresAt < :now AND #hash = :hash)",
            )
            .expression_attribute_names("#status", Attr::Status.name())
            .expression_attribute_names("#hash", Attr::BodyHash.name())
            .expression_attribute_values(":in_progress", s(RecordStatus::InProgress.as_str()))
            .expression_attribute_values(":now", millis(now))
            .expression_attribute_values(":hash", s(delivery.body_hash.as_str()))
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => Ok(ClaimOutcome::Claimed(Claim {
                key: delivery.key.clone(),
                token,
                lease_expires_at,
                took_over: output.attributes().is_some_and(|old| !old.is_empty()),
            })),
            Err(err) => {
                let blocking = put_conflict(err)?;
                let record = self.existing(&delivery.key, blocking).await?;
                Ok(ClaimOutcome::Existing(Box::new(record)))
            }
        }
    }

    async fn complete(&self, claim: &Claim, now: OffsetDateTime) -> Result<(), StoreError> {
        let values = HashMap::from([
            (":completed".to_owned(), s(RecordStatus::Completed.as_str())),
            (":ttl".to_owned(), item::seconds(now + RETENTION)),
        ]);
        self.update_held(
            claim,
            "SET #status = :completed, #ttl = :ttl REMOVE claimToken, leaseExpiresAt",
            values,
        )
        .await
    }

    async fn release(&self, claim: &Claim) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(Attr::Pk.name(), s(claim.key.as_str()))
            .condition_expression(HELD_BY_TOKEN)
            .expression_attribute_names("#status", Attr::Status.name())
            .expression_attribute_values(":token", s(claim.token.as_str()))
            .expression_attribute_values(":in_progress", s(RecordStatus::InProgress.as_str()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failure_delete(&err) => {
                Err(StoreError::ClaimLost(claim.key.clone()))
            }
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn park_claimed(
        &self,
        claim: &Claim,
        reason: &ParkReason,
        payload: &[u8],
        _now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let values = HashMap::from([
            (":parked".to_owned(), s(RecordStatus::Parked.as_str())),
            (":reason".to_owned(), s(&reason.code)),
            (":detail".to_owned(), s(&reason.detail)),
            (
                ":payload".to_owned(),
                AttributeValue::B(payload.to_vec().into()),
            ),
        ]);
        self.update_held(
            claim,
            "SET #status = :parked, parkReason = :reason, parkDetail = :detail, payload = :payload \
             REMOVE claimToken, leaseExpiresAt, #ttl",
            values,
        )
        .await
    }

    async fn park_new(
        &self,
        delivery: &Delivery,
        reason: &ParkReason,
        payload: &[u8],
    ) -> Result<ParkOutcome, StoreError> {
        let mut item = item::delivery_item(delivery, RecordStatus::Parked);
        item.insert(Attr::ParkReason.name().into(), s(&reason.code));
        item.insert(Attr::ParkDetail.name().into(), s(&reason.detail));
        item.insert(
            Attr::Payload.name().into(),
            AttributeValue::B(payload.to_vec().into()),
        );
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(ParkOutcome::Parked),
            Err(err) => {
                let blocking = put_conflict(err)?;
                let record = self.existing(&delivery.key, blocking).await?;
                Ok(ParkOutcome::Existing(Box::new(record)))
            }
        }
    }

    async fn get(&self, key: &RecordKey) -> Result<Option<IdempotencyRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(Attr::Pk.name(), s(key.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        output.item().map(record_from_item).transpose()
    }

    async fn reclaim_parked(
        &self,
        key: &RecordKey,
        lease_expires_at: OffsetDateTime,
    ) -> Result<Option<Claim>, StoreError> {
        let token = ClaimToken::generate();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(Attr::Pk.name(), s(key.as_str()))
            .update_expression(
                "SET #status = :in_progress, claimToken = :token, leaseExpiresAt = :lease",
            )
            .condition_expression("#status = :parked")
            .expression_attribute_names("#status", Attr::Status.name())
            .expression_attribute_values(":in_progress", s(RecordStatus::InProgress.as_str()))
            .expression_attribute_values(":parked", s(RecordStatus::Parked.as_str()))
            .expression_attribute_values(":token", s(token.as_str()))
            .expression_attribute_values(":lease", millis(lease_expires_at))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Some(Claim {
                key: key.clone(),
                token,
                lease_expires_at,
                took_over: false,
            })),
            Err(err) if is_condition_failure_update(&err) => Ok(None),
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn list_parked(&self, limit: usize) -> Result<Vec<IdempotencyRecord>, StoreError> {
        let mut found = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let output = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("#status = :parked")
                .expression_attribute_names("#status", Attr::Status.name())
                .expression_attribute_values(":parked", s(RecordStatus::Parked.as_str()))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            for item in output.items() {
                if found.len() == limit {
                    return Ok(found);
                }
                found.push(record_from_item(item)?);
            }
            match output.last_evaluated_key() {
                Some(next) if !next.is_empty() && found.len() < limit => start = Some(next.clone()),
                _ => return Ok(found),
            }
        }
    }
}
