//! The check can fail: each part is shown a run that lost or doubled
//! something and must say so.

use super::*;
use crate::burst::send::Attempt;
use crate::burst::story::generate;

fn burst() -> Burst {
    generate(20, 200, 10, 11, OffsetDateTime::now_utc())
}

fn polo(burst: &Burst) -> impl Fn(&str) -> Option<Value> + '_ {
    |name| {
        let n = burst.accounts.iter().position(|a| a == name)?;
        burst.finals.get(n).cloned()
    }
}

fn answered(event: usize, answer: &str) -> Delivered {
    Delivered {
        event,
        attempts: vec![Attempt {
            status: 200,
            answer: answer.to_owned(),
            millis: 1.0,
        }],
        total_millis: 1.0,
    }
}

/// Each delivery answered as a correct run answers it: the first of each
/// event processed, its copies duplicate.
fn clean_answers(burst: &Burst) -> Vec<Delivered> {
    let mut seen = BTreeSet::new();
    burst
        .deliveries
        .iter()
        .map(|&e| {
            answered(
                e,
                if seen.insert(e) {
                    "processed"
                } else {
                    "duplicate"
                },
            )
        })
        .collect()
}

#[test]
fn states_computed_from_the_same_events_agree() {
    let burst = burst();
    let now = OffsetDateTime::now_utc();
    let expected = expected_states(&burst, polo(&burst), now).unwrap();
    let again = expected_states(&burst, polo(&burst), now).unwrap();
    let mut verdict = Verdict::default();
    compare_states(&mut verdict, &expected, |id| {
        again.iter().find(|a| a.account_id == *id).cloned()
    });
    assert!(verdict.passed(), "{:?}", verdict.failures);
    assert_eq!(verdict.accounts, 20);
}

#[test]
fn an_event_dropped_from_the_expected_side_fails_the_state_comparison() {
    let burst = burst();
    let now = OffsetDateTime::now_utc();
    let actual = expected_states(&burst, polo(&burst), now).unwrap();
    // An account with no `order.paid`: one applies Polo's final
    // subscription, which makes any later event of the story redundant.
    let account = (0..burst.accounts.len())
        .find(|&n| burst.story_of(n).all(|e| e.snapshot.is_some()))
        .unwrap();
    let mut dropped = burst.clone();
    let last = dropped
        .events
        .iter()
        .rposition(|e| e.account == account)
        .unwrap();
    dropped.events.remove(last);
    let expected = expected_states(&dropped, polo(&burst), now).unwrap();
    let mut verdict = Verdict::default();
    compare_states(&mut verdict, &expected, |id| {
        actual.iter().find(|a| a.account_id == *id).cloned()
    });
    assert_eq!(verdict.failures.len(), 1, "{:?}", verdict.failures);
    assert!(verdict.failures[0].starts_with(&burst.accounts[account]));
}

#[test]
fn clean_answers_pass_and_a_lost_event_fails() {
    let burst = burst();
    let answers = clean_answers(&burst);
    let mut verdict = Verdict::default();
    check_answers(&mut verdict, &burst, &answers, &BTreeMap::new());
    assert!(verdict.passed(), "{:?}", verdict.failures);

    let lost = burst.deliveries[0];
    let without: Vec<_> = answers.into_iter().filter(|d| d.event != lost).collect();
    let mut verdict = Verdict::default();
    check_answers(&mut verdict, &burst, &without, &BTreeMap::new());
    assert_eq!(verdict.failures.len(), 1, "{:?}", verdict.failures);
    assert!(verdict.failures[0].contains("handled 0 times"));
}

#[test]
fn an_event_handled_twice_or_left_on_a_409_fails() {
    let burst = burst();
    let mut answers = clean_answers(&burst);
    let first = answers[0].event;
    answers.push(answered(first, "processed"));
    let mut verdict = Verdict::default();
    check_answers(&mut verdict, &burst, &answers, &BTreeMap::new());
    assert!(verdict
        .failures
        .iter()
        .any(|f| f.contains("handled 2 times")));

    let mut answers = clean_answers(&burst);
    answers[3].attempts[0] = Attempt {
        status: 409,
        answer: "in_progress".into(),
        millis: 1.0,
    };
    let mut verdict = Verdict::default();
    check_answers(&mut verdict, &burst, &answers, &BTreeMap::new());
    assert!(verdict
        .failures
        .iter()
        .any(|f| f.contains("last answer 409")));
}

#[test]
fn an_event_in_the_audit_twice_fails() {
    let burst = burst();
    let now = OffsetDateTime::now_utc();
    let id = AccountId::parse(&burst.accounts[0]).unwrap();
    let v0 = AccountBilling::new(id.clone());
    let mut v1 = v0.clone();
    v1.version = 1;
    let mut v2 = v0.clone();
    v2.version = 2;
    let event = burst.story_of(0).next().unwrap().id.clone();
    let rows = vec![
        AuditEntry::new(&event, "subscription.created", &v0, &v1, now),
        AuditEntry::new(&event, "subscription.created", &v1, &v2, now),
    ];
    let mut verdict = Verdict::default();
    check_audit(&mut verdict, &burst, |a| {
        if *a == id {
            rows.clone()
        } else {
            Vec::new()
        }
    });
    assert_eq!(verdict.failures.len(), 1, "{:?}", verdict.failures);
    assert!(verdict.failures[0].contains("applied twice"));
}

#[test]
fn an_event_answered_202_counts_only_once_the_sweep_completed_it() {
    let burst = burst();
    let mut answers = clean_answers(&burst);
    // A delivery of an event sent once (no copy).
    let once = (0..answers.len())
        .find(|&i| {
            answers
                .iter()
                .filter(|d| d.event == answers[i].event)
                .count()
                == 1
        })
        .unwrap();
    answers[once].attempts[0] = Attempt {
        status: 202,
        answer: "accepted".into(),
        millis: 1.0,
    };
    let id = burst.events[answers[once].event].id.clone();
    let mut verdict = Verdict::default();
    let pending = BTreeMap::from([(id.clone(), RecordStatus::Pending)]);
    check_answers(&mut verdict, &burst, &answers, &pending);
    assert_eq!(verdict.failures.len(), 1, "{:?}", verdict.failures);
    assert!(verdict.failures[0].contains("left Some(Pending)"));

    let mut verdict = Verdict::default();
    let completed = BTreeMap::from([(id, RecordStatus::Completed)]);
    check_answers(&mut verdict, &burst, &answers, &completed);
    assert!(verdict.passed(), "{:?}", verdict.failures);
}
