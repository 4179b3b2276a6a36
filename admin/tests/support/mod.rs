//! The generated PayPal export both migration suites run: 1,000 rows, 20 of
//! them malformed in four ways, 40 CANCELLED, the last ten for accounts the
//! store does not know. `cli` runs the compiled binary.

#![allow(dead_code)]

pub mod cli;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

pub const ROWS: usize = 1_000;
pub const BAD: usize = 20;
pub const CANCELLED: usize = 40;
/// Rows whose account is not in the store (the last ten).
pub const UNKNOWN: usize = 10;
/// Rows that migrate: every valid ACTIVE row of a known account.
pub const MIGRATED: usize = ROWS - BAD - CANCELLED - UNKNOWN;

pub fn account_name(n: usize) -> String {
    format!("acct_{n:04}")
}

/// Writes the export to `dir/export.csv`; next billing times are 1 to 28
/// days after `base` (whole days, so the report is the same on every run).
pub fn export(dir: &Path, base: OffsetDateTime) -> PathBuf {
    let midnight = base.replace_time(time::Time::MIDNIGHT);
    let mut csv =
        String::from("paypal_subscription_id,account_id,email,plan,status,next_billing_time\n");
    let plans = ["starter", "pro", "enterprise"];
    for n in 0..ROWS {
        let next = midnight + Duration::days(1 + (n % 28) as i64);
        let mut fields = [
            format!("I-{n:012}"),
            account_name(n),
            format!("user{n}@example.com"),
            plans[n % 3].to_owned(),
            "ACTIVE".to_owned(),
            next.format(&Rfc3339).unwrap_or_default(),
        ];
        if n % 50 == 7 {
            match (n / 50) % 4 {
                0 => fields[2] = "not-an-email".into(),
                1 => fields[3] = "platinum".into(),
                2 => fields[5] = "soon".into(),
                _ => fields[0] = "SUB-BROKEN".into(),
            }
        } else if n % 25 == 3 {
            fields[4] = "CANCELLED".into();
            fields[5] = String::new();
        }
        let _ = writeln!(csv, "{}", fields.join(","));
    }
    let path = dir.join("export.csv");
    std::fs::write(&path, csv).expect("the export is written");
    path
}
