//! The burst's final consistency check. The expected account is computed
//! in-process with the domain's one transition (`billing::domain::apply`)
//! fed each account's events in Polo's order — for an `order.paid`, the
//! subscription Polo returns when asked, which is what its function applies.
//! Then, against what the binaries left behind:
//! - every account's billing state equals its in-order outcome;
//! - every delivery ended in a 2xx, and every distinct event was handled
//!   exactly once (one `processed`/`stale` answer, or one 202 `accepted`
//!   whose record the retry sweep then COMPLETED; every other delivery of
//!   it `duplicate`): nothing lost, nothing doubled at the intake;
//! - no event changed an account twice (audit rows: distinct event ids, all
//!   the account's own, versions 1, 2, 3, … with no gap);
//! - no version pushed with two different decisions, and the orchestrator
//!   holds each account's final entitlement.

use super::send::Delivered;
use super::story::Burst;
use billing::accounts::{AuditEntry, InMemoryAccountStore};
use billing::domain::{apply, AccountBilling, AccountId, Decision, Entitlement, Policy};
use billing::idempotency::RecordStatus;
use billing::polo::catalogue::Catalogue;
use billing::provisioning::InMemoryProvisioner;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;

/// What the check found: `failures` empty means consistent.
#[derive(Debug, Default)]
pub struct Verdict {
    pub accounts: usize,
    pub events: usize,
    pub audit_rows: usize,
    pub pushes: usize,
    /// Pushes repeating the decision of a version already pushed (a
    /// writer that found the decision not yet acknowledged re-sent it).
    pub repeated_pushes: usize,
    pub failures: Vec<String>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    fn fail(&mut self, failure: String) {
        // A broken run fails everywhere: the first hundred tell the story.
        if self.failures.len() < 100 {
            self.failures.push(failure);
        }
    }
}

/// Each account's state after its events in order, from a new account.
/// `polo_now(account)`: the subscription Polo returns for that account.
pub fn expected_states(
    burst: &Burst,
    polo_now: impl Fn(&str) -> Option<Value>,
    now: OffsetDateTime,
) -> Result<Vec<AccountBilling>, String> {
    let (starter, pro, enterprise) = crate::local::LOCAL_PRODUCTS;
    let catalogue =
        Catalogue::from_lists(starter, pro, enterprise).map_err(|e| format!("{e:?}"))?;
    let mut states = Vec::with_capacity(burst.accounts.len());
    for (n, name) in burst.accounts.iter().enumerate() {
        let mut account = AccountBilling::new(AccountId::parse(name).map_err(|e| e.to_string())?);
        for event in burst.story_of(n) {
            let wire = match &event.snapshot {
                Some(snapshot) => snapshot.clone(),
                None => polo_now(name).ok_or(format!("Polo has no subscription for {name}"))?,
            };
            let wire: billing::polo::PoloSubscription =
                serde_json::from_value(wire).map_err(|e| format!("{}: {e}", event.id))?;
            let snapshot = wire
                .snapshot(&catalogue)
                .map_err(|e| format!("{}: {e:?}", event.id))?;
            if let Decision::Apply(applied) = apply(&account, &snapshot, now, &Policy::default()) {
                account = applied.next;
            }
        }
        states.push(account);
    }
    Ok(states)
}

/// The billing state, without what depends on how many writes it took or
/// when they ran (version, change time) or on provisioning's progress.
fn billing_state(account: &AccountBilling) -> AccountBilling {
    let mut state = account.clone();
    state.version = 0;
    state.entitlement_changed_at = None;
    state.provisioned_entitlement = None;
    state.provisioning_intent = None;
    state
}

/// Every account's final state against its expected one.
pub fn compare_states(
    verdict: &mut Verdict,
    expected: &[AccountBilling],
    actual: impl Fn(&AccountId) -> Option<AccountBilling>,
) {
    for want in expected {
        verdict.accounts += 1;
        match actual(&want.account_id) {
            Some(got) if billing_state(&got) == billing_state(want) => {}
            Some(got) => verdict.fail(format!(
                "{}: ends {} {} entitled {:?}, in-order outcome {} {} entitled {:?}",
                want.account_id.as_str(),
                got.billing_status.as_str(),
                got.plan_tier,
                got.desired_entitlement,
                want.billing_status.as_str(),
                want.plan_tier,
                want.desired_entitlement
            )),
            None => verdict.fail(format!("{}: no account", want.account_id.as_str())),
        }
    }
}

