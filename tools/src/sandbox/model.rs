//! What the sandbox holds — products, customers, checkouts, subscriptions,
//! orders, customer sessions — behind one lock. How each renders as Polo's
//! JSON is in [`super::render`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use time::{Duration, Month, OffsetDateTime};

pub use super::render::{checkout_url, customer_json, product_json, rfc3339};

pub type Metadata = Map<String, Value>;

/// A billing or trial interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    Day,
    Week,
    Month,
    Year,
}

impl Interval {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
            Self::Year => "year",
        }
    }

    /// `t` plus `count` intervals; months and years keep the day of the
    /// month where it exists (Jan 31 + 1 month = Feb 28/29).
    pub fn add(self, t: OffsetDateTime, count: u32) -> OffsetDateTime {
        let months = match self {
            Self::Day => return t + Duration::days(i64::from(count)),
            Self::Week => return t + Duration::weeks(i64::from(count)),
            Self::Month => count,
            Self::Year => count.saturating_mul(12),
        };
        let total =
            i64::from(t.year()) * 12 + i64::from(u8::from(t.month())) - 1 + i64::from(months);
        let (Ok(year), Ok(month)) = (i32::try_from(total / 12), u8::try_from(total % 12 + 1))
        else {
            return t;
        };
        let Ok(month) = Month::try_from(month) else {
            return t;
        };
        let day = t.day().min(month.length(year));
        time::Date::from_calendar_date(year, month, day)
            .map(|date| t.replace_date(date))
            .unwrap_or(t)
    }
}

/// A product from the config file (`tools/sandbox-products.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Integer minor units.
    pub price_amount: i64,
    pub currency: String,
    pub recurring_interval: Interval,
    /// The product's own trial, offered when a checkout allows one without
    /// naming its length.
    #[serde(default)]
    pub trial_days: Option<u32>,
    #[serde(default)]
    pub is_archived: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    pub id: String,
    pub external_id: Option<String>,
    pub email: String,
    pub name: Option<String>,
    pub metadata: Metadata,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckoutStatus {
    Open,
    Expired,
    Confirmed,
    Failed,
    Succeeded,
}

impl CheckoutStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Expired => "expired",
            Self::Confirmed => "confirmed",
            Self::Failed => "failed",
            Self::Succeeded => "succeeded",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Checkout {
    pub id: String,
    pub client_secret: String,
    pub status: CheckoutStatus,
    pub products: Vec<String>,
    pub product_id: String,
    pub metadata: Metadata,
    pub external_customer_id: Option<String>,
    pub customer_id: Option<String>,
    pub customer_email: Option<String>,
    pub success_url: Option<String>,
    pub return_url: Option<String>,
    pub embed_origin: Option<String>,
    pub allow_trial: bool,
    pub trial: Option<(Interval, u32)>,
    pub subscription_id: Option<String>,
    pub expires_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
    pub modified_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubStatus {
    Incomplete,
    Trialing,
    Active,
    PastDue,
    Canceled,
}

impl SubStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incomplete => "incomplete",
            Self::Trialing => "trialing",
            Self::Active => "active",
            Self::PastDue => "past_due",
            Self::Canceled => "canceled",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "incomplete" => Self::Incomplete,
            "trialing" => Self::Trialing,
            "active" => Self::Active,
            "past_due" | "unpaid" => Self::PastDue,
            "canceled" => Self::Canceled,
            _ => return None,
        })
    }

    /// Billed and running: renews, can be changed or canceled.
    pub fn is_live(self) -> bool {
        matches!(self, Self::Trialing | Self::Active)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub id: String,
    pub status: SubStatus,
    pub product_id: String,
    pub customer_id: String,
    pub metadata: Metadata,
    pub current_period_start: OffsetDateTime,
    pub current_period_end: Option<OffsetDateTime>,
    pub trial_start: Option<OffsetDateTime>,
    pub trial_end: Option<OffsetDateTime>,
    pub cancel_at_period_end: bool,
    pub canceled_at: Option<OffsetDateTime>,
    pub ends_at: Option<OffsetDateTime>,
    pub ended_at: Option<OffsetDateTime>,
    pub started_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub modified_at: Option<OffsetDateTime>,
    pub amount: i64,
    pub currency: String,
    pub recurring_interval: Interval,
    pub checkout_id: Option<String>,
    /// Admin fault: the next renewal's charge fails (→ `past_due`).
    pub fail_next_renewal: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: String,
    pub billing_reason: &'static str,
    pub subscription_id: String,
    /// The subscription as it was when the order was made (may go stale).
    pub subscription: Value,
    pub customer_id: String,
    pub product_id: String,
    pub total_amount: i64,
    pub currency: String,
    pub metadata: Metadata,
    pub created_at: OffsetDateTime,
}

