//! Idempotency record ⇄ DynamoDB item. Attribute names live here and only
//! here; a stored item that does not have the shape this code writes is
//! reported as `Corrupt`, naming the attribute (never its value).

use crate::idempotency::*;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// Every attribute the adapter reads or writes.
#[derive(Debug, Clone, Copy)]
pub enum Attr {
    Pk,
    Status,
    ClaimToken,
    /// In-progress lease end, unix milliseconds.
    LeaseExpiresAt,
    BodyHash,
    Endpoint,
    WebhookId,
    Verification,
    EventType,
    AccountId,
    /// Unix milliseconds.
    ReceivedAt,
    ParkReason,
    ParkDetail,
    Payload,
    /// DynamoDB TTL attribute, unix SECONDS (set on COMPLETED only).
    Ttl,
    /// Transient faults so far.
    Attempts,
    LastFault,
    /// `PENDING`: the next attempt, unix milliseconds.
    NextAttemptAt,
    /// Present (always [`OPEN`]) only on `IN_PROGRESS` and `PENDING`
    /// records: the partition key of the sparse `inbox-due` index.
    Inbox,
    /// The index's sort key: next attempt or lease end, unix milliseconds.
    DueAt,
    DiscardReason,
}

/// The value of [`Attr::Inbox`] on every open record.
pub const OPEN: &str = "open";
/// The sparse index of open records by due time.
pub const INBOX_INDEX: &str = "inbox-due";

impl Attr {
    pub fn name(self) -> &'static str {
        match self {
            Self::Pk => "pk",
            Self::Status => "status",
            Self::ClaimToken => "claimToken",
            Self::LeaseExpiresAt => "leaseExpiresAt",
            Self::BodyHash => "bodyHash",
            Self::Endpoint => "endpoint",
            Self::WebhookId => "webhookId",
            Self::Verification => "verification",
            Self::EventType => "eventType",
            Self::AccountId => "accountId",
            Self::ReceivedAt => "receivedAt",
            Self::ParkReason => "parkReason",
            Self::ParkDetail => "parkDetail",
            Self::Payload => "payload",
            Self::Ttl => "ttl",
            Self::Attempts => "attempts",
            Self::LastFault => "lastFault",
            Self::NextAttemptAt => "nextAttemptAt",
            Self::Inbox => "inbox",
            Self::DueAt => "dueAt",
            Self::DiscardReason => "discardReason",
        }
    }
}

pub fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

pub fn millis(at: OffsetDateTime) -> AttributeValue {
    AttributeValue::N((at.unix_timestamp_nanos() / 1_000_000).to_string())
}

pub fn seconds(at: OffsetDateTime) -> AttributeValue {
    AttributeValue::N(at.unix_timestamp().to_string())
}

/// The attributes every record starts with.
pub fn delivery_item(delivery: &Delivery, status: RecordStatus) -> HashMap<String, AttributeValue> {
    let mut item = HashMap::from([
        (Attr::Pk.name().to_owned(), s(delivery.key.as_str())),
        (Attr::Status.name().to_owned(), s(status.as_str())),
        (
            Attr::BodyHash.name().to_owned(),
            s(delivery.body_hash.as_str()),
        ),
        (Attr::Endpoint.name().to_owned(), s(&delivery.endpoint)),
        (Attr::WebhookId.name().to_owned(), s(&delivery.webhook_id)),
        (
            Attr::Verification.name().to_owned(),
            s(&delivery.verification),
        ),
        (
            Attr::ReceivedAt.name().to_owned(),
            millis(delivery.received_at),
        ),
    ]);
    if let Some(event_type) = &delivery.event_type {
        item.insert(Attr::EventType.name().to_owned(), s(event_type));
    }
    if let Some(account) = &delivery.account_id {
        item.insert(Attr::AccountId.name().to_owned(), s(account));
    }
    item
}

struct Reader<'a> {
    item: &'a HashMap<String, AttributeValue>,
    key: RecordKey,
}

