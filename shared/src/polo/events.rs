//! Parsing a verified webhook body into a typed event. Any problem here is
//! permanent (a retry delivers the same bytes), so every error names the
//! field path and the kind of problem, never the value, and the intake parks.

use super::subscription::{PoloOrder, PoloSubscription};
use super::wire::{Order, OrderStatus, Subscription, SubscriptionStatus};
use serde::Deserialize;
use std::fmt;

/// Every event type Polo may send us, plus whatever it sends that we do not know.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventType {
    SubscriptionCreated,
    SubscriptionUpdated,
    SubscriptionActive,
    SubscriptionUncanceled,
    SubscriptionCycled,
    SubscriptionPaused,
    SubscriptionResumed,
    SubscriptionCanceled,
    SubscriptionRevoked,
    SubscriptionPastDue,
    OrderPaid,
    Unknown(String),
}

impl EventType {
    pub fn parse(raw: &str) -> Self {
        match raw {
            "subscription.created" => Self::SubscriptionCreated,
            "subscription.updated" => Self::SubscriptionUpdated,
            "subscription.active" => Self::SubscriptionActive,
            "subscription.uncanceled" => Self::SubscriptionUncanceled,
            "subscription.cycled" => Self::SubscriptionCycled,
            "subscription.paused" => Self::SubscriptionPaused,
            "subscription.resumed" => Self::SubscriptionResumed,
            "subscription.canceled" => Self::SubscriptionCanceled,
            "subscription.revoked" => Self::SubscriptionRevoked,
            "subscription.past_due" => Self::SubscriptionPastDue,
            "order.paid" => Self::OrderPaid,
            other => Self::Unknown(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::SubscriptionCreated => "subscription.created",
            Self::SubscriptionUpdated => "subscription.updated",
            Self::SubscriptionActive => "subscription.active",
            Self::SubscriptionUncanceled => "subscription.uncanceled",
            Self::SubscriptionCycled => "subscription.cycled",
            Self::SubscriptionPaused => "subscription.paused",
            Self::SubscriptionResumed => "subscription.resumed",
            Self::SubscriptionCanceled => "subscription.canceled",
            Self::SubscriptionRevoked => "subscription.revoked",
            Self::SubscriptionPastDue => "subscription.past_due",
            Self::OrderPaid => "order.paid",
            Self::Unknown(raw) => raw,
        }
    }

    fn carries_order(&self) -> bool {
        matches!(self, Self::OrderPaid)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an event carries.
#[derive(Debug, Clone, PartialEq)]
pub enum EventData {
    Subscription(Box<PoloSubscription>),
    Order(Box<PoloOrder>),
}

/// A parsed, typed Polo event.
#[derive(Debug, Clone, PartialEq)]
pub struct PoloEvent {
    pub event_type: EventType,
    pub data: EventData,
}

impl PoloEvent {
    /// The account id Polo says this event is for (`customer.external_id`).
    pub fn external_customer_id(&self) -> Option<&str> {
        match &self.data {
            EventData::Subscription(s) => s.external_customer_id(),
            EventData::Order(o) => o.wire().customer.external_id.as_deref(),
        }
    }
}

/// Why a body could not become a [`PoloEvent`]. Values are never included.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("body is not valid JSON")]
    NotJson,
    #[error("{path}: {problem}")]
    Field { path: String, problem: FieldProblem },
    #[error("type: unknown event type")]
    UnknownType(String),
    #[error("{path}: unknown value")]
    UnknownEnum { path: &'static str },
}

/// By hand: `UnknownType` keeps the raw type for the record (on-call reads
/// which type arrived), but an error's Debug form lands in logs and must
/// not quote the input (fuzz/regressions/parser/ holds the input that
/// showed it did).
impl fmt::Debug for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotJson => f.write_str("NotJson"),
            Self::Field { path, problem } => f
                .debug_struct("Field")
                .field("path", path)
                .field("problem", problem)
                .finish(),
            Self::UnknownType(raw) => write!(f, "UnknownType(<{} bytes>)", raw.len()),
            Self::UnknownEnum { path } => {
                f.debug_struct("UnknownEnum").field("path", path).finish()
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldProblem {
    Missing,
    WrongType,
    Invalid,
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Missing => "missing",
            Self::WrongType => "wrong type",
            Self::Invalid => "invalid",
        })
    }
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type")]
    event_type: String,
    #[serde(borrow)]
    data: &'a serde_json::value::RawValue,
}

/// Parses the raw, verified body.
pub fn parse_event(body: &[u8]) -> Result<PoloEvent, ParseError> {
    let envelope: Envelope<'_> = from_slice_at(body, "")?;
    let event_type = EventType::parse(&envelope.event_type);
    let data = envelope.data.get().as_bytes();
    let data = match &event_type {
        EventType::Unknown(raw) => return Err(ParseError::UnknownType(raw.clone())),
        t if t.carries_order() => {
            let order: Order = from_slice_at(data, "data")?;
            if order.status == OrderStatus::Unknown {
                return Err(ParseError::UnknownEnum {
                    path: "data.status",
                });
            }
            EventData::Order(Box::new(PoloOrder::new(order)))
        }
        _ => {
            let subscription: Subscription = from_slice_at(data, "data")?;
            if subscription.status == SubscriptionStatus::Unknown {
                return Err(ParseError::UnknownEnum {
                    path: "data.status",
                });
            }
            EventData::Subscription(Box::new(subscription.into()))
        }
    };
    Ok(PoloEvent { event_type, data })
}

fn from_slice_at<'de, T: Deserialize<'de>>(
    bytes: &'de [u8],
    prefix: &str,
) -> Result<T, ParseError> {
    // Plain serde_json on the way through; only a failure is parsed again to
    // name the field (tracking the path costs on every event).
    if let Ok(parsed) = serde_json::from_slice(bytes) {
        return Ok(parsed);
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let parsed: Result<T, _> = serde_path_to_error::deserialize(de);
    // The streaming parse stops at the end of the first value, so it
    // succeeds where the plain parse failed only on bytes after that value
    // (`{...}}x`): not one JSON document.
    if parsed.is_ok() {
        return Err(ParseError::NotJson);
    }
    parsed.map_err(|err| {
        let inner = err.inner();
        if inner.is_syntax() || inner.is_eof() {
            return ParseError::NotJson;
        }
        // Field names only, up to the first odd key (a metadata key is the
        // sender's, not ours to echo).
        let path = crate::redact::safe_path(&err.path().to_string()).unwrap_or_else(|| ".".into());
        let path = match (prefix.is_empty(), path.as_str()) {
            (true, p) => p.to_owned(),
            (false, ".") => prefix.to_owned(),
            (false, p) => format!("{prefix}.{p}"),
        };
        // serde_json's messages may quote the offending value; keep the kind only.
        let message = inner.to_string();
        let problem = if message.starts_with("missing field") {
            FieldProblem::Missing
        } else if message.starts_with("invalid type") {
            FieldProblem::WrongType
        } else {
            FieldProblem::Invalid
        };
        let path = if problem == FieldProblem::Missing {
            missing_field_path(&path, &message)
        } else {
            path
        };
        ParseError::Field { path, problem }
    })
}

/// serde reports a missing field at its parent's path; append the field's
/// name (a schema name from our own types, never a value).
fn missing_field_path(parent: &str, message: &str) -> String {
    let field = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
        .unwrap_or("?");
    match parent {
        "" | "." => field.to_owned(),
        p => format!("{p}.{field}"),
    }
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
