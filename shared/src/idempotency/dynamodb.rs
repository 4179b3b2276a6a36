//! (being written by the DynamoDB task; placeholder so the crate compiles)
use super::*;

#[derive(Debug, Clone)]
pub struct DynamoDbIdempotencyStore;

impl DynamoDbIdempotencyStore {
    pub fn new(_client: aws_sdk_dynamodb::Client, _table: impl Into<String>) -> Self {
        Self
    }
}

fn placeholder() -> StoreError {
    StoreError::Unavailable("placeholder".into())
}

#[async_trait]
impl IdempotencyStore for DynamoDbIdempotencyStore {
    async fn claim(&self, _: &Delivery, _: OffsetDateTime, _: OffsetDateTime) -> Result<ClaimOutcome, StoreError> { Err(placeholder()) }
    async fn complete(&self, _: &Claim, _: OffsetDateTime) -> Result<(), StoreError> { Err(placeholder()) }
    async fn release(&self, _: &Claim) -> Result<(), StoreError> { Err(placeholder()) }
    async fn park_claimed(&self, _: &Claim, _: &ParkReason, _: &[u8], _: OffsetDateTime) -> Result<(), StoreError> { Err(placeholder()) }
    async fn park_new(&self, _: &Delivery, _: &ParkReason, _: &[u8]) -> Result<ParkOutcome, StoreError> { Err(placeholder()) }
    async fn get(&self, _: &RecordKey) -> Result<Option<IdempotencyRecord>, StoreError> { Err(placeholder()) }
}
