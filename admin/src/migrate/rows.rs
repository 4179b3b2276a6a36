//! The PayPal subscriber export: one CSV row per subscription, with the
//! header `paypal_subscription_id,account_id,email,plan,status,
//! next_billing_time`. Each row is parsed into a [`Row`] or refused with
//! its line number and what is wrong (never its values: rows hold emails).

use billing::domain::{AccountId, PlanTier};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub const HEADER: [&str; 6] = [
    "paypal_subscription_id",
    "account_id",
    "email",
    "plan",
    "status",
    "next_billing_time",
];

/// PayPal's subscription statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaypalStatus {
    ApprovalPending,
    Approved,
    Active,
    Suspended,
    Cancelled,
    Expired,
}

impl PaypalStatus {
    fn parse(raw: &str) -> Option<Self> {
        Some(match raw.to_ascii_uppercase().as_str() {
            "APPROVAL_PENDING" => Self::ApprovalPending,
            "APPROVED" => Self::Approved,
            "ACTIVE" => Self::Active,
            "SUSPENDED" => Self::Suspended,
            "CANCELLED" => Self::Cancelled,
            "EXPIRED" => Self::Expired,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApprovalPending => "APPROVAL_PENDING",
            Self::Approved => "APPROVED",
            Self::Active => "ACTIVE",
            Self::Suspended => "SUSPENDED",
            Self::Cancelled => "CANCELLED",
            Self::Expired => "EXPIRED",
        }
    }
}

/// One valid row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The line in the file (the header is line 1).
    pub line: u64,
    pub paypal_subscription_id: String,
    pub account: AccountId,
    pub email: String,
    pub tier: PlanTier,
    pub status: PaypalStatus,
    /// Paid up to here (`next_billing_time`); required for ACTIVE rows.
    pub paid_through: Option<OffsetDateTime>,
}

/// A refused row: its line, what the row says it is (when readable), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub line: u64,
    pub paypal_subscription_id: String,
    pub reason: String,
}

/// A row of the file, parsed or refused.
pub type Parsed = Result<Row, Invalid>;

/// Reads the whole export. `Err` only when the file itself is unusable
/// (unreadable, or a header other than [`HEADER`]); a bad row is an
/// `Invalid` among the others.
pub fn read(path: &std::path::Path) -> Result<Vec<Parsed>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    read_from(file).map_err(|e| format!("{}: {e}", path.display()))
}

/// [`read`] over any reader (the fuzz target `migration_rows` drives this).
/// Its errors name what is wrong, never a value of the file.
pub fn read_from(source: impl std::io::Read) -> Result<Vec<Parsed>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(source);
    let header = reader
        .headers()
        .map_err(|_| "header: not a readable CSV header".to_owned())?
        .clone();
    let names: Vec<&str> = header.iter().collect();
    if names != HEADER {
        return Err(format!("the header must be exactly {}", HEADER.join(",")));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let parsed = match record {
            Ok(record) => {
                let line = record.position().map_or(0, |p| p.line());
                parse(line, &record)
            }
            Err(err) => {
                let line = err.position().map_or(0, |p| p.line());
                Err(Invalid {
                    line,
                    paypal_subscription_id: String::new(),
                    reason: "not a readable CSV row".to_owned(),
                })
            }
        };
        rows.push(parsed);
    }
    Ok(rows)
}

fn parse(line: u64, record: &csv::StringRecord) -> Parsed {
    let field = |i: usize| record.get(i).unwrap_or("");
    let id = field(0).to_owned();
    let invalid = |reason: String| Invalid {
        line,
        paypal_subscription_id: if valid_subscription_id(&id) {
            id.clone()
        } else {
            String::new()
        },
        reason,
    };
    if record.len() != HEADER.len() {
        return Err(invalid(format!(
            "{} fields, expected {}",
            record.len(),
            HEADER.len()
        )));
    }
    if !valid_subscription_id(&id) {
        return Err(invalid(
            "paypal_subscription_id: not a PayPal subscription id (I-…)".to_owned(),
        ));
    }
    let account = AccountId::parse(field(1)).map_err(|e| invalid(format!("account_id: {e}")))?;
    let email = field(2);
    if !valid_email(email) {
        return Err(invalid("email: not an email address".to_owned()));
    }
    let tier = PlanTier::parse(&field(3).to_ascii_lowercase())
        .filter(|t| PlanTier::SOLD.contains(t))
        .ok_or_else(|| invalid("plan: not one of starter, pro, enterprise".to_owned()))?;
    let status = PaypalStatus::parse(field(4))
        .ok_or_else(|| invalid("status: not a PayPal subscription status".to_owned()))?;
    let raw_time = field(5);
    let paid_through = if raw_time.is_empty() {
        None
    } else {
        Some(
            OffsetDateTime::parse(raw_time, &Rfc3339)
                .map_err(|_| invalid("next_billing_time: not an RFC 3339 time".to_owned()))?,
        )
    };
    if status == PaypalStatus::Active && paid_through.is_none() {
        return Err(invalid(
            "next_billing_time: required for an ACTIVE subscription".to_owned(),
        ));
    }
    Ok(Row {
        line,
        paypal_subscription_id: id,
        account,
        email: email.to_owned(),
        tier,
        status,
        paid_through,
    })
}

fn valid_subscription_id(id: &str) -> bool {
    id.strip_prefix("I-").is_some_and(|rest| {
        (6..=32).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && email.chars().all(|c| c.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fields: &[&str]) -> csv::StringRecord {
        csv::StringRecord::from(fields.to_vec())
    }

    const GOOD: [&str; 6] = [
        "I-BW452GLLEP1G",
        "acct_1",
        "ada@example.com",
        "pro",
        "ACTIVE",
        "2026-12-10T00:00:00Z",
    ];

    #[test]
    fn a_valid_row_parses_into_typed_fields() {
        let row = parse(2, &record(&GOOD)).unwrap();
        assert_eq!(row.tier, PlanTier::Pro);
        assert_eq!(row.status, PaypalStatus::Active);
        assert!(row.paid_through.is_some());
    }

    #[test]
    fn each_bad_field_is_named_without_its_value() {
        let cases: [(usize, &str, &str); 7] = [
            (0, "SUB-123", "paypal_subscription_id"),
            (1, "", "account_id"),
            (2, "ada.example.com", "email"),
            (3, "gold", "plan"),
            (4, "PAUSED", "status"),
            (5, "next week", "next_billing_time"),
            (5, "", "next_billing_time"),
        ];
        for (index, value, field) in cases {
            let mut fields = GOOD;
            fields[index] = value;
            let err = parse(7, &record(&fields)).unwrap_err();
            assert_eq!(err.line, 7);
            assert!(err.reason.starts_with(field), "{field}: {}", err.reason);
            if !value.is_empty() {
                assert!(!err.reason.contains(value), "the value is not echoed");
            }
        }
    }

    #[test]
    fn a_row_with_missing_fields_is_refused() {
        let err = parse(3, &record(&GOOD[..4])).unwrap_err();
        assert_eq!(err.reason, "4 fields, expected 6");
    }
}
