//! The local terminal's state-change lines, beside the request lines of
//! [`super::console`]: one compact line each time an account's billing
//! state changes (plan, status, provider, access, expiry: old → new, and
//! the event or job that caused it), and each time the embedded
//! orchestrator issues or revokes an account's credentials. Printed only
//! when the request lines are (human mode), coloured only on a terminal.
//!
//! Account changes are seen by [`PrintingAccounts`], a decorator over
//! whichever account store serves (in memory or Convex): each committed
//! compare-and-set prints its audit row's before → after.

use billing::accounts::{
    AccountPage, AccountStore, AccountStoreError, AuditEntry, AuditSummary, Page,
};
use billing::domain::{AccountBilling, AccountId, ProvisionedEntitlement};
use billing::provisioning::ProvisioningRequest;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// RFC 3339 to the second: the sandbox's strictly increasing stamps differ
/// by milliseconds, which is not a change a person reads.
fn rfc3339(at: Option<OffsetDateTime>) -> String {
    at.and_then(|t| t.replace_nanosecond(0).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "none".into())
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// What differs between two audit summaries, as `what old→new` parts.
pub fn differences(before: &AuditSummary, after: &AuditSummary) -> Vec<String> {
    let mut parts = Vec::new();
    let mut part = |what: &str, old: String, new: String| {
        if old != new {
            parts.push(format!("{what} {old}→{new}"));
        }
    };
    part(
        "provider",
        format!("{:?}", before.provider).to_lowercase(),
        format!("{:?}", after.provider).to_lowercase(),
    );
    part(
        "plan",
        before.plan_tier.to_string(),
        after.plan_tier.to_string(),
    );
    part(
        "status",
        before.billing_status.as_str().to_owned(),
        after.billing_status.as_str().to_owned(),
    );
    part(
        "access",
        yes_no(before.entitled).to_owned(),
        yes_no(after.entitled).to_owned(),
    );
    part(
        "until",
        rfc3339(before.premium_expires_at),
        rfc3339(after.premium_expires_at),
    );
    parts
}

fn clock(at: OffsetDateTime) -> String {
    format!("{:02}:{:02}:{:02}", at.hour(), at.minute(), at.second())
}

fn paint(colour: bool, code: &str, text: &str) -> String {
    if colour {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

/// An account's change as a person reads it; `None` when nothing a person
/// reads changed (a push intent, a watermark).
pub fn state_line(
    entry: &AuditEntry,
    account: &str,
    at: OffsetDateTime,
    colour: bool,
) -> Option<String> {
    let parts = differences(&entry.before, &entry.after);
    if parts.is_empty() {
        return None;
    }
    Some(format!(
        "{} {} {:<16} {}  ({})",
        clock(at),
        paint(colour, "36", "STATE"),
        account,
        parts.join(", "),
        entry.event_type
    ))
}

/// The orchestrator's decision changing from `before` to `after`, if what
/// the account holds changed: issued (tier, until) or revoked.
pub fn credentials_line(
    before: Option<&ProvisioningRequest>,
    after: &ProvisioningRequest,
    at: OffsetDateTime,
    colour: bool,
) -> Option<String> {
    let held = |r: &ProvisioningRequest| (r.entitled, r.tier, r.expires_at);
    if before.map(held) == Some(held(after)) || (before.is_none() && !after.entitled) {
        return None;
    }
    let what = if after.entitled {
        paint(colour, "32", "credentials issued")
            + &format!(" ({}, until {})", after.tier, rfc3339(after.expires_at))
    } else {
        paint(colour, "31", "credentials revoked")
    };
    Some(format!(
        "{} {} {:<16} {what}  ({}, v{})",
        clock(at),
        paint(colour, "36", "CREDS"),
        after.account_id.as_str(),
        after.reason,
        after.version
    ))
}

/// Prints `line` when the request lines are on.
pub fn print(line: impl FnOnce(bool) -> Option<String>) {
    if let Some(colour) = super::console::printing() {
        if let Some(line) = line(colour) {
            println!("{line}");
        }
    }
}

/// An account store that prints a [`state_line`] for each committed change.
pub struct PrintingAccounts(pub Arc<dyn AccountStore>);

type Answer<'a, T> = Pin<Box<dyn Future<Output = Result<T, AccountStoreError>> + Send + 'a>>;

// `AccountStore` is an `async_trait`; its methods are written out here in
// the form that macro gives them, so this crate needs no macro of its own.
impl AccountStore for PrintingAccounts {
    fn get<'a, 'b, 't>(&'a self, account_id: &'b AccountId) -> Answer<'t, Option<AccountBilling>>
    where
        'a: 't,
        'b: 't,
        Self: 't,
    {
        self.0.get(account_id)
    }

    fn compare_and_set<'a, 'b, 'c, 't>(
        &'a self,
        expected_version: u64,
        next: &'b AccountBilling,
        audit: &'c AuditEntry,
    ) -> Answer<'t, ()>
    where
        'a: 't,
        'b: 't,
        'c: 't,
        Self: 't,
    {
        Box::pin(async move {
            self.0
                .compare_and_set(expected_version, next, audit)
                .await?;
            print(|colour| {
                state_line(
                    audit,
                    next.account_id.as_str(),
                    OffsetDateTime::now_utc(),
                    colour,
                )
            });
            Ok(())
        })
    }

    fn acknowledge_provisioning<'a, 'b, 'c, 't>(
        &'a self,
        account_id: &'b AccountId,
        acknowledged: &'c ProvisionedEntitlement,
    ) -> Answer<'t, bool>
    where
        'a: 't,
        'b: 't,
        'c: 't,
        Self: 't,
    {
        self.0.acknowledge_provisioning(account_id, acknowledged)
    }

    fn list_provisioning_mismatches<'a, 'b, 't>(
        &'a self,
        cursor: Option<&'b str>,
        limit: usize,
    ) -> Answer<'t, AccountPage>
    where
        'a: 't,
        'b: 't,
        Self: 't,
    {
        self.0.list_provisioning_mismatches(cursor, limit)
    }

    fn list_expired<'a, 'b, 't>(
        &'a self,
        now: OffsetDateTime,
        cursor: Option<&'b str>,
        limit: usize,
    ) -> Answer<'t, AccountPage>
    where
        'a: 't,
        'b: 't,
        Self: 't,
    {
        self.0.list_expired(now, cursor, limit)
    }

    fn list_polo_subscribers<'a, 'b, 't>(
        &'a self,
        cursor: Option<&'b str>,
        limit: usize,
    ) -> Answer<'t, Page>
    where
        'a: 't,
        'b: 't,
        Self: 't,
    {
        self.0.list_polo_subscribers(cursor, limit)
    }

    fn list_pending_paypal_cancellations<'a, 'b, 't>(
        &'a self,
        cursor: Option<&'b str>,
        limit: usize,
    ) -> Answer<'t, AccountPage>
    where
        'a: 't,
        'b: 't,
        Self: 't,
    {
        self.0.list_pending_paypal_cancellations(cursor, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use billing::domain::{BillingStatus, PlanTier, Provider};
    use time::macros::datetime;

    fn summary(tier: PlanTier, status: BillingStatus, entitled: bool) -> AuditSummary {
        AuditSummary {
            version: 1,
            provider: Provider::Polo,
            plan_tier: tier,
            billing_status: status,
            entitled,
            premium_expires_at: entitled.then_some(datetime!(2027-01-06 21:51 UTC)),
        }
    }

    fn entry(before: AuditSummary, after: AuditSummary) -> AuditEntry {
        AuditEntry {
            event_id: "msg_1".into(),
            event_type: "subscription.active".into(),
            before,
            after,
            at: datetime!(2026-12-06 21:51 UTC),
        }
    }

    #[test]
    fn a_state_line_names_the_account_each_change_old_to_new_and_its_cause() {
        let line = state_line(
            &entry(
                summary(PlanTier::Free, BillingStatus::None, false),
                summary(PlanTier::Pro, BillingStatus::Active, true),
            ),
            "acct_local_1",
            datetime!(2026-12-06 18:04:05 UTC),
            false,
        );
        assert_eq!(
            line.as_deref(),
            Some("18:04:05 STATE acct_local_1     plan free→pro, status none→active, access no→yes, until none→2027-01-06T21:51:00Z  (subscription.active)")
        );
    }

    #[test]
    fn a_write_that_changes_nothing_a_person_reads_prints_nothing_and_colour_is_only_escape_codes()
    {
        let same = summary(PlanTier::Pro, BillingStatus::Active, true);
        let at = datetime!(2026-12-06 18:04:05 UTC);
        assert_eq!(
            state_line(&entry(same.clone(), same.clone()), "a", at, true),
            None
        );
        let mut past_due = same.clone();
        past_due.billing_status = BillingStatus::PastDue;
        let coloured = state_line(&entry(same, past_due), "acct_9", at, true).unwrap_or_default();
        assert!(coloured.contains("\x1b[36mSTATE\x1b[0m"), "{coloured}");
        let plain = coloured.replace("\x1b[36m", "").replace("\x1b[0m", "");
        assert_eq!(
            plain,
            "18:04:05 STATE acct_9           status active→past_due  (subscription.active)"
        );
    }

    fn push(entitled: bool, version: u64) -> ProvisioningRequest {
        ProvisioningRequest {
            account_id: AccountId::parse("acct_local_1").unwrap(),
            version,
            entitled,
            tier: if entitled {
                PlanTier::Pro
            } else {
                PlanTier::Free
            },
            status: if entitled {
                BillingStatus::Active
            } else {
                BillingStatus::PastDue
            },
            expires_at: entitled.then_some(datetime!(2027-01-07 21:51 UTC)),
            reason: if entitled {
                "subscription.active".into()
            } else {
                "subscription.past_due".into()
            },
            source_event_id: "msg_1".into(),
        }
    }

    #[test]
    fn credentials_lines_say_issued_or_revoked_only_when_what_is_held_changes() {
        let at = datetime!(2026-12-06 18:04:05 UTC);
        assert_eq!(
            credentials_line(None, &push(true, 2), at, false).as_deref(),
            Some("18:04:05 CREDS acct_local_1     credentials issued (pro, until 2027-01-07T21:51:00Z)  (subscription.active, v2)")
        );
        assert_eq!(
            credentials_line(Some(&push(true, 2)), &push(false, 5), at, false).as_deref(),
            Some(
                "18:04:05 CREDS acct_local_1     credentials revoked  (subscription.past_due, v5)"
            )
        );
        assert_eq!(
            credentials_line(Some(&push(true, 2)), &push(true, 3), at, false),
            None
        );
        assert_eq!(credentials_line(None, &push(false, 1), at, false), None);
        let red =
            credentials_line(Some(&push(true, 2)), &push(false, 5), at, true).unwrap_or_default();
        assert!(red.contains("\x1b[31mcredentials revoked\x1b[0m"), "{red}");
    }
}
