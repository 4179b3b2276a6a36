//! The store's operations, each one conditional request.

use super::item::{self, millis, record_from_item, s, Attr, OPEN};
use super::{put_conflict, unavailable, update_conflict, DynamoDbIdempotencyStore, Update};
use crate::idempotency::*;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use std::collections::HashMap;

type UpdateResult = Result<
    UpdateItemOutput,
    SdkError<UpdateItemError, aws_sdk_dynamodb::config::http::HttpResponse>,
>;

/// What a record stops carrying once it is no longer open.
const OPEN_ONLY: [Attr; 5] = [
    Attr::ClaimToken,
    Attr::LeaseExpiresAt,
    Attr::NextAttemptAt,
    Attr::Inbox,
    Attr::DueAt,
];

fn n(value: u32) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The record an update returned (`ALL_NEW`).
fn returned(key: &RecordKey, output: &UpdateItemOutput) -> Result<IdempotencyRecord, StoreError> {
    output
        .attributes()
        .map(record_from_item)
        .transpose()?
        .ok_or_else(|| StoreError::Corrupt {
            key: key.clone(),
            problem: "an update returned no attributes".into(),
        })
}

fn held_by(u: &mut Update, claim: &Claim) -> String {
    let token = u.name(Attr::ClaimToken);
    let value = u.value("held", s(claim.token.as_str()));
    format!("{token} = {value}")
}

/// A parked record no replay holds (never held, or its hold ended).
fn parked_and_free(u: &mut Update, now: OffsetDateTime) -> String {
    let status = u.name(Attr::Status);
    let parked = u.value("is_parked", s(RecordStatus::Parked.as_str()));
    let token = u.name(Attr::ClaimToken);
    let lease = u.name(Attr::LeaseExpiresAt);
    let now = u.value("now", millis(now));
    format!("{status} = {parked} AND (attribute_not_exists({token}) OR {lease} < {now})")
}

impl DynamoDbIdempotencyStore {
    async fn send(&self, key: &RecordKey, u: Update, returning: ReturnValue) -> UpdateResult {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(Attr::Pk.name(), s(key.as_str()))
            .update_expression(u.expression())
            .set_condition_expression(u.condition)
            .set_expression_attribute_names(Some(u.names))
            .set_expression_attribute_values(Some(u.values))
            .return_values(returning)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await
    }

    /// A write only the claim's holder may make.
    async fn update_held(&self, claim: &Claim, u: Update) -> Result<(), StoreError> {
        match self.send(&claim.key, u, ReturnValue::None).await {
            Ok(_) => Ok(()),
            Err(err) => {
                // A failed condition: the claim is no longer ours.
                update_conflict(err)?;
                Err(StoreError::ClaimLost(claim.key.clone()))
            }
        }
    }

    /// Reads back the record that blocked a conditional write. DynamoDB
    /// returns it with the failure; if it did not (it always should), read it.
    async fn blocking(
        &self,
        key: &RecordKey,
        item: Option<HashMap<String, AttributeValue>>,
    ) -> Result<IdempotencyRecord, StoreError> {
        match item {
            Some(item) if !item.is_empty() => record_from_item(&item),
            _ => self.get(key).await?.ok_or_else(|| StoreError::Corrupt {
                key: key.clone(),
                problem: "a conditional write failed but no item exists".into(),
            }),
        }
    }
}

