//! The DynamoDB adapter of the idempotency store. Every state change is ONE
//! conditional write, so concurrent deliveries race on DynamoDB's condition
//! check, not on our code: a claim is a conditional update (which also
//! takes over a `PENDING` record or an expired lease of the same body), and
//! complete/defer/park/release are conditioned on the claim token. A failed
//! condition returns the old item in the same call, so a duplicate costs
//! exactly one request. Open records carry the keys of a sparse index
//! (`inbox-due`), so the retry sweep reads only them. Item mapping:
//! [`item`]; the operations: [`store`]; the listings: [`listing`].

mod item;
mod listing;
mod store;

use super::*;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use item::{Attr, INBOX_INDEX};
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
            AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
            Projection, ProjectionType, ScalarAttributeType,
        };
        let attribute = |attr: Attr, kind: ScalarAttributeType| {
            AttributeDefinition::builder()
                .attribute_name(attr.name())
                .attribute_type(kind)
                .build()
                .map_err(unavailable)
        };
        let key = |attr: Attr, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(attr.name())
                .key_type(kind)
                .build()
                .map_err(unavailable)
        };
        let projection = Projection::builder()
            .projection_type(ProjectionType::Include)
            .non_key_attributes(Attr::Status.name())
            .non_key_attributes(Attr::ReceivedAt.name())
            .non_key_attributes(Attr::Attempts.name())
            .build();
        let inbox = GlobalSecondaryIndex::builder()
            .index_name(INBOX_INDEX)
            .key_schema(key(Attr::Inbox, KeyType::Hash)?)
            .key_schema(key(Attr::DueAt, KeyType::Range)?)
            .projection(projection)
            .build()
            .map_err(unavailable)?;
        client
            .create_table()
            .table_name(table)
            .attribute_definitions(attribute(Attr::Pk, ScalarAttributeType::S)?)
            .attribute_definitions(attribute(Attr::Inbox, ScalarAttributeType::S)?)
            .attribute_definitions(attribute(Attr::DueAt, ScalarAttributeType::N)?)
            .key_schema(key(Attr::Pk, KeyType::Hash)?)
            .global_secondary_indexes(inbox)
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

/// The conditional-check failure of an update, with the item that blocked it.
fn update_conflict(
    err: SdkError<UpdateItemError, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
    match err {
        SdkError::ServiceError(service) => match service.into_err() {
            UpdateItemError::ConditionalCheckFailedException(failed) => Ok(failed.item().cloned()),
            other => Err(unavailable(other)),
        },
        other => Err(unavailable(other)),
    }
}

/// One conditional `UpdateItem`: every attribute behind a placeholder name
/// (several of ours are DynamoDB reserved words), every placeholder
/// registered only when used (DynamoDB refuses unused ones).
#[derive(Default)]
struct Update {
    set: Vec<String>,
    remove: Vec<String>,
    add: Vec<String>,
    condition: Option<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Update {
    fn name(&mut self, attr: Attr) -> String {
        let placeholder = format!("#{}", attr.name());
        self.names
            .insert(placeholder.clone(), attr.name().to_owned());
        placeholder
    }

    fn value(&mut self, label: &str, value: AttributeValue) -> String {
        let placeholder = format!(":{label}");
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    fn set(mut self, attr: Attr, value: AttributeValue) -> Self {
        let name = self.name(attr);
        let value = self.value(attr.name(), value);
        self.set.push(format!("{name} = {value}"));
        self
    }

    /// Sets `attr` only where the record does not hold it yet (a takeover
    /// keeps the first receipt time, payload and attempt count).
    fn set_if_absent(mut self, attr: Attr, value: AttributeValue) -> Self {
        let name = self.name(attr);
        let value = self.value(attr.name(), value);
        self.set
            .push(format!("{name} = if_not_exists({name}, {value})"));
        self
    }

    fn add(mut self, attr: Attr, value: AttributeValue) -> Self {
        let name = self.name(attr);
        let value = self.value(attr.name(), value);
        self.add.push(format!("{name} {value}"));
        self
    }

    fn remove(mut self, attrs: &[Attr]) -> Self {
        for attr in attrs {
            let name = self.name(*attr);
            self.remove.push(name);
        }
        self
    }

    /// The condition, written with `{Attr}`-style holes filled by the
    /// caller through [`Update::name`] and [`Update::value`].
    fn when(mut self, condition: String) -> Self {
        self.condition = Some(condition);
        self
    }

    fn expression(&self) -> String {
        let mut clauses = Vec::new();
        for (keyword, parts) in [
            ("SET", &self.set),
            ("REMOVE", &self.remove),
            ("ADD", &self.add),
        ] {
            if !parts.is_empty() {
                clauses.push(format!("{keyword} {}", parts.join(", ")));
            }
        }
        clauses.join(" ")
    }
}