impl Reader<'_> {
    fn corrupt(&self, attr: Attr, problem: &str) -> StoreError {
        StoreError::Corrupt {
            key: self.key.clone(),
            problem: format!("{}: {problem}", attr.name()),
        }
    }

    fn string(&self, attr: Attr) -> Result<Option<String>, StoreError> {
        match self.item.get(attr.name()) {
            None => Ok(None),
            Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
            Some(_) => Err(self.corrupt(attr, "not a string")),
        }
    }

    fn required_string(&self, attr: Attr) -> Result<String, StoreError> {
        self.string(attr)?
            .ok_or_else(|| self.corrupt(attr, "missing"))
    }

    fn number(&self, attr: Attr) -> Result<Option<i128>, StoreError> {
        match self.item.get(attr.name()) {
            None => Ok(None),
            Some(AttributeValue::N(v)) => v
                .parse()
                .map(Some)
                .map_err(|_| self.corrupt(attr, "not an integer")),
            Some(_) => Err(self.corrupt(attr, "not a number")),
        }
    }

    fn count(&self, attr: Attr) -> Result<u32, StoreError> {
        self.number(attr)?
            .map(|n| u32::try_from(n).map_err(|_| self.corrupt(attr, "out of range")))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    fn time_millis(&self, attr: Attr) -> Result<Option<OffsetDateTime>, StoreError> {
        self.number(attr)?
            .map(|ms| {
                OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000)
                    .map_err(|_| self.corrupt(attr, "out of range"))
            })
            .transpose()
    }

    fn time_seconds(&self, attr: Attr) -> Result<Option<OffsetDateTime>, StoreError> {
        self.number(attr)?
            .map(|secs| {
                i64::try_from(secs)
                    .ok()
                    .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
                    .ok_or_else(|| self.corrupt(attr, "out of range"))
            })
            .transpose()
    }

    fn bytes(&self, attr: Attr) -> Result<Option<Vec<u8>>, StoreError> {
        match self.item.get(attr.name()) {
            None => Ok(None),
            Some(AttributeValue::B(blob)) => Ok(Some(blob.as_ref().to_vec())),
            Some(_) => Err(self.corrupt(attr, "not binary")),
        }
    }
}

fn key_of(item: &HashMap<String, AttributeValue>) -> Result<RecordKey, StoreError> {
    match item.get(Attr::Pk.name()) {
        Some(AttributeValue::S(pk)) => Ok(RecordKey::from_stored(pk.clone())),
        _ => Err(StoreError::Corrupt {
            key: RecordKey::from_stored("?"),
            problem: "pk: missing or not a string".into(),
        }),
    }
}

/// Maps a stored item back to its record.
pub fn record_from_item(
    item: &HashMap<String, AttributeValue>,
) -> Result<IdempotencyRecord, StoreError> {
    let key = key_of(item)?;
    let r = Reader {
        item,
        key: key.clone(),
    };
    let status_raw = r.required_string(Attr::Status)?;
    let status =
        RecordStatus::parse(&status_raw).ok_or_else(|| r.corrupt(Attr::Status, "unknown value"))?;
    let park_reason = match (r.string(Attr::ParkReason)?, r.string(Attr::ParkDetail)?) {
        (Some(code), detail) => Some(ParkReason::new(
            ParkCode::parse(&code),
            detail.unwrap_or_default(),
        )),
        (None, _) => None,
    };
    Ok(IdempotencyRecord {
        delivery: Delivery {
            key,
            body_hash: BodyHash::from_stored(r.required_string(Attr::BodyHash)?),
            endpoint: r.required_string(Attr::Endpoint)?,
            webhook_id: r.required_string(Attr::WebhookId)?,
            verification: r.string(Attr::Verification)?.unwrap_or_default(),
            event_type: r.string(Attr::EventType)?,
            account_id: r.string(Attr::AccountId)?,
            received_at: r
                .time_millis(Attr::ReceivedAt)?
                .ok_or_else(|| r.corrupt(Attr::ReceivedAt, "missing"))?,
        },
        status,
        claim_token: r.string(Attr::ClaimToken)?.map(ClaimToken::from_stored),
        lease_expires_at: r.time_millis(Attr::LeaseExpiresAt)?,
        park_reason,
        payload: r.bytes(Attr::Payload)?,
        expires_at: r.time_seconds(Attr::Ttl)?,
        attempts: r.count(Attr::Attempts)?,
        last_fault: r.string(Attr::LastFault)?,
        next_attempt_at: r.time_millis(Attr::NextAttemptAt)?,
        discard_reason: r.string(Attr::DiscardReason)?,
    })
}

/// Maps an item of the `inbox-due` index (keys, status, receipt, attempts).
pub fn open_record_from_item(
    item: &HashMap<String, AttributeValue>,
) -> Result<OpenRecord, StoreError> {
    let key = key_of(item)?;
    let r = Reader {
        item,
        key: key.clone(),
    };
    let status = RecordStatus::parse(&r.required_string(Attr::Status)?)
        .ok_or_else(|| r.corrupt(Attr::Status, "unknown value"))?;
    Ok(OpenRecord {
        status,
        due_at: r
            .time_millis(Attr::DueAt)?
            .ok_or_else(|| r.corrupt(Attr::DueAt, "missing"))?,
        received_at: r
            .time_millis(Attr::ReceivedAt)?
            .ok_or_else(|| r.corrupt(Attr::ReceivedAt, "missing"))?,
        attempts: r.count(Attr::Attempts)?,
        key,
    })
}