#[async_trait]
impl IdempotencyStore for DynamoDbIdempotencyStore {
    async fn claim(
        &self,
        delivery: &Delivery,
        payload: &[u8],
        lease_expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<ClaimOutcome, StoreError> {
        let token = ClaimToken::generate();
        let mut u = Update::default()
            .set(Attr::Status, s(RecordStatus::InProgress.as_str()))
            .set(Attr::ClaimToken, s(token.as_str()))
            .set(Attr::LeaseExpiresAt, millis(lease_expires_at))
            .set(Attr::Inbox, s(OPEN))
            .set(Attr::DueAt, millis(lease_expires_at))
            .set(Attr::BodyHash, s(delivery.body_hash.as_str()))
            .set(Attr::Endpoint, s(&delivery.endpoint))
            .set(Attr::WebhookId, s(&delivery.webhook_id))
            .set(Attr::Verification, s(&delivery.verification))
            .set_if_absent(Attr::ReceivedAt, millis(delivery.received_at))
            .set_if_absent(Attr::Payload, AttributeValue::B(payload.to_vec().into()))
            .set_if_absent(Attr::Attempts, n(0))
            .remove(&[Attr::NextAttemptAt]);
        if let Some(event_type) = &delivery.event_type {
            u = u.set(Attr::EventType, s(event_type));
        }
        if let Some(account) = &delivery.account_id {
            u = u.set(Attr::AccountId, s(account));
        }
        // Taken over only by the same body: another body under the same id
        // is a conflict to park, never a reason to replace the record.
        let pk = u.name(Attr::Pk);
        let hash = u.name(Attr::BodyHash);
        let same_hash = u.value("same_hash", s(delivery.body_hash.as_str()));
        let status = u.name(Attr::Status);
        let pending = u.value("pending", s(RecordStatus::Pending.as_str()));
        let in_progress = u.value("in_progress", s(RecordStatus::InProgress.as_str()));
        let lease = u.name(Attr::LeaseExpiresAt);
        let now_ms = u.value("now", millis(now));
        let u = u.when(format!(
            "attribute_not_exists({pk}) OR ({hash} = {same_hash} AND ({status} = {pending} \
             OR ({status} = {in_progress} AND {lease} < {now_ms})))"
        ));
        match self.send(&delivery.key, u, ReturnValue::AllOld).await {
            Ok(output) => {
                let old = output.attributes().filter(|old| !old.is_empty());
                let previous = old.map(record_from_item).transpose()?;
                Ok(ClaimOutcome::Claimed(Claim {
                    key: delivery.key.clone(),
                    token,
                    lease_expires_at,
                    took_over: previous.is_some(),
                    attempts: previous.as_ref().map_or(0, |p| p.attempts),
                    first_received_at: previous
                        .as_ref()
                        .map_or(delivery.received_at, |p| p.delivery.received_at),
                }))
            }
            Err(err) => {
                let item = update_conflict(err)?;
                let record = self.blocking(&delivery.key, item).await?;
                Ok(ClaimOutcome::Existing(Box::new(record)))
            }
        }
    }

    async fn complete(&self, claim: &Claim, now: OffsetDateTime) -> Result<(), StoreError> {
        let mut u = Update::default()
            .set(Attr::Status, s(RecordStatus::Completed.as_str()))
            .set(Attr::Ttl, item::seconds(now + RETENTION))
            .remove(&OPEN_ONLY)
            .remove(&[Attr::Payload]);
        let held = held_by(&mut u, claim);
        self.update_held(claim, u.when(held)).await
    }

    async fn defer(
        &self,
        claim: &Claim,
        fault: &str,
        next_attempt_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut u = Update::default()
            .set(Attr::Status, s(RecordStatus::Pending.as_str()))
            .set(Attr::LastFault, s(fault))
            .set(Attr::NextAttemptAt, millis(next_attempt_at))
            .set(Attr::DueAt, millis(next_attempt_at))
            .add(Attr::Attempts, n(1))
            .remove(&[Attr::ClaimToken, Attr::LeaseExpiresAt]);
        let held = held_by(&mut u, claim);
        let status = u.name(Attr::Status);
        let in_progress = u.value("in_progress", s(RecordStatus::InProgress.as_str()));
        let u = u.when(format!("{held} AND {status} = {in_progress}"));
        self.update_held(claim, u).await
    }

    async fn release_parked(&self, claim: &Claim) -> Result<(), StoreError> {
        let mut u = Update::default().remove(&[Attr::ClaimToken, Attr::LeaseExpiresAt]);
        let held = held_by(&mut u, claim);
        let status = u.name(Attr::Status);
        let parked = u.value("is_parked", s(RecordStatus::Parked.as_str()));
        let u = u.when(format!("{held} AND {status} = {parked}"));
        self.update_held(claim, u).await
    }

    async fn park_claimed(
        &self,
        claim: &Claim,
        reason: &ParkReason,
        payload: &[u8],
        _now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut u = Update::default()
            .set(Attr::Status, s(RecordStatus::Parked.as_str()))
            .set(Attr::ParkReason, s(reason.code.as_str()))
            .set(Attr::ParkDetail, s(&reason.detail))
            .set(Attr::Payload, AttributeValue::B(payload.to_vec().into()))
            .remove(&OPEN_ONLY)
            .remove(&[Attr::Ttl]);
        let held = held_by(&mut u, claim);
        self.update_held(claim, u.when(held)).await
    }

    async fn park_new(
        &self,
        delivery: &Delivery,
        reason: &ParkReason,
        payload: &[u8],
    ) -> Result<ParkOutcome, StoreError> {
        let mut item = item::delivery_item(delivery, RecordStatus::Parked);
        item.insert(Attr::ParkReason.name().into(), s(reason.code.as_str()));
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
                let item = put_conflict(err)?;
                let record = self.blocking(&delivery.key, item).await?;
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
        now: OffsetDateTime,
    ) -> Result<Option<Claim>, StoreError> {
        let token = ClaimToken::generate();
        let mut u = Update::default()
            .set(Attr::ClaimToken, s(token.as_str()))
            .set(Attr::LeaseExpiresAt, millis(lease_expires_at));
        let free = parked_and_free(&mut u, now);
        match self.send(key, u.when(free), ReturnValue::AllNew).await {
            Ok(output) => {
                let record = returned(key, &output)?;
                Ok(Some(Claim {
                    key: key.clone(),
                    token,
                    lease_expires_at,
                    took_over: false,
                    attempts: record.attempts,
                    first_received_at: record.delivery.received_at,
                }))
            }
            Err(err) => update_conflict(err).map(|_| None),
        }
    }

    async fn claim_due(
        &self,
        key: &RecordKey,
        lease_expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Option<(Claim, IdempotencyRecord)>, StoreError> {
        let token = ClaimToken::generate();
        let mut u = Update::default()
            .set(Attr::Status, s(RecordStatus::InProgress.as_str()))
            .set(Attr::ClaimToken, s(token.as_str()))
            .set(Attr::LeaseExpiresAt, millis(lease_expires_at))
            .set(Attr::DueAt, millis(lease_expires_at))
            .remove(&[Attr::NextAttemptAt]);
        let status = u.name(Attr::Status);
        let pending = u.value("pending", s(RecordStatus::Pending.as_str()));
        let in_progress = u.value("in_progress", s(RecordStatus::InProgress.as_str()));
        let next = u.name(Attr::NextAttemptAt);
        let lease = u.name(Attr::LeaseExpiresAt);
        let now_ms = u.value("now", millis(now));
        let u = u.when(format!(
            "({status} = {pending} AND {next} <= {now_ms}) \
             OR ({status} = {in_progress} AND {lease} < {now_ms})"
        ));
        match self.send(key, u, ReturnValue::AllNew).await {
            Ok(output) => {
                let record = returned(key, &output)?;
                let claim = Claim {
                    key: key.clone(),
                    token,
                    lease_expires_at,
                    took_over: false,
                    attempts: record.attempts,
                    first_received_at: record.delivery.received_at,
                };
                Ok(Some((claim, record)))
            }
            Err(err) => update_conflict(err).map(|_| None),
        }
    }

    async fn list_open(
        &self,
        after: Option<&OpenCursor>,
        limit: usize,
    ) -> Result<OpenPage, StoreError> {
        self.query_open(after, limit).await
    }

    async fn expedite(&self, key: &RecordKey, now: OffsetDateTime) -> Result<bool, StoreError> {
        let mut u = Update::default()
            .set(Attr::NextAttemptAt, millis(now))
            .set(Attr::DueAt, millis(now));
        let status = u.name(Attr::Status);
        let pending = u.value("pending", s(RecordStatus::Pending.as_str()));
        let u = u.when(format!("{status} = {pending}"));
        match self.send(key, u, ReturnValue::None).await {
            Ok(_) => Ok(true),
            Err(err) => update_conflict(err).map(|_| false),
        }
    }

    async fn list_parked(&self, limit: usize) -> Result<Vec<IdempotencyRecord>, StoreError> {
        self.scan_parked(limit).await
    }

    async fn discard_parked(
        &self,
        key: &RecordKey,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut u = Update::default()
            .set(Attr::Status, s(RecordStatus::Completed.as_str()))
            .set(Attr::DiscardReason, s(reason))
            .set(Attr::Ttl, item::seconds(now + RETENTION))
            .remove(&[Attr::ClaimToken, Attr::LeaseExpiresAt]);
        let free = parked_and_free(&mut u, now);
        match self.send(key, u.when(free), ReturnValue::None).await {
            Ok(_) => Ok(true),
            Err(err) => update_conflict(err).map(|_| false),
        }
    }
}
