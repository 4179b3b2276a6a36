//! `webhook-retry` (every minute): the inbox's sweep. It reads the open
//! records (a sparse index: only `IN_PROGRESS` and `PENDING` ones) earliest
//! due first, claims each `PENDING` record whose next attempt is due and
//! each `IN_PROGRESS` one past its lease (an attempt that crashed, perhaps
//! on Polo's last delivery), and processes it like a delivery from its
//! stored payload. It stops claiming before its own deadline and carries on
//! next run; every run reports the oldest open record's age (alarmed past
//! an hour) and the backlog it left.
//!
//! A run reads no further than it can work: once it has no time left to
//! claim a due record, or its deadline comes between two pages, it stops
//! reading. Reading on only to count would make every run of a backlog of
//! B records read all B (B/100 queries a run, for the B/P runs that drain
//! it: quadratic), and at 100,000 accounts it kept reading past the
//! function's own timeout, so Lambda killed every run before it could
//! report (docs/BENCHMARKS.md, "Scale"). Such a run's counts are of what it
//! read, and it says so (`stopped_early`).

use super::inbox::{self, Finished};
use super::intake::parse_reason;
use super::{DeliveryContext, EventHandler, HandleError, Handled};
use crate::clock::Clock;
use crate::idempotency::{IdempotencyStore, OpenCursor, StoreError};
use crate::polo::events::parse_event;
use crate::telemetry::{error_chain, MetricSink};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use tracing::{error, info};

/// Open records read per page.
const PAGE: usize = 100;
/// One record's budget: a webhook function's own timeout.
pub const PER_RECORD: Duration = Duration::seconds(9);

pub struct Sweeper {
    pub store: Arc<dyn IdempotencyStore>,
    pub handler: Arc<dyn EventHandler>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn MetricSink>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Open records seen (`IN_PROGRESS` and `PENDING`).
    pub open: usize,
    /// Records claimed and processed this run.
    pub applied: usize,
    pub parked: usize,
    /// Failed again: `PENDING` with a later next attempt.
    pub deferred: usize,
    /// Processed but the outcome could not be written (retried later).
    pub unrecorded: usize,
    /// Due, but taken by a redelivery or another sweep first.
    pub taken_elsewhere: usize,
    /// Due but left for the next run (this run's time was up).
    pub backlog: usize,
    /// Seconds since the oldest open record was first received (0 if none).
    pub oldest_open_seconds: i64,
    /// The run stopped reading before the last open record (its time was
    /// up): `open`, `backlog` and the oldest age are of what it read.
    pub stopped_early: bool,
}

impl SweepReport {
    /// The run's summary as the function, the admin CLI and the local
    /// stack answer it.
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "open": self.open,
            "applied": self.applied,
            "parked": self.parked,
            "deferred": self.deferred,
            "unrecorded": self.unrecorded,
            "takenElsewhere": self.taken_elsewhere,
            "backlog": self.backlog,
            "oldestOpenSeconds": self.oldest_open_seconds,
            "stoppedEarly": self.stopped_early,
        })
    }
}

impl Sweeper {
    /// One run; claims nothing it could not finish before `deadline`.
    pub async fn run(&self, deadline: OffsetDateTime) -> Result<SweepReport, StoreError> {
        let mut report = SweepReport::default();
        let mut oldest: Option<OffsetDateTime> = None;
        let mut cursor: Option<OpenCursor> = None;
        loop {
            let page = match self.store.list_open(cursor.as_ref(), PAGE).await {
                Ok(page) => page,
                Err(err) => {
                    error!(error = %error_chain(&err), "webhook-retry could not list open records");
                    // Cannot tell how old the inbox is: report it as very
                    // old, so a lasting failure trips the age alarm.
                    self.metrics.record(
                        "InboxOldestOpenAgeSeconds",
                        crate::telemetry::metrics::UNKNOWN_AGE_SECONDS,
                        "Seconds",
                        &[],
                    );
                    return Err(err);
                }
            };
            // Time up for claims: the page's other due records are backlog.
            let mut no_time = false;
            let mut last_due = false;
            for open in &page.records {
                report.open += 1;
                oldest = Some(oldest.map_or(open.received_at, |o| o.min(open.received_at)));
                let now = self.clock.now();
                last_due = open.due_at <= now;
                if !last_due {
                    continue;
                }
                match now.checked_add(PER_RECORD).filter(|end| *end <= deadline) {
                    Some(lease) if !no_time => self.retry(&open.key, lease, &mut report).await,
                    _ => {
                        no_time = true;
                        report.backlog += 1;
                    }
                }
            }
            let Some(next) = page.next else { break };
            if no_time || self.clock.now() >= deadline {
                report.stopped_early = true;
                // Pages are in due order: behind a due record more may be
                // due. Count one, so the backlog alarm sees the run stopped.
                if !no_time && last_due {
                    report.backlog += 1;
                }
                break;
            }
            cursor = Some(next);
        }
        report.oldest_open_seconds = oldest
            .map(|at| (self.clock.now() - at).whole_seconds().max(0))
            .unwrap_or(0);
        self.emit(&report);
        Ok(report)
    }

