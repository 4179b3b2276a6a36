//! `provisioning-sync` over many accounts: it pages through every account
//! needing a push with the store's cursor, so accounts the orchestrator
//! keeps refusing (or whose pushes keep failing slowly) are reported and
//! passed, never re-read ahead of the rest, and a run out of time hands the
//! next run the place where it stopped.

use async_trait::async_trait;
use billing::accounts::{AccountStore, InMemoryAccountStore};
use billing::clock::{Clock, ManualClock};
use billing::domain::{AccountBilling, AccountId, Entitlement, PlanTier};
use billing::handlers::provisioning_sync::{run, run_from, SyncReport};
use billing::ports::Ports;
use billing::provisioning::{
    InMemoryProvisioner, ProvisionError, Provisioner, ProvisioningRequest,
};
use billing::telemetry::InMemoryMetrics;
use billing::updater::AccountUpdater;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-11-15 12:00 UTC);

fn id(n: usize) -> AccountId {
    AccountId::parse(&format!("acct_{n:03}")).unwrap()
}

/// An account entitled to `pro` that the orchestrator has never heard of.
fn needing_a_push(n: usize) -> AccountBilling {
    let mut account = AccountBilling::new(id(n));
    account.plan_tier = PlanTier::Pro;
    account.desired_entitlement = Entitlement {
        entitled: true,
        tier: PlanTier::Pro,
        expires_at: Some(datetime!(2026-12-02 00:00 UTC)),
    };
    account.entitlement_changed_at = Some(NOW - Duration::minutes(5));
    account
}

/// The orchestrator behind a counter of pushes per account; each push
/// takes `cost` on the clock (a slow answer or a timeout).
struct Timed {
    inner: Arc<InMemoryProvisioner>,
    clock: Arc<ManualClock>,
    cost: Duration,
    attempts: Mutex<HashMap<AccountId, usize>>,
}

impl Timed {
    fn attempts(&self) -> HashMap<AccountId, usize> {
        std::mem::take(&mut *self.attempts.lock().unwrap())
    }
}

#[async_trait]
impl Provisioner for Timed {
    async fn push(
        &self,
        request: &ProvisioningRequest,
        deadline: OffsetDateTime,
    ) -> Result<(), ProvisionError> {
        *self
            .attempts
            .lock()
            .unwrap()
            .entry(request.account_id.clone())
            .or_default() += 1;
        self.clock.advance(self.cost);
        self.inner.push(request, deadline).await
    }
}

struct World {
    accounts: Arc<InMemoryAccountStore>,
    orchestrator: Arc<Timed>,
    clock: Arc<ManualClock>,
    metrics: Arc<InMemoryMetrics>,
    updater: Arc<AccountUpdater>,
}

/// `total` accounts needing a push, of which the first `refused` (in
/// accountId order) are refused for good by the orchestrator.
fn world(total: usize, refused: usize, push_cost: Duration) -> World {
    let clock = Arc::new(ManualClock::new(NOW));
    let accounts = Arc::new(InMemoryAccountStore::default());
    let inner = Arc::new(InMemoryProvisioner::default());
    // Inserted in reverse so the store's order, not insertion, decides.
    for n in (0..total).rev() {
        accounts.insert(needing_a_push(n));
    }
    for n in 0..refused {
        inner.refuse(&id(n));
    }
    let orchestrator = Arc::new(Timed {
        inner,
        clock: clock.clone(),
        cost: push_cost,
        attempts: Mutex::default(),
    });
    let metrics = Arc::new(InMemoryMetrics::default());
    let updater = Ports::new(
        accounts.clone(),
        orchestrator.clone(),
        clock.clone(),
        metrics.clone(),
    )
    .updater();
    World {
        accounts,
        orchestrator,
        clock,
        metrics,
        updater,
    }
}

impl World {
    async fn sync_from(&self, start: Option<&str>, budget: Duration) -> SyncReport {
        run_from(
            &self.updater,
            &*self.accounts,
            &*self.clock,
            &*self.metrics,
            "test",
            self.clock.now() + budget,
            start,
        )
        .await
        .unwrap()
    }

    async fn sync_from_the_start(&self, budget: Duration) -> SyncReport {
        run(
            &self.updater,
            &*self.accounts,
            &*self.clock,
            &*self.metrics,
            "test",
            self.clock.now() + budget,
        )
        .await
        .unwrap()
    }

    fn acknowledged(&self, n: usize) -> bool {
        let account = self.accounts.account(&id(n)).unwrap();
        !account.needs_push()
            && self.orchestrator.inner.decision(&id(n)).map(|d| d.version) == Some(account.version)
    }
}

