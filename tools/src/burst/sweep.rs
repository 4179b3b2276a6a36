//! What happens to a delivery answered 202: a transient fault (here, an
//! account too contended for the updater's four compare-and-set attempts)
//! left it recorded, PENDING, with its payload, and Polo is done with it.
//! In production the scheduled `webhook-retry` function finishes it; here
//! the real binary is run on its scheduled event, as EventBridge would
//! every minute, until the inbox is empty. Then each such event's record
//! must be COMPLETED (or PARKED, which the check counts as a failure):
//! a 202 is only "nothing lost" once the sweep has applied it.

use super::fleet::Fleet;
use crate::runtime_api::Outcome;
use billing::idempotency::{DynamoDbIdempotencyStore, IdempotencyStore, RecordKey, RecordStatus};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// Runs of the sweep before giving up (a deferral waits a minute or so).
const MAX_RUNS: usize = 20;
/// Between runs: EventBridge runs it every minute; sooner here, so a
/// burst's deferred events are picked up as soon as they are due.
const BETWEEN_RUNS: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
pub struct Drained {
    pub runs: usize,
    /// Events the sweep applied, summed over its runs.
    pub applied: u64,
    /// Open records the last run found.
    pub open: u64,
    pub took: Duration,
    /// The final status of each 202'd event's record.
    pub statuses: BTreeMap<String, RecordStatus>,
}

/// Runs `webhook-retry` (at `binary`) until no record is open, if any of
/// `accepted` (delivery ids answered 202) exists; reads their records.
pub async fn drain(
    binary: &Path,
    env: &[(String, String)],
    log_dir: &Path,
    moto: &str,
    table: &str,
    accepted: &[String],
) -> Result<Drained, String> {
    let mut drained = Drained::default();
    if accepted.is_empty() {
        return Ok(drained);
    }
    let started = Instant::now();
    let event = std::fs::read_to_string(super::shipped_events().join("webhook-retry.json"))
        .map_err(|e| format!("events/webhook-retry.json: {e}"))?;
    let mut sweep = Fleet::start_one(binary, "webhook-retry", env, log_dir).await?;
    let api = sweep
        .apis
        .get("webhook-retry")
        .cloned()
        .ok_or("the sweep did not start")?;
    let store = DynamoDbIdempotencyStore::new(crate::moto::dynamodb_client(moto), table);
    for run in 1..=MAX_RUNS {
        drained.runs = run;
        let outcome = api.invoke(&event, Duration::from_secs(60)).await?;
        let Outcome::Response(report) = outcome else {
            return Err(format!("webhook-retry failed: {outcome:?}"));
        };
        drained.applied += report["applied"].as_u64().unwrap_or(0);
        drained.open = report["open"].as_u64().unwrap_or(0);
        for id in accepted {
            let record = store
                .get(&RecordKey::for_delivery(id))
                .await
                .map_err(|e| format!("{id}: {e}"))?
                .ok_or(format!("{id}: no record"))?;
            drained.statuses.insert(id.clone(), record.status);
        }
        let finished = drained
            .statuses
            .values()
            .all(|s| matches!(s, RecordStatus::Completed | RecordStatus::Parked));
        if finished {
            break;
        }
        tokio::time::sleep(BETWEEN_RUNS).await;
    }
    sweep.stop().await;
    drained.took = started.elapsed();
    Ok(drained)
}
