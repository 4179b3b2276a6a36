//! Why an event was parked: a code from a closed list (what metrics, alarms,
//! the replay tool and Polo's answer body name) and a detail naming the
//! field or rule, never a value.

use std::fmt;

/// Every reason an event is parked. The string forms are stored in the
/// inbox (`park_reason`) and answered to Polo (`parked:<code>`), so they
/// never change; a stored code this version does not know (written by a
/// newer one) reads back as `Other` instead of failing the record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ParkCode {
    /// Not JSON, or a field missing, of the wrong type or invalid.
    Malformed,
    /// An event type Polo may send that no endpoint handles.
    UnknownEventType,
    /// An enum value we do not know (a status Polo added).
    UnknownEnum,
    /// Delivered to the endpoint of another event type.
    Misrouted,
    /// The same `webhook-id` with a different body.
    BodyConflict,
    /// Transient faults for longer than the inbox retries.
    RetriesExhausted,
    /// No account in the account store for `customer.external_id`.
    UnknownAccount,
    /// Polo has no subscription for the order's `subscription_id`.
    UnknownSubscription,
    /// Polo refused the order's `subscription_id` (400/422).
    PoloRefused,
    /// `metadata.accountId`, or the order's account, disagrees with the customer's.
    AccountMismatch,
    /// No `customer.external_id`.
    NoAccount,
    /// A product outside the catalogue.
    UnknownProduct,
    /// A date outside the years a subscription can hold, or a reversed period.
    OutOfRange,
    /// Read back from the inbox, written by a version with more codes.
    Other(String),
}

impl ParkCode {
    const KNOWN: [Self; 13] = [
        Self::Malformed,
        Self::UnknownEventType,
        Self::UnknownEnum,
        Self::Misrouted,
        Self::BodyConflict,
        Self::RetriesExhausted,
        Self::UnknownAccount,
        Self::UnknownSubscription,
        Self::PoloRefused,
        Self::AccountMismatch,
        Self::NoAccount,
        Self::UnknownProduct,
        Self::OutOfRange,
    ];

    pub fn as_str(&self) -> &str {
        match self {
            Self::Malformed => "malformed",
            Self::UnknownEventType => "unknown_event_type",
            Self::UnknownEnum => "unknown_enum",
            Self::Misrouted => "misrouted",
            Self::BodyConflict => "body_conflict",
            Self::RetriesExhausted => "retries_exhausted",
            Self::UnknownAccount => "unknown_account",
            Self::UnknownSubscription => "unknown_subscription",
            Self::PoloRefused => "polo_refused",
            Self::AccountMismatch => "account_mismatch",
            Self::NoAccount => "no_account",
            Self::UnknownProduct => "unknown_product",
            Self::OutOfRange => "out_of_range",
            Self::Other(raw) => raw,
        }
    }

    /// The code a stored string names (`Other` for one this version lacks).
    pub fn parse(raw: &str) -> Self {
        Self::KNOWN
            .into_iter()
            .find(|code| code.as_str() == raw)
            .unwrap_or_else(|| Self::Other(raw.to_owned()))
    }
}

impl fmt::Display for ParkCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Tests and the admin tool compare codes with their stored names.
impl PartialEq<str> for ParkCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ParkCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl From<ParkCode> for String {
    fn from(code: ParkCode) -> Self {
        code.as_str().to_owned()
    }
}

/// Why an event was parked: a stable code (for metrics, alarms and the
/// replay tool) and a detail naming the field or rule, never a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkReason {
    pub code: ParkCode,
    pub detail: String,
}

impl ParkReason {
    pub fn new(code: ParkCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_code_reads_back_as_itself_and_an_unknown_one_as_other() {
        for code in ParkCode::KNOWN {
            assert_eq!(ParkCode::parse(code.as_str()), code);
        }
        assert_eq!(
            ParkCode::parse("a_newer_code"),
            ParkCode::Other("a_newer_code".into())
        );
        assert_eq!(ParkCode::parse("a_newer_code").as_str(), "a_newer_code");
    }
}
