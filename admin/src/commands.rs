//! `reconcile`, `replay` and `inbox`: thin loops over the shared crate's
//! [`Reconciler`], [`Replayer`] and [`Sweeper`], with text or JSON output.

use crate::progress;
use billing::domain::AccountId;
use billing::idempotency::RecordKey;
use billing::reconcile::{Reconciler, RunReport};
use billing::webhook::{ReplayOutcome, Replayer, Sweeper};
use serde_json::json;
use time::{Duration, OffsetDateTime};
use tracing::warn;

/// How a command ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Done,
    SomeFailed,
}

fn deadline() -> OffsetDateTime {
    // An operator's run: long, but never unbounded.
    OffsetDateTime::now_utc() + Duration::hours(2)
}

fn run_id() -> String {
    format!("admin-{}", OffsetDateTime::now_utc().unix_timestamp())
}

pub async fn reconcile(
    reconciler: &Reconciler,
    accounts: &[String],
    all: bool,
    json: bool,
) -> Result<Ended, String> {
    let report: RunReport = if all {
        let bar = progress::bar(json, None, "accounts");
        let report = reconciler
            .all_subscribers_with(&run_id(), deadline(), &|_| bar.inc(1))
            .await;
        bar.finish_and_clear();
        report.map_err(|e| e.to_string())?
    } else {
        let ids = accounts
            .iter()
            .map(|raw| AccountId::parse(raw).map_err(|e| format!("--account {raw:?}: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let bar = progress::bar(json, Some(ids.len() as u64), "accounts");
        let report = reconciler
            .accounts_with(&ids, &run_id(), deadline(), &|_| bar.inc(1))
            .await;
        bar.finish_and_clear();
        report
    };
    if json {
        println!(
            "{}",
            json!({
                "accounts": report.accounts,
                "changed": report.changed,
                "failed": report.failed.iter().map(|(id, why)| json!({"account": id.as_str(), "error": why})).collect::<Vec<_>>(),
            })
        );
    } else {
        println!(
            "reconciled {} account(s): {} changed, {} failed",
            report.accounts,
            report.changed,
            report.failed.len()
        );
        for (id, why) in &report.failed {
            println!("  failed {id}: {why}");
        }
    }
    Ok(if report.failed.is_empty() {
        Ended::Done
    } else {
        Ended::SomeFailed
    })
}

pub async fn replay_list(replayer: &Replayer, limit: usize, json: bool) -> Result<Ended, String> {
    let parked = replayer
        .store
        .list_parked(limit)
        .await
        .map_err(|e| e.to_string())?;
    let now = OffsetDateTime::now_utc();
    let rows: Vec<_> = parked
        .iter()
        .map(|r| {
            let reason = r.park_reason.as_ref();
            json!({
                "key": r.delivery.key.as_str(),
                "reason": reason.map(|p| p.code.as_str()),
                "detail": reason.map(|p| p.detail.as_str()),
                "ageSeconds": (now - r.delivery.received_at).whole_seconds(),
                "account": r.delivery.account_id,
                "eventType": r.delivery.event_type,
                "endpoint": r.delivery.endpoint,
            })
        })
        .collect();
    if json {
        println!("{}", json!({ "parked": rows }));
    } else if rows.is_empty() {
        println!("no parked events");
    } else {
        for r in &parked {
            let reason = r.park_reason.as_ref();
            println!(
                "{}  {}  {}h  {}  {}",
                r.delivery.key,
                reason.map_or("?", |p| p.code.as_str()),
                (now - r.delivery.received_at).whole_hours(),
                r.delivery.account_id.as_deref().unwrap_or("-"),
                r.delivery.event_type.as_deref().unwrap_or("-"),
            );
        }
    }
    Ok(Ended::Done)
}

/// Records parked because a second body arrived under a known id: a
/// person must decide which body is right, so `--all` never replays them.
const NAMED_ONLY: &str = "body_conflict";

pub async fn replay_run(
    replayer: &Replayer,
    key: Option<&str>,
    json: bool,
) -> Result<Ended, String> {
    let mut skipped = Vec::new();
    let keys: Vec<RecordKey> = match key {
        Some(key) => vec![RecordKey::from_stored(key)],
        None => {
            let parked = replayer
                .store
                .list_parked(1000)
                .await
                .map_err(|e| e.to_string())?;
            let (named_only, rest): (Vec<_>, Vec<_>) = parked
                .into_iter()
                .partition(|r| r.park_reason.as_ref().is_some_and(|p| p.code == NAMED_ONLY));
            skipped = named_only.into_iter().map(|r| r.delivery.key).collect();
            rest.into_iter().map(|r| r.delivery.key).collect()
        }
    };
    let mut results = Vec::new();
    let mut failed = false;
    for key in &skipped {
        let text = "skipped: body_conflict records are replayed only when named";
        if !json {
            println!("{key}: {text}");
        }
        results.push(json!({"key": key.as_str(), "outcome": text}));
    }
    for key in keys {
        let outcome = replayer.replay(&key, deadline()).await;
        let text = match &outcome {
            Ok(ReplayOutcome::Replayed(handled)) => format!("replayed ({handled:?})"),
            Ok(ReplayOutcome::StillParked(reason)) => {
                format!("still parked: {} ({})", reason.code, reason.detail)
            }
            Ok(ReplayOutcome::NotParked(status)) => {
                format!("not parked ({})", status.map_or("absent", |s| s.as_str()))
            }
            Ok(ReplayOutcome::HeldByAnotherReplay) => {
                failed = true;
                "not replayed: another replay holds it right now".to_owned()
            }
            Err(err) => {
                failed = true;
                format!("failed: {}", billing::telemetry::error_chain(err))
            }
        };
        if !json {
            println!("{key}: {text}");
        }
        results.push(json!({"key": key.as_str(), "outcome": text}));
    }
    if json {
        println!("{}", json!({ "replayed": results }));
    }
    Ok(if failed {
        Ended::SomeFailed
    } else {
        Ended::Done
    })
}

pub async fn replay_discard(
    replayer: &Replayer,
    key: &str,
    reason: &str,
    json: bool,
) -> Result<Ended, String> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err("--reason: must not be empty (it is the audit record)".into());
    }
    let key = RecordKey::from_stored(key);
    let now = replayer.clock.now();
    let discarded = replayer
        .store
        .discard_parked(&key, reason, now)
        .await
        .map_err(|e| billing::telemetry::error_chain(&e))?;
    if discarded {
        // The audit trail: on the record (discardReason) and in the log.
        warn!(key = %key, reason, "parked event discarded by an operator");
    }
    let text = if discarded {
        "discarded (not applied); it expires in 30 days"
    } else {
        "not discarded: not parked, or a replay holds it"
    };
    if json {
        println!(
            "{}",
            json!({"key": key.as_str(), "discarded": discarded, "outcome": text})
        );
    } else {
        println!("{key}: {text}");
    }
    Ok(if discarded {
        Ended::Done
    } else {
        Ended::SomeFailed
    })
}

pub async fn inbox_list(sweeper: &Sweeper, limit: usize, json: bool) -> Result<Ended, String> {
    let page = sweeper
        .store
        .list_open(None, limit)
        .await
        .map_err(|e| billing::telemetry::error_chain(&e))?;
    let now = sweeper.clock.now();
    let rows: Vec<_> = page
        .records
        .iter()
        .map(|r| {
            json!({
                "key": r.key.as_str(),
                "status": r.status.as_str(),
                "attempts": r.attempts,
                "ageSeconds": (now - r.received_at).whole_seconds(),
                "dueInSeconds": (r.due_at - now).whole_seconds(),
            })
        })
        .collect();
    if json {
        println!("{}", json!({ "open": rows, "more": page.next.is_some() }));
    } else if rows.is_empty() {
        println!("the inbox is empty");
    } else {
        for r in &page.records {
            println!(
                "{}  {}  {} attempt(s)  {}s old  due in {}s",
                r.key,
                r.status.as_str(),
                r.attempts,
                (now - r.received_at).whole_seconds(),
                (r.due_at - now).whole_seconds().max(0),
            );
        }
    }
    Ok(Ended::Done)
}

pub async fn inbox_retry(
    sweeper: &Sweeper,
    key: Option<&str>,
    json: bool,
) -> Result<Ended, String> {
    // The operator has fixed the cause: what was waiting out its backoff is
    // due now (one record, or every PENDING one).
    let key = key.map(RecordKey::from_stored);
    let report = sweeper
        .retry_now(key.as_ref(), deadline())
        .await
        .map_err(|e| billing::telemetry::error_chain(&e))?
        .ok_or_else(|| {
            format!(
                "{}: not PENDING (see `admin inbox list`)",
                key.as_ref().map_or("", |k| k.as_str())
            )
        })?;
    if json {
        println!("{}", report.summary());
    } else {
        println!(
            "swept {} open record(s): {} applied, {} parked, {} failed again (still pending), {} not recorded",
            report.open, report.applied, report.parked, report.deferred, report.unrecorded
        );
    }
    Ok(if report.deferred + report.unrecorded > 0 {
        Ended::SomeFailed
    } else {
        Ended::Done
    })
}