    /// An operator's retry after fixing the cause: every `PENDING` record
    /// (or only `key`) is made due now, then one run. False when `key` was
    /// given but is not pending.
    pub async fn retry_now(
        &self,
        key: Option<&crate::idempotency::RecordKey>,
        deadline: OffsetDateTime,
    ) -> Result<Option<SweepReport>, StoreError> {
        let now = self.clock.now();
        match key {
            Some(key) => {
                if !self.store.expedite(key, now).await? {
                    return Ok(None);
                }
            }
            None => {
                let mut cursor: Option<OpenCursor> = None;
                loop {
                    let page = self.store.list_open(cursor.as_ref(), PAGE).await?;
                    for open in &page.records {
                        if open.status == crate::idempotency::RecordStatus::Pending {
                            self.store.expedite(&open.key, now).await?;
                        }
                    }
                    match page.next {
                        Some(next) => cursor = Some(next),
                        None => break,
                    }
                }
            }
        }
        self.run(deadline).await.map(Some)
    }

    async fn retry(
        &self,
        key: &crate::idempotency::RecordKey,
        lease: OffsetDateTime,
        report: &mut SweepReport,
    ) {
        let claimed = match self.store.claim_due(key, lease, self.clock.now()).await {
            Ok(Some(claimed)) => claimed,
            Ok(None) => {
                report.taken_elsewhere += 1;
                return;
            }
            Err(err) => {
                // Left as it is: due again next run.
                error!(key = %key, error = %error_chain(&err), "could not claim a due record");
                report.backlog += 1;
                return;
            }
        };
        let (claim, record) = claimed;
        let payload = record.payload.clone().unwrap_or_default();
        let result = match parse_event(&payload) {
            Ok(event) => {
                let ctx = DeliveryContext {
                    webhook_id: record.delivery.webhook_id.clone(),
                    deadline: lease,
                };
                super::handle_guarded(self.handler.clone(), event, ctx).await
            }
            // Parsed at intake, so only a record without its payload gets
            // here; a retry cannot fix that.
            Err(err) => Err(HandleError::Permanent(parse_reason(&err))),
        };
        let now = self.clock.now();
        let finished = inbox::finish(self.store.as_ref(), &claim, result, &payload, now).await;
        info!(
            key = %key,
            webhook_id = %record.delivery.webhook_id,
            attempts = claim.attempts,
            outcome = ?finished,
            "webhook-retry processed a record"
        );
        let outcome = match finished {
            Finished::Done(Handled::Applied | Handled::Unchanged | Handled::Stale) => {
                report.applied += 1;
                "processed"
            }
            Finished::Parked(_) => {
                report.parked += 1;
                "parked"
            }
            Finished::Deferred => {
                report.deferred += 1;
                "deferred"
            }
            Finished::Unrecorded => {
                report.unrecorded += 1;
                "unrecorded"
            }
        };
        // The same metric the webhook functions emit, so a record parked
        // by the sweep (retries exhausted) alarms like one parked live.
        self.metrics.count(
            "WebhookOutcome",
            &[("Function", "webhook-retry"), ("Outcome", outcome)],
        );
    }

    fn emit(&self, report: &SweepReport) {
        self.metrics.record(
            "InboxOldestOpenAgeSeconds",
            report.oldest_open_seconds as f64,
            "Seconds",
            &[],
        );
        self.metrics
            .record("InboxOpenRecords", report.open as f64, "Count", &[]);
        self.metrics
            .record("InboxBacklog", report.backlog as f64, "Count", &[]);
        info!(
            open = report.open,
            applied = report.applied,
            parked = report.parked,
            deferred = report.deferred,
            unrecorded = report.unrecorded,
            taken_elsewhere = report.taken_elsewhere,
            backlog = report.backlog,
            oldest_open_seconds = report.oldest_open_seconds,
            stopped_early = report.stopped_early,
            "webhook-retry finished"
        );
    }
}