#[tokio::test]
async fn one_run_pushes_the_100_accounts_behind_150_the_orchestrator_refuses_and_reports_the_150() {
    let world = world(250, 150, Duration::ZERO);

    let report = world.sync_from_the_start(Duration::seconds(50)).await;

    assert_eq!(report.mismatched, 250);
    assert_eq!(report.acknowledged, 100);
    assert_eq!(report.not_pushed, 150);
    assert!(!report.out_of_time);
    assert_eq!(report.resume_after, None);
    assert!((150..250).all(|n| world.acknowledged(n)));
    assert!((0..150).all(|n| !world.acknowledged(n)));
    let attempts = world.orchestrator.attempts();
    assert_eq!(attempts.len(), 250);
    assert!(
        attempts.values().all(|&pushes| pushes == 1),
        "each account is pushed once per run"
    );
    assert_eq!(
        world.metrics.values("ProvisioningNotPushedAccounts"),
        [150.0]
    );
    assert_eq!(
        world.metrics.values("ProvisioningMismatchAgeSeconds"),
        [300.0],
        "the oldest refused account's age is still reported"
    );
}

#[tokio::test]
async fn the_next_run_of_the_150_refused_accounts_pushes_them_again_and_nothing_else() {
    let world = world(250, 150, Duration::ZERO);
    world.sync_from_the_start(Duration::seconds(50)).await;
    world.orchestrator.attempts();

    let again = world.sync_from_the_start(Duration::seconds(50)).await;

    assert_eq!((again.mismatched, again.not_pushed), (150, 150));
    let attempts = world.orchestrator.attempts();
    assert_eq!(attempts.len(), 150);
    assert!((0..150).all(|n| attempts.get(&id(n)) == Some(&1)));
}

#[tokio::test]
async fn a_run_out_of_time_stops_and_the_next_run_carries_on_where_it_stopped_then_wraps_round() {
    // Every push takes a second (a slow orchestrator): a 60 s run reaches
    // 60 accounts, and the 150 refused ones come first.
    let world = world(250, 150, Duration::seconds(1));
    let budget = Duration::seconds(60);

    let first = world.sync_from(None, budget).await;

    assert!(first.out_of_time);
    assert_eq!((first.mismatched, first.acknowledged), (60, 0));
    assert_eq!(first.resume_after.as_deref(), Some("acct_059"));

    let mut start = first.resume_after;
    let mut runs = 1;
    while (150..250).any(|n| !world.acknowledged(n)) {
        assert!(runs < 5, "no account waits more than a few runs");
        world.orchestrator.attempts();
        let report = world.sync_from(start.as_deref(), budget).await;
        let attempts = world.orchestrator.attempts();
        assert!(
            attempts.values().all(|&pushes| pushes == 1),
            "each account is pushed once per run, wrapping round included"
        );
        start = report.resume_after;
        runs += 1;
    }
    // Runs 2-4 reached acct_060..acct_239; run 5 the last ten, then wrapped
    // round to the refused ones at the beginning.
    assert_eq!(runs, 5);
    assert_eq!(start.as_deref(), Some("acct_049"));
}

#[tokio::test]
async fn starting_every_run_over_would_starve_the_accounts_behind_slow_failures() {
    // What the resume point is for: the same five runs, each from the start.
    let world = world(250, 150, Duration::seconds(1));

    for _ in 0..5 {
        let report = world.sync_from_the_start(Duration::seconds(60)).await;
        assert!(report.out_of_time);
    }

    assert!((150..250).all(|n| !world.acknowledged(n)));
}

#[tokio::test]
async fn a_run_with_time_for_everything_from_a_resume_point_reaches_every_account_once() {
    let world = world(250, 150, Duration::ZERO);

    let report = world
        .sync_from(Some("acct_200"), Duration::seconds(50))
        .await;

    assert_eq!((report.mismatched, report.acknowledged), (250, 100));
    assert!(!report.out_of_time);
    assert_eq!(report.resume_after, None);
    let attempts = world.orchestrator.attempts();
    assert_eq!(attempts.len(), 250);
    assert!(attempts.values().all(|&pushes| pushes == 1));
}

#[tokio::test]
async fn the_store_lists_mismatches_a_page_at_a_time_until_the_cursor_is_none() {
    let world = world(250, 0, Duration::ZERO);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;

    loop {
        let page = world
            .accounts
            .list_provisioning_mismatches(cursor.as_deref(), 100)
            .await
            .unwrap();
        assert!(page.accounts.len() <= 100);
        seen.extend(page.accounts.into_iter().map(|a| a.account_id));
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }

    assert_eq!(seen, (0..250).map(id).collect::<Vec<_>>());
}