/// Every delivery ended in a 2xx; every distinct event was handled once
/// (an event answered 202 `accepted` counts once its record is COMPLETED
/// by the retry sweep: `swept` holds those records' final status).
pub fn check_answers(
    verdict: &mut Verdict,
    burst: &Burst,
    delivered: &[Delivered],
    swept: &BTreeMap<String, RecordStatus>,
) {
    let mut handled: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for d in delivered {
        let Some(last) = d.last() else {
            verdict.fail(format!("{}: never sent", burst.events[d.event].id));
            continue;
        };
        if !matches!(last.status, 200 | 202) {
            verdict.fail(format!(
                "{}: last answer {} {}",
                burst.events[d.event].id, last.status, last.answer
            ));
        }
        handled.entry(d.event).or_default().push(&last.answer);
    }
    for (n, event) in burst.events.iter().enumerate() {
        verdict.events += 1;
        let answers = handled.get(&n).map(Vec::as_slice).unwrap_or_default();
        let first: Vec<_> = answers
            .iter()
            .filter(|a| matches!(**a, "processed" | "stale" | "accepted"))
            .collect();
        if answers.contains(&"accepted") && swept.get(&event.id) != Some(&RecordStatus::Completed) {
            verdict.fail(format!(
                "{}: answered 202, left {:?} by the retry sweep",
                event.id,
                swept.get(&event.id)
            ));
        }
        let duplicates = answers.iter().filter(|a| **a == "duplicate").count();
        if first.len() != 1 || first.len() + duplicates != answers.len() {
            verdict.fail(format!(
                "{}: handled {} times, answers {answers:?} (want one processed or stale, the rest duplicate)",
                event.id,
                first.len()
            ));
        }
    }
}

/// No event changed an account twice; every change is the account's own
/// event; versions have no gap.
pub fn check_audit(
    verdict: &mut Verdict,
    burst: &Burst,
    audit: impl Fn(&AccountId) -> Vec<AuditEntry>,
) {
    for (n, name) in burst.accounts.iter().enumerate() {
        let Ok(id) = AccountId::parse(name) else {
            verdict.fail(format!("{name}: not an account id"));
            continue;
        };
        let own: BTreeSet<&str> = burst.story_of(n).map(|e| e.id.as_str()).collect();
        let rows = audit(&id);
        verdict.audit_rows += rows.len();
        let mut seen = BTreeSet::new();
        for (k, row) in rows.iter().enumerate() {
            if !seen.insert(row.event_id.as_str()) {
                verdict.fail(format!("{name}: {} applied twice", row.event_id));
            }
            if !own.contains(row.event_id.as_str()) {
                verdict.fail(format!(
                    "{name}: changed by {}, not its event",
                    row.event_id
                ));
            }
            if row.before.version != k as u64 || row.after.version != k as u64 + 1 {
                verdict.fail(format!(
                    "{name}: change {k} went {} → {}",
                    row.before.version, row.after.version
                ));
            }
        }
    }
}

/// One decision per pushed version; the orchestrator holds each account's
/// final entitlement.
pub fn check_pushes(
    verdict: &mut Verdict,
    accounts: &InMemoryAccountStore,
    orchestrator: &InMemoryProvisioner,
    expected: &[AccountBilling],
) {
    let pushes = orchestrator.pushes();
    verdict.pushes = pushes.len();
    let mut by_version = BTreeMap::new();
    for p in &pushes {
        let decision = (p.entitled, p.tier, p.expires_at);
        match by_version.insert((p.account_id.as_str().to_owned(), p.version), decision) {
            Some(before) if before != decision => verdict.fail(format!(
                "{}: version {} pushed as {before:?} and as {decision:?}",
                p.account_id.as_str(),
                p.version
            )),
            Some(_) => verdict.repeated_pushes += 1,
            None => {}
        }
    }
    for want in expected {
        let held = orchestrator
            .decision(&want.account_id)
            .map(|d| Entitlement {
                entitled: d.entitled,
                tier: d.tier,
                expires_at: d.expires_at,
            })
            .unwrap_or(Entitlement::NONE);
        let desired = accounts
            .account(&want.account_id)
            .map(|a| a.desired_entitlement);
        if held != want.desired_entitlement || desired.as_ref() != Some(&held) {
            verdict.fail(format!(
                "{}: orchestrator holds {held:?}, account wants {desired:?}, in-order outcome {:?}",
                want.account_id.as_str(),
                want.desired_entitlement
            ));
        }
    }
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
