//! The migration report: one CSV line per input row, sorted by line —
//! account, email, tier, paid-through, outcome and why.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// What happened to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The account is marked PayPal until its paid-through date, with its
    /// Polo customer (also when an earlier run already did exactly this).
    Migrated,
    /// Dry run: would be migrated.
    WouldMigrate,
    /// A Polo subscription already grants access: left alone.
    AlreadyOnPolo,
    /// Not ACTIVE at PayPal: nothing to carry over.
    SkippedInactive,
    /// The row is malformed: reported with its line, skipped.
    Invalid,
    /// No such account in the account store.
    UnknownAccount,
    /// A transient failure (Polo or the store unavailable): not journaled,
    /// so the next run retries it.
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Migrated => "migrated",
            Self::WouldMigrate => "would_migrate",
            Self::AlreadyOnPolo => "already_on_polo",
            Self::SkippedInactive => "skipped_inactive",
            Self::Invalid => "invalid",
            Self::UnknownAccount => "unknown_account",
            Self::Failed => "failed",
        }
    }

    /// Final for this input: journaled, never redone.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Failed | Self::WouldMigrate)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportLine {
    pub line: u64,
    pub paypal_subscription_id: String,
    pub account: String,
    pub email: String,
    pub tier: String,
    pub paid_through: String,
    pub outcome: Outcome,
    pub detail: String,
}

/// Writes the report CSV (sorted by line).
pub fn write(path: &Path, lines: &mut [ReportLine]) -> Result<(), String> {
    lines.sort_by_key(|l| l.line);
    let mut writer =
        csv::Writer::from_path(path).map_err(|e| format!("{}: {e}", path.display()))?;
    writer
        .write_record([
            "line",
            "paypal_subscription_id",
            "account",
            "email",
            "tier",
            "paid_through",
            "outcome",
            "detail",
        ])
        .map_err(|e| format!("{}: {e}", path.display()))?;
    for l in lines.iter() {
        writer
            .write_record([
                l.line.to_string().as_str(),
                &l.paypal_subscription_id,
                &l.account,
                &l.email,
                &l.tier,
                &l.paid_through,
                l.outcome.as_str(),
                &l.detail,
            ])
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    writer
        .flush()
        .map_err(|e| format!("{}: {e}", path.display()))
}
