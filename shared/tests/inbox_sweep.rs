//! The inbox sweep (`webhook-retry`) over a backlog bigger than one run can
//! work: it claims only what it can finish before its deadline and reads
//! no further than it works, so a run of a large backlog ends in time and
//! each record's read is paid for about once, not once a run.

mod support;

use billing::clock::{Clock, ManualClock};
use billing::idempotency::RecordStatus;
use billing::polo::events::PoloEvent;
use billing::polo::routing::Endpoint;
use billing::webhook::{DeliveryContext, EventHandler, HandleError, Handled};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use support::intake::{created, harness_with, Harness};
use time::Duration;

/// Down (every event fails transiently) until `recover`; then each event
/// takes a second on the clock.
struct Outage {
    clock: Arc<ManualClock>,
    recovered: AtomicBool,
    handled: AtomicUsize,
}

#[async_trait::async_trait]
impl EventHandler for Outage {
    async fn handle(
        &self,
        _event: &PoloEvent,
        _ctx: &DeliveryContext,
    ) -> Result<Handled, HandleError> {
        if !self.recovered.load(Ordering::SeqCst) {
            return Err(HandleError::Transient("account store unavailable".into()));
        }
        self.clock.advance(Duration::seconds(1));
        self.handled.fetch_add(1, Ordering::SeqCst);
        Ok(Handled::Applied)
    }
}

/// `records` deliveries left PENDING by an outage that has now ended, all
/// due; the handler's clock is the harness's.
async fn backlog_of(records: usize) -> (Harness, Arc<Outage>) {
    let clock = Arc::new(ManualClock::new(
        time::OffsetDateTime::from_unix_timestamp(support::intake::NOW).unwrap(),
    ));
    let outage = Arc::new(Outage {
        clock: clock.clone(),
        recovered: AtomicBool::new(false),
        handled: AtomicUsize::new(0),
    });
    let mut h = harness_with(Endpoint::SubscriptionCreated, Some(outage.clone()));
    h.clock = clock.clone();
    h.intake.clock = clock.clone();
    for i in 0..records {
        let answer = h
            .deliver(
                &format!("msg_backlog_{i:04}"),
                &created(&format!("acct_{i}")),
            )
            .await;
        assert_eq!(answer.status, 202, "the outage leaves it pending");
    }
    assert_eq!(pending(&h), records);
    clock.advance(Duration::hours(1));
    outage.recovered.store(true, Ordering::SeqCst);
    (h, outage)
}

fn pending(h: &Harness) -> usize {
    h.store
        .snapshot()
        .iter()
        .filter(|r| r.status == RecordStatus::Pending)
        .count()
}

#[tokio::test]
async fn a_run_out_of_time_stops_reading_with_the_page_it_is_on_and_says_so() {
    // Arrange: 250 due records; a second each; a minute's run.
    let (h, outage) = backlog_of(250).await;
    let start = h.clock.now();

    // Act
    let report = h
        .sweeper()
        .run(start + Duration::seconds(60))
        .await
        .unwrap();

    // Assert: it claimed while a record's nine seconds still fitted (52
    // records), read only the first page of 100, and ended in time.
    assert_eq!(outage.handled.load(Ordering::SeqCst), 52);
    assert_eq!(report.applied, 52);
    assert_eq!(report.open, 100, "one page read, not all 250");
    assert_eq!(report.backlog, 48, "the rest of that page");
    assert!(report.stopped_early);
    assert!(h.clock.now() <= start + Duration::seconds(60));
    assert_eq!(pending(&h), 198);
    assert_eq!(
        h.sweeper().run(h.clock.now()).await.unwrap().summary()["stoppedEarly"],
        true
    );
}

#[tokio::test]
async fn runs_out_of_time_drain_the_backlog_a_page_a_run_each_record_once() {
    let (h, outage) = backlog_of(250).await;

    let mut runs = Vec::new();
    while pending(&h) > 0 {
        assert!(runs.len() < 10, "the backlog drains");
        let deadline = h.clock.now() + Duration::seconds(60);
        runs.push(h.sweeper().run(deadline).await.unwrap());
    }
    let last = h
        .sweeper()
        .run(h.clock.now() + Duration::seconds(60))
        .await
        .unwrap();

    assert_eq!(outage.handled.load(Ordering::SeqCst), 250, "each once");
    let seen: Vec<_> = runs
        .iter()
        .map(|r| (r.open, r.applied, r.backlog, r.stopped_early))
        .collect();
    assert_eq!(
        seen,
        [
            (100, 52, 48, true),
            (100, 52, 48, true),
            (100, 52, 48, true),
            (94, 52, 42, false),
            (42, 42, 0, false),
        ],
        "a page a run while the backlog lasts; the last two read to the end"
    );
    assert_eq!((last.open, last.backlog, last.stopped_early), (0, 0, false));
    assert_eq!(
        h.metrics.values("InboxBacklog"),
        [48.0, 48.0, 48.0, 42.0, 0.0, 0.0]
    );
}

#[tokio::test]
async fn a_run_with_time_for_every_record_reads_and_works_them_all() {
    let (h, outage) = backlog_of(250).await;

    let report = h
        .sweeper()
        .run(h.clock.now() + Duration::minutes(10))
        .await
        .unwrap();

    assert_eq!(outage.handled.load(Ordering::SeqCst), 250);
    assert_eq!((report.open, report.applied, report.backlog), (250, 250, 0));
    assert!(!report.stopped_early);
}
