//! The two listings, neither on the webhook path: the retry sweep's query
//! of the sparse `inbox-due` index (open records, earliest due first) and
//! the replay tool's scan for parked records (rare and alarmed).

use super::item::{millis, open_record_from_item, record_from_item, s, Attr, INBOX_INDEX, OPEN};
use super::{unavailable, DynamoDbIdempotencyStore};
use crate::idempotency::*;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

impl DynamoDbIdempotencyStore {
    pub(super) async fn query_open(
        &self,
        after: Option<&OpenCursor>,
        limit: usize,
    ) -> Result<OpenPage, StoreError> {
        let start = after.map(|cursor| {
            HashMap::from([
                (Attr::Pk.name().to_owned(), s(cursor.key.as_str())),
                (Attr::Inbox.name().to_owned(), s(OPEN)),
                (Attr::DueAt.name().to_owned(), millis(cursor.due_at)),
            ])
        });
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(INBOX_INDEX)
            .key_condition_expression("#inbox = :open")
            .expression_attribute_names("#inbox", Attr::Inbox.name())
            .expression_attribute_values(":open", s(OPEN))
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(unavailable)?;
        let records = output
            .items()
            .iter()
            .map(open_record_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let next = match (output.last_evaluated_key(), records.last()) {
            (Some(more), Some(last)) if !more.is_empty() => Some(OpenCursor {
                due_at: last.due_at,
                key: last.key.clone(),
            }),
            _ => None,
        };
        Ok(OpenPage { records, next })
    }

    pub(super) async fn scan_parked(
        &self,
        limit: usize,
    ) -> Result<Vec<IdempotencyRecord>, StoreError> {
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
