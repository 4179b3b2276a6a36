//! `reconcile` and `replay`: thin loops over the shared crate's
//! [`Reconciler`] and [`Replayer`], with text or JSON output.

use crate::progress;
use billing::domain::AccountId;
use billing::idempotency::RecordKey;
use billing::reconcile::{Reconciler, RunReport};
use billing::webhook::{ReplayOutcome, Replayer};
use serde_json::json;
use time::{Duration, OffsetDateTime};

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

pub async fn replay_run(
    replayer: &Replayer,
    key: Option<&str>,
    json: bool,
) -> Result<Ended, String> {
    let keys: Vec<RecordKey> = match key {
        Some(key) => vec![RecordKey::from_stored(key)],
        None => replayer
            .store
            .list_parked(1000)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|r| r.delivery.key)
            .collect(),
    };
    let mut results = Vec::new();
    let mut failed = false;
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
            Err(err) => {
                failed = true;
                format!("failed, still parked: {err}")
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