/// A customer-portal session: its token is a bearer credential.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: String,
    pub token: String,
    pub customer_id: String,
    pub return_url: Option<String>,
    pub expires_at: OffsetDateTime,
}

/// An event a transition emits: its type and its `data`.
#[derive(Debug, Clone, PartialEq)]
pub struct Emitted {
    pub event_type: &'static str,
    pub data: Value,
}

/// Everything the sandbox holds, behind one lock.
#[derive(Debug, Default)]
pub struct State {
    pub products: Vec<Product>,
    pub customers: BTreeMap<String, Customer>,
    pub checkouts: BTreeMap<String, Checkout>,
    pub subscriptions: BTreeMap<String, Subscription>,
    pub orders: Vec<Order>,
    pub sessions: HashMap<String, Session>,
    /// POST answers by `Idempotency-Key`: a retried create is the same create.
    pub idempotent: HashMap<String, (u16, Value)>,
    /// Admin fault: this many upcoming renewals (of any subscription) fail.
    pub fail_next_renewals: u32,
    last_stamp: Option<OffsetDateTime>,
    /// Indexes kept by [`State::insert_customer`] and
    /// [`State::insert_subscription`] (`index.rs`).
    pub(super) index: super::index::Index,
}

impl State {
    /// A modification time: `now` at millisecond precision, strictly after
    /// the previous stamp, so successive changes always order.
    pub fn stamp(&mut self, now: OffsetDateTime) -> OffsetDateTime {
        let now = now.replace_millisecond(now.millisecond()).unwrap_or(now);
        let stamp = match self.last_stamp {
            Some(last) if now <= last => last + Duration::milliseconds(1),
            _ => now,
        };
        self.last_stamp = Some(stamp);
        stamp
    }

    pub fn product(&self, id: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.id == id)
    }

    pub fn customer_by_external(&self, external_id: &str) -> Option<&Customer> {
        self.index
            .customer_of(external_id)
            .and_then(|id| self.customers.get(id))
    }

    pub fn checkout_by_secret(&self, secret: &str) -> Option<&Checkout> {
        self.checkouts.values().find(|c| c.client_secret == secret)
    }

    /// A checkout past its expiry reads as `expired` from then on.
    pub fn expire_checkouts(&mut self, now: OffsetDateTime) {
        for checkout in self.checkouts.values_mut() {
            if checkout.status == CheckoutStatus::Open && now >= checkout.expires_at {
                checkout.status = CheckoutStatus::Expired;
            }
        }
    }
}

/// A new opaque id (UUIDs, as Polo's are today).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A new secret token with a recognisable prefix.
pub fn new_token(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_month_later_keeps_the_day_or_the_last_day_of_the_month() {
        let jan31 = datetime!(2026-01-31 10:00 UTC);
        assert_eq!(
            Interval::Month.add(jan31, 1),
            datetime!(2026-02-28 10:00 UTC)
        );
        assert_eq!(
            Interval::Month.add(jan31, 12),
            datetime!(2027-01-31 10:00 UTC)
        );
        assert_eq!(
            Interval::Year.add(jan31, 1),
            datetime!(2027-01-31 10:00 UTC)
        );
        assert_eq!(
            Interval::Week.add(jan31, 2),
            datetime!(2026-02-14 10:00 UTC)
        );
    }

    #[test]
    fn stamps_strictly_increase_even_when_the_clock_does_not() {
        let mut state = State::default();
        let t = datetime!(2026-11-26 09:00:00.123456 UTC);
        let first = state.stamp(t);
        let second = state.stamp(t);
        assert_eq!(first, datetime!(2026-11-26 09:00:00.123 UTC));
        assert_eq!(second, first + Duration::milliseconds(1));
    }
}
