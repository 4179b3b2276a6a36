//! (being written)
use super::*;

#[derive(Debug, Clone)]
pub struct DynamoDbIdempotencyStore;
