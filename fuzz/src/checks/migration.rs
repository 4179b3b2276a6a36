//! The PayPal export's CSV reader (`admin::migrate::rows::read_from`) given
//! any bytes: it never panics; a refused file or row says what is wrong and
//! never quotes a value (rows hold emails); every accepted row is
//! well-formed (an `I-…` id, an email, a sold plan, a paid-through time
//! when ACTIVE).

use super::assert_not_quoted;
use admin::migrate::rows::{read_from, PaypalStatus, HEADER};
use billing::domain::PlanTier;

/// The input is the file after the header (so most inputs reach the rows);
/// byte 0's low bit replaces the header with the input's own first line.
pub fn migration_rows(data: &[u8]) -> usize {
    let (own_header, rest) = match data.split_first() {
        Some((&flags, rest)) => (flags & 1 == 1, rest),
        None => (false, data),
    };
    let file: Vec<u8> = if own_header {
        rest.to_vec()
    } else {
        [HEADER.join(",").as_bytes(), b"\n", rest].concat()
    };
    let rows = match read_from(file.as_slice()) {
        Ok(rows) => rows,
        Err(problem) => {
            assert_not_quoted(&problem, rest);
            return 0;
        }
    };
    let mut accepted = 0;
    for row in rows {
        match row {
            Ok(row) => {
                assert!(row.paypal_subscription_id.starts_with("I-"));
                assert!(row.email.contains('@'));
                assert!(PlanTier::SOLD.contains(&row.tier));
                if row.status == PaypalStatus::Active {
                    assert!(row.paid_through.is_some(), "ACTIVE without paid-through");
                }
                assert!(row.line >= 2, "a row on the header's line");
                accepted += 1;
            }
            Err(invalid) => {
                assert_not_quoted(&invalid.reason, rest);
                assert!(!invalid.reason.is_empty());
            }
        }
    }
    accepted
}
